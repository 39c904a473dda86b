"""``tiered``: a rebate by the customer's cumulative in-period purchases.

``marginal``: each slice of the amount between two tier bounds earns that tier's
rate (the plan's 超出部分 wording). ``whole``: the highest tier reached sets one
rate for the whole net amount; with ``basis: quantity`` the quantity picks the tier
and the rate still applies to the amount.
"""

from __future__ import annotations

from decimal import Decimal

from promo_cli.model import Finding, RebateLine, TieredPolicy, finding
from promo_cli.money import exact_times, format_display, format_rate
from promo_cli.policies.context import PolicyContext


def tier_slices(total: Decimal, bounds: list[tuple[Decimal, Decimal]]
                ) -> list[tuple[int, Decimal, Decimal | None, Decimal, Decimal]]:
    """Return the marginal slices of ``total``: (tier number, lower, upper, slice, rate).

    ``bounds`` is [(from, rate), …] ascending from 0. Only tiers with from < total count.
    """
    slices = []
    for number, (lower, rate) in enumerate(bounds, start=1):
        if lower >= total:
            break
        upper = bounds[number][0] if number < len(bounds) else None
        top = total if upper is None else min(total, upper)
        slices.append((number, lower, upper, top - lower, rate))
    return slices


def reached_tier(value: Decimal, bounds: list[tuple[Decimal, Decimal]]) -> int:
    """Return the 1-based number of the highest tier with from <= value (0 if none)."""
    reached = 0
    for number, (lower, _rate) in enumerate(bounds, start=1):
        if value >= lower:
            reached = number
    return reached


def apply_tiered(policy: TieredPolicy, ctx: PolicyContext) -> tuple[list[RebateLine], list[Finding]]:
    """Return one line per tier slice (marginal) or per customer (whole)."""
    frame = ctx.purchases
    bounds = [(tier.from_, tier.rate) for tier in policy.tiers]
    amounts = frame.groupby("customer_id", sort=True)["amount"].sum()
    if policy.basis == "quantity":
        quantities = frame.groupby("customer_id", sort=True)["quantity"].agg(
            lambda s: sum((q for q in s if q is not None), Decimal(0)))
    lines: list[RebateLine] = []
    findings: list[Finding] = []
    for customer, cents in amounts.items():
        cents = int(cents)
        net = Decimal(cents) / 100
        measure = quantities[customer] if policy.basis == "quantity" else net
        if cents < 0:
            findings.append(finding("info", "net-not-positive", **ctx.source.at(), customer=customer,
                                    amount=format_display(cents), policy=policy.id))
        if measure <= 0 or cents <= 0:
            continue
        if policy.mode == "marginal":
            for number, lower, upper, part, rate in tier_slices(net, bounds):
                lines.append(RebateLine(
                    policy.id, customer, "tier-slice", str(number), part, rate,
                    exact_times(rate, part * 100), lower=lower, upper=upper,
                    note=("tier-slice", (("tier", number), ("lower", f"{lower:,.2f}"),
                                         ("upper", "∞" if upper is None else f"{upper:,.2f}"),
                                         ("base", f"{part:,.2f}"), ("rate", format_rate(rate))))))
        else:
            number = reached_tier(measure, bounds)
            lower, rate = bounds[number - 1]
            upper = bounds[number][0] if number < len(bounds) else None
            lines.append(RebateLine(
                policy.id, customer, "whole", str(number), net, rate, exact_times(rate, cents),
                lower=lower, upper=upper,
                note=("whole", (("measure", policy.basis), ("reached", f"{measure:,}"),
                                ("tier", number), ("lower", f"{lower:,}"), ("base", f"{net:,.2f}"),
                                ("rate", format_rate(rate))))))
    return lines, findings
