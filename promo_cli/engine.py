"""The settlement pipeline: load → read ledgers → apply policies → round → audit.

Plain functions over typed data; nothing here prints, exits or writes files.
"""

from __future__ import annotations

import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import pandas as pd

from promo_cli import audit, parallel
from promo_cli.budget import budget_figures, planned_costs, settled_cost
from promo_cli.config import load_campaign, resolve_input
from promo_cli.evaluation import SalesFigures, evaluation_json, sales_figures
from promo_cli.io.inspect import Limits
from promo_cli.io.readers import UNIQUE_KEY, open_ledger, parse_ledger, source_name
from promo_cli.io.reread import reread_ledger
from promo_cli.model import (
    Campaign,
    CustomerResult,
    Finding,
    Ledger,
    Ledgers,
    Settlement,
    finding,
)
from promo_cli.lines import concat_lines, round_lines
from promo_cli.money import format_display, round_cents
from promo_cli.engines import NAMES as ENGINE_NAMES, Engine, get_engine, missing_part, outofcore, spark_master, valid_master
from promo_cli.policies import (
    DEPOSIT_REGISTRY,
    LOYALTY_REGISTRY,
    PARTITION_KEY,
    REGISTRY,
    REMARKS,
    PolicyContext,
)
from promo_cli.policies.context import link_orders
from promo_cli.policies.agreements import read_agreements
from promo_cli.policies.cap import apply_cap, budget_cap
from promo_cli.policies.scope import Scopes
from promo_cli.policies.prepaid_deposit import deposits_json
from promo_cli.rebates import RebateWork, apply_rebates
from promo_cli.recompute import apply_caps, plain_records, recompute
from promo_cli.recompute_deposits import recompute_deposits
from promo_cli.recompute_loyalty import PURCHASE_COLUMNS as LOYALTY_COLUMNS, recompute_loyalty
from promo_cli.segmentation import segment

ROLES = ("purchases", "payments", "deposits", "customers", "baseline", "targets", "products", "agreements")
# Roles read with another role's columns: a baseline is a purchase ledger, targets a customer list.
READ_AS = {"baseline": "purchases", "targets": "customers"}
# Which ledgers a policy type cannot do without.
NEEDS = {"tiered": ("purchases",), "on_time_payment": ("purchases", "payments"),
         "group_purchase": ("purchases", "payments"), "prepaid_deposit": ("deposits",),
         "membership": ("purchases",), "points": ("purchases",), "coupon_return": ("purchases",),
         "gift": ("purchases",)}


@dataclass(frozen=True, slots=True)
class Loaded:
    """A campaign with its ledgers read and typed, ready to settle."""

    campaign: Campaign
    campaign_path: Path
    campaign_sha256: str
    ledgers: Ledgers
    as_of: date
    agreements: dict = field(default_factory=dict)     # {policy id: [Agreement]}, read once by load()
    engine: str = "local"                              # where the rebate policies run (promo_cli.engines)
    spark_master: str | None = None


