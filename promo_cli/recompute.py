"""A second, deliberately simple implementation of every rebate policy, for the audit.

Whole-day numbers and cents in numpy arrays for what runs over every ledger row (period
filter, payment matching), plain Decimal loops per customer and per group for the
policy maths. It shares no calculation code with the engine (not money.py, not
policies/, not lines.py): its own period filter, tier maths, payment matching, sums
before the rate, rounding and largest-remainder split. The audit compares its result
with the engine's for every customer and policy; any difference is an error finding.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import compute as pc

from promo_cli.model import Campaign
from promo_cli.parallel import collector_paused

ZERO = Decimal(0)


def _round(yuan: Decimal) -> int:
    return int((yuan * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _day_numbers(column: pd.Series) -> np.ndarray:
    """A date column as whole days since 1970 (a large sentinel where empty)."""
    days = column.to_numpy(dtype="datetime64[D]").astype(np.int64)
    return np.where(np.isnat(column.to_numpy(dtype="datetime64[D]")), _NEVER, days)


_NEVER = np.iinfo(np.int64).max // 2


@collector_paused()
def plain_records(frame: pd.DataFrame | None, columns=None) -> list[dict]:
    """Rows as plain dicts of Python values (dates as ``datetime.date``, a missing date None), the
    named ``columns`` only (those the frame has; all without a list): what the plain loops of the
    recomputation read, built a column at a time rather than a cell at a time."""
    if frame is None:
        return []
    names = [c for c in (columns if columns is not None else frame.columns) if c in frame]
    lists = [frame[c].to_numpy(dtype="datetime64[D]").astype(object)
             if pd.api.types.is_datetime64_any_dtype(frame[c].dtype) else frame[c].tolist() for c in names]
    return [dict(zip(names, row)) for row in zip(*lists)]


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _sum_by(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, codes, values)
    return out


def inside(applies, records: list[dict], master: pd.DataFrame | None, products: pd.DataFrame | None) -> list[bool]:
    """Per purchase record, whether a policy's ``applies_to`` counts it: row by row, looking the
    customer up in the master and the product in the products ledger."""
    if applies is None:
        return [True] * len(records)
    people: dict[str, dict] = {}
    for person in plain_records(master, ("customer_id", "channel", "region")):
        people.setdefault(person["customer_id"], person)
    kinds: dict[str, object] = {}
    for item in plain_records(products, ("product", "category")):
        kinds.setdefault(item["product"], item.get("category"))
    out = []
    for r in records:
        product = _text(r.get("product"))
        facts = {"product": product, "category": _text(kinds.get(product)) if product else None,
                 "channel": _text((people.get(r["customer_id"]) or {}).get("channel")),
                 "region": _text((people.get(r["customer_id"]) or {}).get("region"))}
        ok = True
        for what, value in facts.items():
            wanted, unwanted = getattr(applies, what), getattr(applies, "exclude_" + what)
            if wanted is not None and value not in wanted:
                ok = False
            if unwanted is not None and value is not None and value in unwanted:
                ok = False
        out.append(ok)
    return out


def _ladder(tiers, mode: str, total: Decimal, measure: Decimal) -> Decimal:
    """The exact rebate of one net amount (and its measure) under one rate table."""
    if total <= 0 or measure <= 0:
        return ZERO
    if mode == "marginal":
        rebate = ZERO
        for i, tier in enumerate(tiers):
            upper = tiers[i + 1].from_ if i + 1 < len(tiers) else None
            if total > tier.from_:
                rebate += ((total if upper is None or total < upper else upper) - tier.from_) * tier.rate
        return rebate
    rate = ZERO
    for tier in tiers:
        if measure >= tier.from_:
            rate = tier.rate
    return total * rate


def _contracts(frame: pd.DataFrame | None, policy_id: str) -> list[tuple[str, object, object, list, str]]:
    """The agreements of one policy, read again: (customer, from, to, [(from, rate)], name)."""
    out = []
    for r in (frame.to_dict("records") if frame is not None else []):
        if r.get("policy") != policy_id:
            continue
        text = _text(r.get("tiers") if isinstance(r.get("tiers"), str) else None)
        rate = r.get("rate")
        table = []
        pieces = [p for p in (text or "").replace("；", ";").replace("|", ";").split(";") if p.strip()]
        for piece in pieces:
            lower, rate_text = piece.replace("：", ":").split(":", 1)
            table.append((Decimal(lower.strip().replace(",", "")), _share(rate_text)))
        if not pieces:
            table = [(ZERO, _share(str(rate)))]
        start, end = r.get("valid_from"), r.get("valid_to")
        out.append((r["customer_id"], None if pd.isna(start) else pd.Timestamp(start),
                    None if pd.isna(end) else pd.Timestamp(end), table, f"#{r['_row']}"))
    return out


def _share(text: str) -> Decimal:
    text = text.strip()
    return Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)


class _Table:
    """A rate table as the ladder below reads it."""

    def __init__(self, pairs):
        self.from_, self.rate = pairs


def _contract_for(contracts, customer: str, day) -> tuple[str, list] | None:
    for who, start, end, table, name in contracts:
        if who == customer and (start is None or day >= start) and (end is None or day <= end):
            return name, [_Table(pair) for pair in table]
    return None


def _by_table(policy, rows: pd.DataFrame, counts: np.ndarray, customers: list, customer_of: np.ndarray,
              products: pd.DataFrame | None, result: dict, contracts=()) -> None:
    """A tiered policy with a rate table per product or category, or per customer agreement: per
    customer and table, its own sums and ladder; the customer's exact amounts added, then rounded
    once."""
    category = {}
    for item in (products.to_dict("records") if products is not None else []):
        category.setdefault(item["product"], item.get("category"))
    sums: dict[tuple[int, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    tables = dict(policy.tiers_by)
    for i, (product, amount, quantity, day) in enumerate(zip(rows["product"], rows["amount"], rows["quantity"],
                                                             rows["order_date"])):
        if not counts[i]:
            continue
        key = _text(product) or ""
        if policy.rates_by == "category":
            key = _text(category.get(key)) or "" if key else ""
        if key not in policy.tiers_by:      # the products without a table of their own share the default
            key = ""
        contract = _contract_for(contracts, customers[int(customer_of[i])], day)
        if contract is not None:
            key, tables[contract[0]] = contract
        entry = sums[(int(customer_of[i]), key)]
        entry[0] += Decimal(int(amount)) / 100
        entry[1] += (Decimal(quantity) if quantity is not None else ZERO) if policy.basis == "quantity" \
            else Decimal(int(amount)) / 100
    exact: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for (c, key), (total, measure) in sums.items():
        exact[c] += _ladder(tables.get(key, policy.tiers), policy.mode, total, measure)
    for c, value in exact.items():
        result[(customers[c], policy.id)] = _round(value)


def _unit_ladder(policy, rows: pd.DataFrame, counts: np.ndarray, customers: list, customer_of: np.ndarray,
                 result: dict) -> None:
    """Marginal tiers on quantity, walked unit range by unit range: each row's units (in date,
    then order id order) are cut at the tier bounds; the money of each piece is its share of the
    row's amount; a return walks back down at its own price. Each tier's money is rounded to
    the cent, times its rate; the customer's sum rounded once."""
    edges = [Fraction(t.from_) for t in policy.tiers]
    order = sorted(range(len(rows)), key=lambda i: (rows["order_date"].iloc[i], rows["order_id"].iloc[i]))
    ladders: dict[int, list[Fraction]] = {}
    stand: dict[int, Fraction] = defaultdict(Fraction)
    for i in order:
        if not counts[i]:
            continue
        c = int(customer_of[i])
        money = ladders.setdefault(c, [Fraction(0)] * len(edges))
        q, amount = rows["quantity"].iloc[i], Fraction(int(rows["amount"].iloc[i]))
        here = stand[c]
        if q is None or q == 0:
            tier = 0
            while tier + 1 < len(edges) and here >= edges[tier + 1]:
                tier += 1
            money[tier] += amount
            continue
        q = Fraction(q)
        start, end = sorted((here, here + q))
        cursor = max(start, Fraction(0))
        while cursor < end:
            tier = 0
            while tier + 1 < len(edges) and cursor >= edges[tier + 1]:
                tier += 1
            stop = end if tier + 1 == len(edges) else min(end, edges[tier + 1])
            money[tier] += (stop - cursor) * amount / abs(q)   # a return (amount < 0) takes its price back
            cursor = stop
        stand[c] = here + q
    for c, money in ladders.items():
        slices = [_half_up(m) for m in money]
        if sum(slices) <= 0:
            continue
        exact = sum((Decimal(cents) / 100 * tier.rate for cents, tier in zip(slices, policy.tiers) if cents > 0), ZERO)
        result[(customers[c], policy.id)] = _round(exact)


