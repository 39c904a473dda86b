"""``group_purchase``: a special rate for a buying group's one-time purchase.

In-period rows sharing a non-empty ``group_id`` form a group. It qualifies when its
total basis (quantity or amount) reaches the first tier, when (if ``require_proof``)
one of its rows carries a proof reference, and when every positive row is paid in
full by payments dated on or before the period end. The group rebate (highest tier
reached × group amount, rounded) is split over the group's customers in proportion
to their amount in the group, in whole cents by largest remainder (ties: customer_id
ascending), so the shares add up to the group rebate exactly.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from promo_cli.model import Finding, GroupPurchasePolicy, RebateLine, finding
from promo_cli.money import (
    allocate,
    exact_times,
    format_display,
    format_rate,
    round_cents,
)
from promo_cli.policies.context import PolicyContext, paid_by
from promo_cli.policies.tiered import reached_tier


def apply_group_purchase(policy: GroupPurchasePolicy, ctx: PolicyContext
                         ) -> tuple[list[RebateLine], list[Finding]]:
    """Return one line per customer of each qualifying group; why others fail as findings."""
    rows = ctx.purchases[ctx.purchases["group_id"].notna()]
    bounds = [(tier.from_, tier.rate) for tier in policy.tiers]
    end = pd.Timestamp(min(ctx.period_end, ctx.as_of))
    positive = rows[rows["amount"] > 0]
    paid = paid_by(positive, ctx.payments, pd.Series(end, index=positive.index))
    unpaid = positive.loc[paid["paid"] < positive["amount"].astype("int64"), ["group_id", "order_id"]]
    unpaid_by_group = unpaid.groupby("group_id")["order_id"].agg(list)

    lines: list[RebateLine] = []
    findings: list[Finding] = []
    for group, members in rows.groupby("group_id", sort=True):
        amount = int(members["amount"].sum())
        if policy.basis == "quantity":
            basis = sum((q for q in members["quantity"] if q is not None), Decimal(0))
        else:
            basis = Decimal(amount) / 100
        reasons = []
        if basis < bounds[0][0]:
            reasons.append(("below-threshold", (("total", f"{basis:,}"),
                                                ("threshold", f"{bounds[0][0]:,}"))))
        if policy.require_proof and not members["group_proof"].notna().any():
            reasons.append(("no-proof", ()))
        if group in unpaid_by_group.index:
            reasons.append(("unpaid", (("orders", ", ".join(unpaid_by_group[group][:5])),)))
        if amount <= 0:
            reasons.append(("not-positive", ()))
        if reasons:
            for why in reasons:
                findings.append(finding("info", "group-not-qualified",
                                        **ctx.source.at("group_id", int(members["_row"].min())),
                                        value=group, group=group, policy=policy.id, why=why))
            continue
        rate = bounds[reached_tier(basis, bounds) - 1][1]
        group_rebate = round_cents(exact_times(rate, amount))
        by_customer = members.groupby("customer_id", sort=True)["amount"].sum()
        weights = [max(int(c), 0) for c in by_customer]
        shares = allocate(group_rebate, weights)
        for (customer, cents), share in zip(by_customer.items(), shares):
            lines.append(RebateLine(
                policy.id, customer, "group-share", group, Decimal(int(cents)) / 100, rate,
                Decimal(share) / 100,
                note=("group-share", (("group", group), ("group_amount", format_display(amount)),
                                      ("measure", policy.basis), ("group_basis", f"{basis:,}"),
                                      ("rate", format_rate(rate)),
                                      ("group_rebate", format_display(group_rebate)),
                                      ("share_base", format_display(int(cents)))))))
    return lines, findings