def load(campaign_path: Path, overrides: dict[str, Path | None], as_of: date | None = None,
         limits: Limits = Limits(), campaign_inputs: bool = True,
         optional: tuple[str, ...] = (), progress=None, today: date | None = None, engine: str | None = None,
         master: str | None = None) -> tuple[Loaded | None, list[Finding]]:
    """Read the campaign and every ledger it needs; all problems are collected.

    ``campaign_inputs=False`` ignores the campaign file's ``inputs:`` (a forecast replays
    only the ledgers it is given); roles in ``optional`` may be missing although a policy
    uses them. Returns None (with blocking findings) when the campaign or an input is invalid.
    ``progress("reading", what=file)`` is told of each file read. Without ``as_of`` the
    campaign is settled to the earlier of its period end and ``today``. The rebate policies
    will run on ``engine``, else the campaign's ``engine:``, else ``$PROMO_ENGINE``, else on
    ``duckdb`` when a ledger is Parquet or SQL and ``local`` for spreadsheets.
    """
    progress = progress or _silent
    campaign, sha, findings = load_campaign(campaign_path)
    if campaign is None:
        return None, findings
    paths = {role: _as_list(overrides.get(role)) or
             ([resolve_input(campaign_path, v) for v in _as_list(getattr(campaign.inputs, role))]
              if campaign_inputs else [])
             for role in ROLES}
    needed: dict[str, str] = {}
    for policy in campaign.policies:
        for role in NEEDS[policy.type]:
            needed.setdefault(role, policy.id)
        if getattr(policy, "rates_by", None) == "category":     # a rate table per category: the products ledger
            needed.setdefault("products", policy.id)
        scope = getattr(policy, "applies_to", None)
        if scope is not None and scope.uses("category"):        # a category is found in the products ledger
            needed.setdefault("products", policy.id)
        if scope is not None and (scope.uses("channel") or scope.uses("region")):   # in the customer master
            needed.setdefault("customers", policy.id)
    for role, policy_id in needed.items():
        if not paths[role] and role not in optional:
            findings.append(finding("error", "input-missing", file=campaign_path.name, blocking=True,
                                    policy=policy_id, role=role))
    unsupported = [p for p in campaign.policies
                   if p.type not in REGISTRY and p.type not in DEPOSIT_REGISTRY and p.type not in LOYALTY_REGISTRY]
    for policy in unsupported:
        findings.append(finding("error", "policy-not-supported", file=campaign_path.name, blocking=True,
                                policy=policy.id, type=policy.type))
    chosen = engine or campaign.engine or os.environ.get("PROMO_ENGINE", "").strip().lower() or \
        ("duckdb" if any(not isinstance(p, Path) or p.is_dir() or p.suffix.lower() == ".parquet"
                         for role in ROLES for p in paths[role]) else "local")
    if chosen not in ENGINE_NAMES:          # only $PROMO_ENGINE can name another (the option and the file are checked)
        return None, findings + [finding("error", "engine-unknown", file=campaign_path.name, blocking=True,
                                         engine=chosen, names=", ".join(ENGINE_NAMES))]
    if chosen == "spark" and not valid_master(spark_master(master)):
        return None, findings + [finding("error", "spark-master-invalid", file=campaign_path.name, blocking=True,
                                         value=spark_master(master))]
    if (missing := missing_part(chosen)) is not None:
        return None, findings + [finding("error", "engine-not-available", file=campaign_path.name, blocking=True,
                                         engine=chosen, extra=missing[0], command=missing[1])]
    ledgers: dict[str, Ledger] = {}
    if outofcore.wanted(campaign, paths, chosen):       # too long to hold: read in batches, typed rows on disk
        progress("reading", total=sum(len(p) for role, p in paths.items() if role not in ("purchases", "payments"))
                 + sum(outofcore.batches(paths[role][0]) for role in ("purchases", "payments") if paths[role]))
        folder = outofcore.work_folder()
        for role in ("purchases", "payments"):
            if paths[role]:
                ledger, ledger_findings = outofcore.read_spilled(paths[role][0], role, folder, progress)
                findings += ledger_findings
                if ledger is not None:
                    ledgers[role] = ledger
                paths[role] = []
    else:
        progress("reading", total=sum(len(p) for p in paths.values()))
    # Each file is opened (read; a workbook inspected) in turn, then parsed two at a time,
    # workbooks first: fastexcel parses a workbook outside the GIL while the other thread reads
    # a CSV. (Inspecting beside a CSV is slower: each would keep waiting for the other's GIL.)
    files = [(role, path) for role in ROLES for path in paths[role]]
    opened = [open_ledger(path, READ_AS.get(role, role), limits, campaign_path.parent) for role, path in files]

    def parse_one(i: int):
        source, refused = opened[i]
        result = parse_ledger(source) if source is not None else (None, refused)
        progress("reading", what=source_name(files[i][1], files[i][0]))
        return result

    workbooks_first = sorted(range(len(files)), key=lambda i: not (opened[i][0] and opened[i][0].is_workbook))
    with ThreadPoolExecutor(max_workers=2) as pool:
        parsed = {i: pool.submit(parse_one, i) for i in workbooks_first}
    for role in ROLES:
        if role in ledgers:
            continue
        read = []
        for i in (i for i, (of_role, _) in enumerate(files) if of_role == role):
            ledger, ledger_findings = parsed[i].result()
            findings += ledger_findings
            if ledger is not None:
                read.append(replace(ledger, role=role))
        if len(read) == 1 and len(paths[role]) == 1:
            ledgers[role] = read[0]
        elif read:
            ledgers[role], merge_findings = merge_ledgers(read)
            findings += merge_findings
    for role, policy_id in needed.items():
        if role in ledgers and ledgers[role].spill is None and ledgers[role].frame.empty:   # an empty export must not settle to 0.00
            findings = [f for f in findings if not (f.code == "no-data-rows" and f.file == ledgers[role].label)]
            findings.append(finding("error", "no-data-rows-needed", file=ledgers[role].label,
                                    sheet=ledgers[role].sheet, blocking=True, role=role, policy=policy_id))
    agreements, problems = read_agreements(ledgers.get("agreements"), campaign.policies)
    findings += problems
    findings += unknown_agreement_customers(ledgers.get("agreements"), ledgers.get("purchases"))
    if any(f.blocking for f in findings):
        return None, findings
    end = campaign.campaign.period.end
    if as_of is None:       # to date: a run before the period has ended says so
        as_of = min(end, today or date.today())
        if as_of < end:
            findings.append(finding("info", "settled-to-date", file=campaign_path.name, end=end.isoformat(),
                                    as_of=as_of.isoformat()))
    return Loaded(campaign, campaign_path, sha, Ledgers(**ledgers), as_of, agreements, chosen, master), findings


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def merge_ledgers(parts: list[Ledger]) -> tuple[Ledger, list[Finding]]:
    """One ledger from several files of the same role; a key repeated across files is refused."""
    frames = [p.frame.assign(_file=p.path.name) for p in parts]
    frame = pd.concat(frames, ignore_index=True)
    key = UNIQUE_KEY.get(READ_AS.get(parts[0].role, parts[0].role))
    by_name = {p.path.name: p for p in parts}
    findings = []
    seen: dict[str, tuple[str, int]] = {}
    for value, file, row in zip(frame[key] if key else [], frame["_file"], frame["_row"]):
        if pd.isna(value):
            continue
        if value in seen and seen[value][0] != file:
            first_file, first_row = seen[value]
            findings.append(finding("error", "duplicate-id-across-files", **by_name[file].at(key, int(row)),
                                    blocking=True, value=value, first_file=first_file, first_row=first_row))
        seen.setdefault(value, (file, int(row)))
    merged = replace(parts[0], frame=frame, sha256="+".join(p.sha256 for p in parts), parts=by_name)
    return merged, findings


