"""Partitions of the rebate work, and the merge of what each partition settled.

A rebate policy's figures are per customer or per group (``policies.PARTITION_KEY``): tiers,
on-time rates and caps per customer, a group's quantity and shares per group. So for each policy
the purchase rows are split by its key: a row goes to partition ``hash(key) mod n`` (the
engine's own hash; a row without a group goes where its customer's rows go), and each
partition's payments are those of its orders (a payment of no known order goes to partition 0,
where it counts for nothing, as on the whole ledger). Which partition a key lands in changes no
figure, only where it is computed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np
import pandas as pd

from promo_cli.lines import concat_lines
from promo_cli.model import Ledger
from promo_cli.policies import PARTITION_KEY
from promo_cli.rebates import RebateResult, RebateWork

# key column → the column of a policy's lines that names it (a group's lines carry it in ``ref``)
LINE_KEY = {"customer_id": "customer_id", "group_id": "ref"}
# the order of a policy's findings on the whole ledger: a group's name it (in group order); a
# customer's point at its rows (in ledger order) or name it (in customer order)
FINDING_ORDER = {"group_id": lambda f: f.value or "",
                 "customer_id": lambda f: (f.row is not None, f.row or 0, str(dict(f.params).get("customer", "")))}


def row_parts(work: RebateWork, assign: Callable[[list[str]], np.ndarray]) -> dict[str, np.ndarray]:
    """Per policy, the partition of every purchase row. ``assign(keys)`` is the engine's hash: the
    partition of each distinct key of a column (the customer's always: a row without its policy's
    key, no group, goes where its customer's rows go). Policies of the same key share one array."""
    by_column = {}
    for column in dict.fromkeys(["customer_id"] + [PARTITION_KEY[p.type] for p in work.campaign.rebate_policies]):
        codes, uniques = pd.factorize(work.orders[column])     # each distinct key hashed once
        parts = np.append(np.asarray(assign([str(value) for value in uniques]), dtype=np.int64), -1)[codes]
        by_column[column] = parts if column == "customer_id" else np.where(codes < 0, by_column["customer_id"], parts)
    return {p.id: by_column[PARTITION_KEY[p.type]] for p in work.campaign.rebate_policies}


def slice_work(work: RebateWork, parts: dict[str, np.ndarray], k: int, ship: bool = False) -> RebateWork:
    """Partition ``k`` of ``work``: each policy's context holds the rows of its keys in ``k``,
    ``keep`` marks them in the purchase rows, the payments are those of these orders. ``ship``
    cuts the purchase rows down to the partition's and drops the ledgers' frames kept only to
    point findings at cells (to send the partition to another machine); otherwise the rows stay
    shared (a forked worker reads its parent's)."""
    masks: dict[int, np.ndarray] = {}
    for policy_id in work.contexts:
        masks.setdefault(id(parts[policy_id]), parts[policy_id] == k)
    any_mine = np.logical_or.reduce(list(masks.values())) if masks else np.zeros(len(work.orders), dtype=bool)
    linked = work.payments["_order"].to_numpy(dtype=np.int64)
    ours = any_mine[np.maximum(linked, 0)] if len(any_mine) else np.zeros(len(linked), dtype=bool)
    payments = work.payments[np.where(linked >= 0, ours, k == 0)]
    rows: dict[tuple[int, int], pd.DataFrame] = {}
    contexts = {}
    for policy_id, ctx in work.contexts.items():
        mine = masks[id(parts[policy_id])]
        # a context's rows are rows of the purchase ledger: ``_order`` is their place in it
        if (id(ctx.purchases), id(mine)) not in rows:
            rows[(id(ctx.purchases), id(mine))] = ctx.purchases[mine[ctx.purchases["_order"].to_numpy()]]
        contexts[policy_id] = replace(ctx, purchases=rows[(id(ctx.purchases), id(mine))], payments=payments,
                                      source=_frameless(ctx.source) if ship else ctx.source)
    keep = {policy_id: masks[id(parts[policy_id])] for policy_id in work.contexts}
    orders = work.orders
    if ship:
        orders = orders[any_mine]
        cut = {id(m): m[any_mine] for m in masks.values()}
        keep = {policy_id: cut[id(mask)] for policy_id, mask in keep.items()}
    return replace(work, contexts=contexts, orders=orders, payments=payments, keep=keep)


def _frameless(ledger: Ledger | None) -> Ledger | None:
    if ledger is None:
        return None
    return replace(ledger, frame=ledger.frame.iloc[:0], sheets=tuple(_frameless(s) for s in ledger.sheets),
                   parts={name: _frameless(p) for name, p in ledger.parts.items()})


def merge(work: RebateWork, results: list[RebateResult]) -> RebateResult:
    """One result from the partitions' (in partition order): each policy's lines and findings
    ordered by its key as on the whole ledger (a key's own lines in the order its partition gave
    them), and the recomputed figures added up (a customer's shares of groups in several
    partitions)."""
    lines, findings = [], []
    for i, policy in enumerate(work.campaign.rebate_policies):
        merged = concat_lines([r.lines[i] for r in results])
        if len(merged):         # by key (codes of the sorted keys, then a stable sort of integers)
            codes, _ = pd.factorize(merged[LINE_KEY[PARTITION_KEY[policy.type]]], sort=True)
            merged = merged.take(np.argsort(codes, kind="stable")).reset_index(drop=True)
        lines.append(merged)
        findings.append(tuple(sorted((f for r in results for f in r.findings[i]),
                                     key=FINDING_ORDER[PARTITION_KEY[policy.type]])))
    recomputed: dict = {}
    for r in results:
        for key, cents in (r.recomputed or {}).items():
            recomputed[key] = recomputed.get(key, 0) + cents
    return RebateResult(tuple(lines), tuple(findings), recomputed, len(results))
