"""``membership``: levels by spend in the period (or the master's ``member_level``), each
with a discount rate and points per yuan; per customer the level reached, spend, points,
discount value and distance to the next level."""

from __future__ import annotations

from decimal import Decimal

from promo_cli.model import Finding, MembershipPolicy, finding
from promo_cli.money import format_amount, round_cents
from promo_cli.policies.points import points_for
from promo_cli.policies.context import (
    LoyaltyResult,
    PolicyContext,
    master_column,
    net_spend,
)


def apply_membership(policy: MembershipPolicy, ctx: PolicyContext) -> tuple[LoyaltyResult, list[Finding]]:
    spend = net_spend(ctx.purchases)
    names = master_column(ctx, "customer_name")
    master_levels = master_column(ctx, "member_level") if policy.use_master_level else {}
    by_name = {level.name: level for level in policy.levels}
    rows, findings = [], []
    counts = dict.fromkeys([level.name for level in policy.levels], 0)
    points_total = discount_total = 0
    for customer, cents in spend.items():
        cents = int(cents)
        level = None
        if customer in master_levels:
            level = by_name.get(master_levels[customer])
            if level is None:
                findings.append(finding("warning", "unknown-member-level", customer=customer,
                                        level=master_levels[customer], policy=policy.id))
        if level is None:
            for candidate in policy.levels:
                if Decimal(cents) / 100 >= candidate.from_:
                    level = candidate
        upper = [l for l in policy.levels if level is None or l.from_ > level.from_]
        to_next = round_cents(upper[0].from_) - cents if upper else None
        points = points_for(max(cents, 0), level.points_per_yuan) if level else 0
        discount = round_cents(level.discount * max(cents, 0) / 100) if level else 0
        if level:
            counts[level.name] += 1
        points_total += points
        discount_total += discount
        rows.append([customer, names.get(customer, ""), cents, level.name if level else None, points, discount,
                     upper[0].name if upper else None, None if to_next is None else max(to_next, 0)])
    columns = [("customer_id", "id"), ("customer_name", "text"), ("spend", "money"), ("level", "text"),
               ("points", "int"), ("discount_value", "money"), ("next_level", "text"), ("to_next_level", "money")]
    totals = {"members_by_level": counts, "points": points_total, "discount_value": format_amount(discount_total)}
    return LoyaltyResult(policy.id, policy.type, columns, rows, totals), findings