def _silent(stage: str, what: str | None = None, total: int | None = None) -> None:
    """A progress callback that shows nothing."""


@parallel.collector_paused()
def settle(loaded: Loaded, read_findings: list[Finding] = (), progress=None, engine: Engine | None = None,
           part: bool = False) -> Settlement:
    """Apply every rebate policy and the data checks; return the whole result.

    The rebate policies run on ``engine`` (default: the one ``loaded`` names, see
    :mod:`promo_cli.engines`). ``progress("settling", what=step)`` is told of each policy
    applied and each audit step. Ledgers read out of core are settled shard by shard
    (:mod:`promo_cli.engines.outofcore`); ``part`` settles one shard: what is about the whole
    ledger (its second reading, the remarks, the segments and the evaluation) is left to the
    merge, and the findings are also kept by where they come from (``groups``)."""
    progress = progress or _silent
    if not part and loaded.ledgers.purchases is not None and loaded.ledgers.purchases.spill is not None:
        return settle_out_of_core(loaded, read_findings, progress)
    engine = engine or get_engine(loaded.engine, loaded.spark_master)
    campaign, ledgers, as_of = loaded.campaign, loaded.ledgers, loaded.as_of
    period = campaign.campaign.period
    purchases = ledgers.purchases.frame if ledgers.purchases else _empty_purchases()
    reason = classify_rows(purchases, period.start, period.end, as_of)
    purchases, payments = link_orders(purchases, _payments_until(ledgers.payments, as_of))
    in_period = purchases[reason == "counted"]
    orders = purchases.assign(status=reason.to_numpy())
    history = purchase_history(ledgers, as_of) if ledgers.purchases is not None else None
    targets = set(ledgers.targets.frame["customer_id"]) if ledgers.targets else None
    # The data checks, the independent recomputation, the segmentation and the sales figures
    # need nothing the policies compute: on a large run they go on in a second process meanwhile.
    # The second reading of the files, the longest of them, in a process of its own.
    # (a shard of a ledger settled out of core runs beside another shard already: not in two processes)
    apart = sum(ledger.rows for ledger in ledgers.present()) >= parallel.APART_ROWS and not part
    reread_apart = parallel.Apart(reread_ledgers, ledgers, fork=apart) if not part else None
    audit_apart = parallel.Apart(_audit_apart, campaign, ledgers, orders, payments, in_period, history, targets, as_of,
                                 not engine.recomputes, part, fork=apart)

    master = ledgers.customers.frame if ledgers.customers is not None else None
    ctx = PolicyContext(in_period, payments, period.start, period.end, as_of, ledgers.purchases, master,
                        products=ledgers.products.frame if ledgers.products is not None else None,
                        agreements=loaded.agreements)
    findings: list[Finding] = list(read_findings)
    groups: dict[str, list] = {"policies": []}
    if as_of < period.start and not part:
        findings.append(finding("warning", "as-of-before-start", file=loaded.campaign_path.name,
                                as_of=as_of.isoformat(), start=period.start.isoformat()))
    progress("settling", total=len(campaign.policies) + 3)
    scoped = Scopes(campaign, in_period, master, ledgers.products.frame if ledgers.products is not None else None)
    contexts = {policy.id: scoped.context(policy, ctx) for policy in campaign.rebate_policies}
    rebates = engine.rebates(RebateWork(campaign, contexts, orders, payments, as_of, master, ctx.products,
                                        ledgers.agreements.frame if ledgers.agreements is not None else None))
    all_lines = concat_lines([apply_cap(policy, policy_lines)           # caps: over all of a customer's lines
                              for policy, policy_lines in zip(campaign.rebate_policies, rebates.lines)])
    for policy, policy_findings in zip(campaign.rebate_policies, rebates.findings):
        findings += policy_findings
        groups["policies"].append(list(policy_findings))
        if policy.type in REMARKS and not part:      # what a policy remarks on the whole ledger, once
            findings += REMARKS[policy.type](policy, contexts[policy.id], all_lines)
        progress("settling", what=policy.id)
    lines, cut = budget_cap(campaign.rebate_policies, campaign.budget.rebate_cap if campaign.budget else None,
                            all_lines, lambda: first_in_period(in_period))
    if cut:
        findings.append(finding("info", "budget-cap-applied", file=loaded.campaign_path.name,
                                cap=format_display(round_cents(campaign.budget.rebate_cap.amount)),
                                cut=format_display(cut), rule=campaign.budget.rebate_cap.rule))
    lines = round_lines(lines)
    deposits, loyalty = {}, {}
    for policy in campaign.policies:
        if policy.type in DEPOSIT_REGISTRY:
            deposits[policy.id], policy_findings = DEPOSIT_REGISTRY[policy.type](
                policy, ledgers.deposits, ledgers.customers, period.start, period.end, as_of)
            findings += policy_findings
            progress("settling", what=policy.id)
    # loyalty sees who bought before the period and the points that expired deposits turned into
    ctx = replace(ctx, bought_before=frozenset(bought_before(orders, ledgers.baseline, period.start)),
                  conversions=merge_conversions(r.conversions for r in deposits.values()))
    for policy in campaign.policies:
        if policy.type in LOYALTY_REGISTRY:
            loyalty[policy.id], policy_findings = LOYALTY_REGISTRY[policy.type](policy, scoped.context(policy, ctx))
            findings += policy_findings
            progress("settling", what=policy.id)

    customers = _customers(campaign, in_period, lines, ledgers.customers)
    findings += scoped.findings(ledgers.purchases)
    orders = scoped.mark(orders)
    if not part:
        findings += over_estimate(campaign, sum(c.total_rebate for c in customers), loaded.campaign_path.name)
    data_findings, second, segments, sales, second_deposits, second_loyalty = audit_apart.result()
    if second is None:          # the engine recomputed where it settled; the caps are over all of it
        second = dict(rebates.recomputed)
        apply_caps(campaign, second, orders, as_of)
    reread = reread_apart.result() if not part else ([], [])
    if part:                    # each check's findings, not yet capped (the cap is over every shard)
        groups["checks"] = data_findings
        data_findings = [f for check in data_findings for f in check]
    findings += data_findings + reread[1]
    second_rows = []
    for policy_id, result in deposits.items():
        rows, problems = audit.compare_deposits(policy_id, result, second_deposits[policy_id])
        second_rows += rows
        findings += problems
    for policy_id, result in loyalty.items():
        rows, problems = audit.compare_loyalty(policy_id, result, second_loyalty[policy_id])
        second_rows += rows
        findings += problems
    progress("settling", what="checks")
    compared, mismatches = audit.compare(customers, second)
    progress("settling", what="recompute")
    settlement = Settlement(campaign, loaded.campaign_path, loaded.campaign_sha256, as_of, ledgers,
                            tuple(customers), lines, orders, tuple(findings + mismatches),
                            recomputed=tuple(compared), deposits=deposits, loyalty=loyalty, segments=segments,
                            engine={"name": engine.name, "partitions": rebates.partitions},
                            groups=groups if part else None)
    settlement = replace(settlement, reconciliation=tuple(audit.reconcile(settlement, payments)) + tuple(reread[0])
                         + tuple(second_rows),
                         evaluation=evaluate_settlement(settlement, sales) if not part else None)
    progress("settling", what="evaluation")
    return settlement