def _half_up(value: Fraction) -> int:
    """A fraction of cents to whole cents, half away from zero."""
    whole, rest = divmod(abs(value.numerator), value.denominator)
    up = whole + (1 if 2 * rest >= value.denominator else 0)
    return up if value >= 0 else -up


def recompute(campaign: Campaign, purchases: pd.DataFrame, payments: pd.DataFrame, as_of: date,
              master: pd.DataFrame | None = None, products: pd.DataFrame | None = None,
              agreements: pd.DataFrame | None = None, caps: bool = True, only: np.ndarray | None = None
              ) -> dict[tuple[str, str], int]:
    """Return {(customer_id, policy_id): cents} for every customer with an in-period row (a
    policy with ``applies_to`` counting only the rows it names). ``caps=False`` leaves the
    policies' per-customer caps and the campaign's budget cap out (the rows are one partition of
    the ledger: the caps are made over every partition's figures added up, by :func:`apply_caps`);
    ``only`` (a mask over ``purchases``) the rows of that partition."""
    start, end = campaign.campaign.period.start, campaign.campaign.period.end
    last = min(end, as_of)
    day = _day_numbers(purchases["order_date"])
    keep = (day >= _day(start)) & (day <= _day(last))
    if only is not None:
        keep &= only
    rows = purchases[keep]
    cents = rows["amount"].to_numpy(dtype=np.int64)
    customer_of, customers = pd.factorize(rows["customer_id"], sort=True)
    customers = list(customers)
    n = len(customers)

    # every payment known at as-of, against the position of its order among the kept rows
    pay_day = _day_numbers(payments["payment_date"])
    known = pay_day <= _day(as_of)
    order_at = pc.fill_null(pc.index_in(pa.array(payments["order_id"][known], type=pa.string(), from_pandas=True),
                                        value_set=pa.array(rows["order_id"], type=pa.string(), from_pandas=True),
                                        skip_nulls=True), -1).to_numpy(zero_copy_only=False)
    matched = order_at >= 0
    pay_order = order_at[matched]
    pay_day = pay_day[known][matched]
    pay_cents = payments["amount"][known].to_numpy(dtype=np.int64)[matched]

    def paid_until(deadlines: np.ndarray) -> np.ndarray:
        """Per kept row: cents paid on its order id on or before its deadline (whole days)."""
        timely = pay_day <= deadlines[pay_order]
        return _sum_by(pay_order[timely], pay_cents[timely], len(rows))

    result: dict[tuple[str, str], int] = {}
    for policy in campaign.rebate_policies:
        for customer in customers:
            result[(customer, policy.id)] = 0
        counts = np.ones(len(rows), dtype=bool) if policy.applies_to is None else np.array(
            inside(policy.applies_to, rows[["customer_id", "product"]].to_dict("records"), master, products), dtype=bool)
        contracts = _contracts(agreements, policy.id)
        if policy.type == "tiered" and (policy.rates_by is not None or contracts):
            _by_table(policy, rows, counts, customers, customer_of, products, result, contracts)
        elif policy.type == "tiered" and policy.basis == "quantity" and policy.mode == "marginal":
            _unit_ladder(policy, rows, counts, customers, customer_of, result)
        elif policy.type == "tiered":
            amount = _sum_by(customer_of[counts], cents[counts], n)
            if policy.basis == "quantity":
                quantity = [ZERO] * n
                for code, q, counted in zip(customer_of, rows["quantity"], counts):
                    if q is not None and counted:
                        quantity[code] += q
            for c, customer in enumerate(customers):
                total = Decimal(int(amount[c])) / 100
                measure = quantity[c] if policy.basis == "quantity" else total
                if total <= 0 or measure <= 0:
                    continue
                rebate = ZERO
                if policy.mode == "marginal":
                    for i, tier in enumerate(policy.tiers):
                        upper = policy.tiers[i + 1].from_ if i + 1 < len(policy.tiers) else None
                        if total > tier.from_:
                            top = total if upper is None or total < upper else upper
                            rebate += (top - tier.from_) * tier.rate
                else:
                    rate = ZERO
                    for tier in policy.tiers:
                        if measure >= tier.from_:
                            rate = tier.rate
                    rebate = total * rate
                result[(customer, policy.id)] = _round(rebate)
        elif policy.type == "on_time_payment":
            due = _day_numbers(rows["due_date"])
            has_due = due != _NEVER
            deadline = np.where(has_due, due + policy.grace_days, -_NEVER)
            positive = (cents > 0) & counts
            unpaid = np.maximum(cents - paid_until(deadline), 0)
            enough = unpaid == 0
            # an agreement sets the rate of its customer's orders in its window; the rest: the policy's
            special = {}
            for i, (who, day) in enumerate(zip(rows["customer_id"], rows["order_date"])) if contracts else ():
                contract = _contract_for(contracts, who, day)
                if contract is not None:
                    special[i] = contract[1][0].rate
            if policy.deducted_at_payment:      # 票扣: the unpaid rest may be the rebate itself
                enough = (unpaid == 0) | np.array([Decimal(int(u)) <= Decimal(int(a)) * special.get(i, policy.rate)
                                                   for i, (u, a) in enumerate(zip(unpaid, cents))], dtype=bool)
            on_time = positive & has_due & enough
            plain = on_time.copy()
            plain[list(special)] = False
            earned = {c: Decimal(int(v)) / 100 * policy.rate
                      for c, v in enumerate(_sum_by(customer_of[plain], cents[plain], n)) if v}
            for i in [i for i in special if on_time[i]]:
                c = int(customer_of[i])
                earned[c] = earned.get(c, ZERO) + Decimal(int(cents[i])) / 100 * special[i]
            deducted = _sum_by(customer_of[on_time], unpaid[on_time], n)
            failed = _sum_by(customer_of[positive & ~on_time], np.ones(int((positive & ~on_time).sum()), np.int64), n)
            for c, customer in enumerate(customers):
                if c in earned and (policy.scope == "order" or failed[c] == 0):
                    result[(customer, policy.id)] = _round(earned[c] - Decimal(int(deducted[c])) / 100)
        elif policy.type == "group_purchase":
            paid_by_end = paid_until(np.full(len(rows), _day(last)))
            groups: dict[str, list[int]] = defaultdict(list)
            group_ids = rows["group_id"].to_numpy(dtype=object)
            for i in np.flatnonzero(rows["group_id"].notna().to_numpy() & counts).tolist():
                if _text(group_ids[i]) is not None:
                    groups[group_ids[i]].append(i)
            proofs, quantities = rows["group_proof"].to_numpy(dtype=object), rows["quantity"].to_numpy(dtype=object)
            order_day = _day_numbers(rows["order_date"])
            for members in groups.values():
                group_amount = sum((Decimal(int(cents[m])) / 100 for m in members), ZERO)
                basis = sum((Decimal(quantities[m]) if quantities[m] is not None else ZERO for m in members), ZERO) \
                    if policy.basis == "quantity" else group_amount
                rate = None
                for tier in policy.tiers:
                    if basis >= tier.from_:
                        rate = tier.rate
                if rate is None or group_amount <= 0:
                    continue
                if policy.require_proof and not any(_text(proofs[m]) for m in members):
                    continue
                if any(cents[m] > 0 and paid_by_end[m] < cents[m] for m in members):
                    continue
                days = [order_day[m] for m in members]
                if policy.within_days is not None and max(days) - min(days) > policy.within_days:
                    continue
                share_cents = _round(group_amount * rate)
                weight: dict[str, Decimal] = defaultdict(lambda: ZERO)
                for m in members:
                    weight[customers[customer_of[m]]] += Decimal(int(cents[m])) / 100
                names = sorted(weight)
                weights = [max(weight[name], ZERO) for name in names]
                whole = sum(weights, ZERO)
                shares = [share_cents * w // whole for w in weights]           # floor of each exact share
                remainders = [share_cents * w % whole for w in weights]
                left = share_cents - int(sum(shares))
                by_remainder = sorted(range(len(names)), key=lambda i: (-remainders[i], names[i]))
                for i in by_remainder[:left]:
                    shares[i] += 1
                for name, share in zip(names, shares):
                    result[(name, policy.id)] += int(share)
    if caps:
        apply_caps(campaign, result, purchases, as_of)
    return result


def apply_caps(campaign: Campaign, result: dict, purchases: pd.DataFrame, as_of: date) -> None:
    """Bring ``result`` within the policies' per-customer caps, then the campaign's budget cap
    (in place)."""
    for policy in campaign.rebate_policies:        # no customer above the policy's cap
        if policy.cap is not None:
            most = _round(policy.cap.per_customer)
            for key in [k for k in result if k[1] == policy.id and result[k] > most]:
                result[key] = most
    if campaign.budget is None or campaign.budget.rebate_cap is None:
        return
    start, last = campaign.campaign.period.start, min(campaign.campaign.period.end, as_of)
    day = _day_numbers(purchases["order_date"])
    rows = purchases[(day >= _day(start)) & (day <= _day(last))]
    first = {}
    for customer, day in zip(rows["customer_id"], rows["order_date"]):
        first[customer] = min(first.get(customer, day), day)
    _campaign_cap(campaign, result, first)


def _campaign_cap(campaign: Campaign, result: dict, first: dict) -> None:
    """The campaign's rebate cap over the positive rebates: in proportion (floors, then the cents
    left to the largest remainders, ties by customer id and policy order), or by first order."""
    cap = campaign.budget.rebate_cap
    limit = _round(cap.amount)
    rank = {p.id: i for i, p in enumerate(campaign.rebate_policies)}
    owed = {key: cents for key, cents in result.items() if cents > 0}
    whole = sum(owed.values())
    if whole <= limit:
        return
    if cap.rule == "prorate":
        share = {key: Fraction(cents * limit, whole) for key, cents in owed.items()}
        paid = {key: int(s) for key, s in share.items()}
        rest = limit - sum(paid.values())
        for key in sorted(owed, key=lambda k: (-(share[k] - int(share[k])), k[0], rank[k[1]]))[:rest]:
            paid[key] += 1
    else:
        paid, rest = {}, limit
        for key in sorted(owed, key=lambda k: (first[k[0]], k[0], rank[k[1]])):
            paid[key] = min(owed[key], rest)
            rest -= paid[key]
    result.update(paid)
