"""``group_purchase``: a special rate for a buying group's one-time purchase.

In-period rows sharing a non-empty ``group_id`` form a group. It qualifies when its
total basis (quantity or amount) reaches the first tier, when (if ``require_proof``)
one of its rows carries a proof reference, and when every positive row is paid in
full by payments dated on or before the period end, and (with ``within_days``) when its
rows lie at most that many days apart: a 一次性团购 is one purchase, not months of orders; a
group spread over more than 31 days is noted either way. The group rebate (highest tier
reached × group amount, rounded) is split over the group's customers in proportion
to their amount in the group, in whole cents by largest remainder (ties: customer_id
ascending), so the shares add up to the group rebate exactly.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from promo_cli.lines import make_lines
from promo_cli.model import Finding, GroupPurchasePolicy, finding
from promo_cli.money import (
    allocate,
    exact_times,
    format_display_many,
    format_rate,
    round_cents,
)
from promo_cli.policies.context import PolicyContext, paid_by
from promo_cli.policies.tiered import reached_tier


def apply_group_purchase(policy: GroupPurchasePolicy, ctx: PolicyContext
                         ) -> tuple[pd.DataFrame, list[Finding]]:
    """Return one line per customer of each qualifying group; why others fail as findings."""
    rows = ctx.purchases[ctx.purchases["group_id"].notna()]
    bounds = [(tier.from_, tier.rate) for tier in policy.tiers]
    end = pd.Timestamp(min(ctx.period_end, ctx.as_of))
    positive = rows[rows["amount"] > 0]
    paid = paid_by(positive, ctx.payments, pd.Series(end, index=positive.index))
    unpaid = positive.loc[paid["paid"] < positive["amount"].astype("int64"), ["group_id", "order_id"]]
    unpaid_by_group = unpaid.groupby("group_id")["order_id"].agg(list)

    by_group = rows.groupby("group_id", sort=True)
    amounts = by_group["amount"].sum().astype("int64").to_dict()
    quantities = ({g: Decimal(q) for g, q in rows["quantity"].fillna(0).groupby(rows["group_id"]).sum().items()}
                  if policy.basis == "quantity" else {})
    proof = rows["group_proof"].notna().groupby(rows["group_id"]).any().to_dict()
    first_row = by_group["_row"].min().to_dict()
    span = (by_group["order_date"].max() - by_group["order_date"].min()).dt.days.to_dict()
    shares_of = rows.groupby(["group_id", "customer_id"], sort=True)["amount"].sum().astype("int64")

    columns: dict[str, list] = {k: [] for k in ("customer", "group", "base", "rate", "share", "group_amount",
                                                 "group_basis", "group_rebate")}
    findings: list[Finding] = []
    for group, amount in amounts.items():
        basis = quantities[group] if policy.basis == "quantity" else Decimal(amount) / 100
        reasons = []
        if basis < bounds[0][0]:
            reasons.append(("below-threshold", (("total", f"{basis:,}"),
                                                ("threshold", f"{bounds[0][0]:,}"))))
        if policy.require_proof and not proof[group]:
            reasons.append(("no-proof", ()))
        if group in unpaid_by_group.index:
            reasons.append(("unpaid", (("orders", ", ".join(unpaid_by_group[group][:5])),)))
        if amount <= 0:
            reasons.append(("not-positive", ()))
        if policy.within_days is not None and span[group] > policy.within_days:
            reasons.append(("spread-out", (("days", span[group]), ("limit", policy.within_days))))
        elif span[group] > 31:
            findings.append(finding("info", "group-spread", **ctx.source.at("group_id", int(first_row[group])),
                                    value=group, group=group, policy=policy.id, days=span[group]))
        if reasons:
            for why in reasons:
                findings.append(finding("info", "group-not-qualified",
                                        **ctx.source.at("group_id", int(first_row[group])),
                                        value=group, group=group, policy=policy.id, why=why))
            continue
        rate = bounds[reached_tier(basis, bounds) - 1][1]
        group_rebate = round_cents(exact_times(rate, amount))
        by_customer = shares_of.loc[group]
        shares = allocate(group_rebate, [max(int(c), 0) for c in by_customer])
        for customer, cents, share in zip(by_customer.index, by_customer, shares):
            for key, value in (("customer", customer), ("group", group), ("base", int(cents)), ("rate", rate),
                               ("share", share), ("group_amount", amount), ("group_basis", basis),
                               ("group_rebate", group_rebate)):
                columns[key].append(value)
    c = columns
    return make_lines(
        policy.id, "group-share", c["customer"], c["group"], np.array(c["base"], dtype=np.int64), c["rate"],
        np.array(c["share"], dtype=np.int64), 2, "group-share", n_group=c["group"],
        n_group_amount=format_display_many(c["group_amount"]), n_measure=policy.basis,
        n_group_basis=[f"{b:,}" for b in c["group_basis"]], n_rate=[format_rate(r) for r in c["rate"]],
        n_group_rebate=format_display_many(c["group_rebate"]),
        n_share_base=format_display_many(c["base"])), findings