def settle_out_of_core(loaded: Loaded, read_findings: list[Finding], progress) -> Settlement:
    """A campaign whose purchase ledger was read out of core, settled shard by shard by DuckDB
    (:mod:`promo_cli.engines.outofcore`) and merged into the settlement a whole-ledger run gives."""
    from promo_cli.engines.partitions import FINDING_ORDER, merge
    campaign, ledgers, as_of = loaded.campaign, loaded.ledgers, loaded.as_of
    period = campaign.campaign.period
    by_customer, by_group = outofcore.split_policies(campaign)

    def finish(results, reduced_of, write_lines, shards: int):
        # the group-keyed policies: every shard's groups together, then capped and rounded per customer
        group_campaign = campaign.model_copy(update={"policies": by_group})
        grouped = merge(RebateWork(group_campaign, {}, _empty_purchases(), _payments_until(None, as_of), as_of),
                        [r.grouped for r in results]) if by_group else None
        group_lines = round_lines(concat_lines([apply_cap(p, lines) for p, lines in zip(by_group, grouped.lines)])) \
            if by_group else concat_lines([])
        write_lines(group_lines)
        second = {key: cents for r in results for key, cents in r.second.items()}
        if by_group:
            group_second = dict(grouped.recomputed)
            apply_caps(group_campaign, group_second, _empty_purchases(), as_of)
            second.update(group_second)
        by_pair = {key: cents for r in results for key, cents in r.by_pair.items()}
        by_pair.update({key: int(cents) for key, cents in
                        group_lines.groupby(["customer_id", "policy_id"], sort=False)["rebate"].sum().items()})
        ids = [p.id for p in campaign.rebate_policies]
        customers = sorted((replace(c, rebates={pid: by_pair.get((c.customer_id, pid), 0) if pid not in c.rebates
                                                else c.rebates[pid] for pid in ids})
                            for r in results for c in r.customers), key=lambda c: c.customer_id)
        for customer in customers:      # the recomputation names every customer with an in-period row
            for policy in by_group:
                second.setdefault((customer.customer_id, policy.id), 0)
        findings: list[Finding] = list(read_findings)
        if as_of < period.start:
            findings.append(finding("warning", "as-of-before-start", file=loaded.campaign_path.name,
                                    as_of=as_of.isoformat(), start=period.start.isoformat()))
        kept = pd.concat([r.kept for r in results] + [outofcore.kept(group_lines)], ignore_index=True)
        ctx = PolicyContext(_empty_purchases(), _payments_until(None, as_of), period.start, period.end, as_of,
                            ledgers.purchases)
        for policy in campaign.rebate_policies:
            if policy in by_customer:
                found = [f for r in results for f in r.groups["policies"][by_customer.index(policy)]]
            else:
                found = list(grouped.findings[by_group.index(policy)])
            findings += sorted(found, key=FINDING_ORDER[PARTITION_KEY[policy.type]])
            if policy.type in REMARKS:
                findings += REMARKS[policy.type](policy, ctx, kept)
        findings += over_estimate(campaign, sum(c.total_rebate for c in customers), loaded.campaign_path.name)
        findings += audit.merge_checks([r.groups["checks"] for r in results], ledgers.purchases.label)
        reread = reread_ledgers(ledgers)
        findings += reread[1]
        compared, mismatches = audit.compare(customers, second)
        findings += mismatches
        orders = reduced_of()
        status = classify_rows(orders, period.start, period.end, as_of).to_numpy()
        known = (orders["order_date"] <= pd.Timestamp(as_of)).to_numpy()
        history = orders if known.all() else orders[known]
        segments = segment(history, orders[status == "counted"], period.start, None, first_purchases(ledgers))
        sales = _sales_figures(campaign, ledgers, orders, history, as_of)
        del history
        # what the settlement keeps of the purchase rows: their sums per day (the budget's months)
        days = orders.assign(status=status).groupby(["order_date", "status"], dropna=False, sort=True)[["n", "amount"]]
        orders = days.sum().reset_index()
        settlement = Settlement(campaign, loaded.campaign_path, loaded.campaign_sha256, as_of, ledgers,
                                tuple(customers), kept, orders, tuple(findings), recomputed=tuple(compared),
                                segments=segments, engine={"name": "duckdb", "partitions": shards, "out_of_core": True})
        # the ledgers' rows added up over the shards; the lines' and the recomputation's worked out here
        ledger_rows = outofcore.reconciliation([[row for row in r.reconciliation if not row[0].startswith(audit.LINE_ROWS)]
                                                for r in results])
        rows = ledger_rows[:2] + audit.line_rows(settlement, by_pair) + ledger_rows[2:] + list(reread[0])
        progress("settling", what="evaluation")
        settlement = replace(settlement, reconciliation=tuple(rows))
        return replace(settlement, evaluation=evaluate_settlement(settlement, sales)), group_lines

    return outofcore.settle(loaded, progress, lambda shard: settle(shard, part=True),
                            group_rebates, finish,
                            lambda rows: classify_rows(rows, period.start, period.end, as_of).to_numpy())


def group_rebates(loaded: Loaded):
    """The rebate policies of ``loaded`` (the group-keyed ones of a campaign settled out of core)
    over its rows (a shard's groups), with their recomputation: lines before caps and rounding."""
    campaign, ledgers, as_of = loaded.campaign, loaded.ledgers, loaded.as_of
    period = campaign.campaign.period
    purchases = ledgers.purchases.frame
    reason = classify_rows(purchases, period.start, period.end, as_of)
    purchases, payments = link_orders(purchases, _payments_until(ledgers.payments, as_of))
    master = ledgers.customers.frame if ledgers.customers is not None else None
    products = ledgers.products.frame if ledgers.products is not None else None
    ctx = PolicyContext(purchases[reason == "counted"], payments, period.start, period.end, as_of, ledgers.purchases,
                        master, products=products, agreements=loaded.agreements)
    return apply_rebates(RebateWork(campaign, {p.id: ctx for p in campaign.rebate_policies},
                                    purchases.assign(status=reason.to_numpy()), payments, as_of, master, products),
                         recompute_too=True)


@parallel.collector_paused()
def _audit_apart(campaign: Campaign, ledgers: Ledgers, orders: pd.DataFrame, payments: pd.DataFrame,
                 in_period: pd.DataFrame, history: pd.DataFrame | None, targets: set[str] | None, as_of: date,
                 recompute_rebates: bool = True, part: bool = False):
    """What the audit and the evaluation work out from the ledgers alone: the data checks'
    findings, the independent recomputation {(customer, policy): cents} (None when the engine
    recomputes where it settles), the segmentation,
    the sales figures (these two None without a purchase ledger) and the recomputed deposit and
    loyalty figures."""
    period = campaign.campaign.period
    master = ledgers.customers.frame if ledgers.customers is not None else None
    products = ledgers.products.frame if ledgers.products is not None else None
    second_deposits = {p.id: recompute_deposits(p, ledgers.deposits.frame, master, period.start, period.end, as_of)
                       for p in campaign.policies if p.type == "prepaid_deposit" and ledgers.deposits is not None}
    loyalty_records = plain_records(in_period, LOYALTY_COLUMNS) \
        if any(p.type in LOYALTY_REGISTRY for p in campaign.policies) else []
    conversions: dict[str, list] = defaultdict(list)
    for figures in second_deposits.values():
        for customer, days in figures["conversions"].items():
            conversions[customer] += days
    if part:        # one shard: its checks' findings check by check; no segments or sales figures
        history = None
    return (audit.check_data(ledgers, orders, payments, in_period, by_check=part),
            recompute(campaign, orders, payments, as_of, master, products,
                      ledgers.agreements.frame if ledgers.agreements is not None else None)
            if recompute_rebates else None,
            segment(history, in_period, period.start, targets, first_purchases(ledgers))
            if history is not None else None,
            _sales_figures(campaign, ledgers, orders, history, as_of) if history is not None else None,
            second_deposits,
            {p.id: recompute_loyalty(p, loyalty_records, master, as_of, history, period.start, conversions, products)
             for p in campaign.policies if p.type in LOYALTY_REGISTRY})


# A settled rebate this many times the plan's estimate is more likely a mistyped rate than a success.
OVER_ESTIMATE = 3


def over_estimate(campaign: Campaign, rebate: int, name: str) -> list[Finding]:
    """A warning when the settled rebate is more than OVER_ESTIMATE times ``rebate_estimate``."""
    estimate = round_cents(campaign.budget.rebate_estimate) if campaign.budget is not None else 0
    if not estimate or rebate <= OVER_ESTIMATE * estimate:
        return []
    return [finding("warning", "rebate-over-estimate", file=name, rebate=format_display(rebate),
                    estimate=format_display(estimate), times=f"{rebate / estimate:.1f}")]


def unknown_agreement_customers(agreements: Ledger | None, purchases: Ledger | None) -> list[Finding]:
    """A warning for every agreement whose customer has no purchase at all: a mistyped id would
    otherwise settle that customer on the default terms without a word."""
    if agreements is None or purchases is None:
        return []
    buyers = set(purchases.frame["customer_id"])
    frame = agreements.frame
    return [finding("warning", "agreement-unknown-customer", **agreements.at("customer_id", int(row)), customer=customer,
                    policy=policy) for customer, policy, row in zip(frame["customer_id"], frame["policy"], frame["_row"])
            if customer not in buyers]


def first_in_period(in_period: pd.DataFrame) -> dict[str, object]:
    """{customer: date of its first in-period order} (the order of ``first_come``)."""
    return in_period.groupby("customer_id")["order_date"].min().to_dict()


def bought_before(orders: pd.DataFrame, baseline: Ledger | None, start: date) -> set[str]:
    """Customers with a purchase before the period: in the purchase ledger or the baseline ledger."""
    earlier = set(orders.loc[orders["status"] == "before-start", "customer_id"])
    if baseline is not None:
        frame = baseline.frame
        earlier |= set(frame.loc[frame["order_date"] < pd.Timestamp(start), "customer_id"])
    return earlier


def merge_conversions(parts) -> dict[str, list]:
    """{customer: [(day, points)]} of several prepaid policies together, by day."""
    merged: dict[str, list] = {}
    for part in parts:
        for customer, days in part.items():
            merged[customer] = sorted(merged.get(customer, []) + days)
    return merged


@parallel.collector_paused()
def reread_ledgers(ledgers: Ledgers) -> tuple[list[tuple[str, int, int, str]], list[Finding]]:
    """Every ledger read a second time by the simple reader (see :mod:`promo_cli.io.reread`)."""
    rows, findings = [], []
    for role in ROLES:
        ledger = getattr(ledgers, role)
        if ledger is not None:
            more_rows, more_findings = reread_ledger(ledger, UNIQUE_KEY.get(READ_AS.get(role, role), "customer_id"))
            rows += more_rows
            findings += more_findings
    return rows, findings


def first_purchases(ledgers: Ledgers) -> dict:
    """{customer: first purchase date} from the customer master's ``first_purchase_date``."""
    master = ledgers.customers.frame if ledgers.customers is not None else None
    if master is None:
        return {}
    return {c: d.date() for c, d in master[["customer_id", "first_purchase_date"]].dropna().to_numpy()}


def _sales_figures(campaign: Campaign, ledgers: Ledgers, orders: pd.DataFrame, history: pd.DataFrame,
                   as_of: date) -> SalesFigures:
    period = campaign.campaign.period
    purchases = orders[orders["order_date"] <= pd.Timestamp(as_of)]
    master = ledgers.customers.frame if ledgers.customers is not None else None
    channels = dict(master[["customer_id", "channel"]].dropna().to_numpy()) if master is not None else {}
    return sales_figures(purchases, history, channels, first_purchases(ledgers), period.start, min(period.end, as_of),
                         campaign.evaluation.margin_rate)


def evaluate_settlement(s: Settlement, sales: SalesFigures | None) -> dict | None:
    """The campaign's evaluation: the sales figures (when there is a purchase ledger) with the
    campaign's cost against its budget and the ROI, and for deposit campaigns the target
    achievement."""
    targets = {pid: _deposit_evaluation(r) for pid, r in s.deposits.items()}
    if sales is None:
        return {"deposit_targets": targets} if targets else None
    cost = settled_cost(s)
    figures = budget_figures(s.campaign.budget, cost, sum(planned_costs(s.campaign).values())) \
        if s.campaign.budget is not None else None
    result = evaluation_json(sales, figures["actual_total"] if figures else cost,
                             figures["planned_total"] if figures else None)
    return {**result, "deposit_targets": targets} if targets else result


def _deposit_evaluation(result) -> dict:
    """Plan 001 §二.3's monitoring figures of a deposit policy: depositors new and returning, their
    repeat purchases, and the targets' achievement."""
    figures = deposits_json(result)
    return {"new_depositors": result.new_depositors,
            **{k: figures[k] for k in ("depositors", "returning_depositors", "returning_ratio",
                                       "repeat_purchase_rate")},
            **figures["target"]}


def purchase_history(ledgers: Ledgers, as_of: date) -> pd.DataFrame:
    """Every purchase known up to as-of: the ledger, plus the baseline ledger when given."""
    frames = [l.frame for l in (ledgers.baseline, ledgers.purchases) if l is not None]
    history = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return history[history["order_date"] <= pd.Timestamp(as_of)]


def classify_rows(purchases: pd.DataFrame, start: date, end: date, as_of: date) -> pd.Series:
    """Return per purchase row ``counted``, ``before-start``, ``after-end`` or ``after-as-of``."""
    dates = purchases["order_date"]
    reason = pd.Series("counted", index=purchases.index, dtype=object)
    reason[dates < pd.Timestamp(start)] = "before-start"
    reason[dates > pd.Timestamp(end)] = "after-end"
    reason[(dates > pd.Timestamp(as_of)) & (dates <= pd.Timestamp(end))] = "after-as-of"
    return reason


def _payments_until(ledger: Ledger | None, as_of: date) -> pd.DataFrame:
    if ledger is None:
        return pd.DataFrame({"payment_id": [], "order_id": [], "customer_id": [],
                             "payment_date": pd.to_datetime([]), "amount": pd.array([], dtype="Int64"),
                             "_row": []})
    frame = ledger.frame
    return frame[frame["payment_date"] <= pd.Timestamp(as_of)]


def _empty_purchases() -> pd.DataFrame:
    return pd.DataFrame({"order_id": [], "customer_id": [], "customer_name": [],
                         "order_date": pd.to_datetime([]), "amount": pd.array([], dtype="Int64"),
                         "quantity": [], "due_date": pd.to_datetime([]), "group_id": [],
                         "group_proof": [], "_row": []})


def _customers(campaign: Campaign, in_period: pd.DataFrame, lines: pd.DataFrame,
               master: Ledger | None) -> list[CustomerResult]:
    policy_ids = [p.id for p in campaign.rebate_policies]
    by_pair = lines.groupby(["customer_id", "policy_id"], sort=False)["rebate"].sum()
    rebates: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(policy_ids, 0))
    for (customer, policy_id), cents in by_pair.items():
        rebates[customer][policy_id] = int(cents)
    amounts = in_period.groupby("customer_id", sort=True)["amount"].sum()
    names = customer_names(in_period, master)
    return [CustomerResult(customer, names.get(customer, ""), int(cents), dict(rebates[customer]))
            for customer, cents in amounts.items()]


def customer_names(purchases: pd.DataFrame, master: Ledger | None) -> dict[str, str]:
    """Return {customer_id: name}: the master's name, else the first name in the ledger."""
    named = purchases.dropna(subset=["customer_name"])
    names = dict(named.drop_duplicates("customer_id")[["customer_id", "customer_name"]].to_numpy())
    if master is not None:
        known = master.frame.dropna(subset=["customer_name"])
        names.update(dict(known[["customer_id", "customer_name"]].to_numpy()))
    return names
