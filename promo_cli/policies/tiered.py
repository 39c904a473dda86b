"""``tiered``: a rebate by the customer's cumulative in-period purchases.

``marginal``: each slice of the amount between two tier bounds earns that tier's
rate (the plan's 超出部分 wording). ``whole``: the highest tier reached sets one
rate for the whole net amount; with ``basis: quantity`` the quantity picks the tier
and the rate still applies to the amount. Computed over all customers at once in
integer cents.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from promo_cli.lines import concat_lines, make_lines, rate_units
from promo_cli.model import Finding, TieredPolicy, finding
from promo_cli.money import format_display, format_display_many, format_rate
from promo_cli.policies.agreements import agreement_keys
from promo_cli.policies.context import PolicyContext


def reached_tier(value: Decimal, bounds: list[tuple[Decimal, Decimal]]) -> int:
    """Return the 1-based number of the highest tier with from <= value (0 if none)."""
    reached = 0
    for number, (lower, _rate) in enumerate(bounds, start=1):
        if value >= lower:
            reached = number
    return reached


def marginal_parts(net: np.ndarray, bounds: list[int]) -> np.ndarray:
    """Return the slice of each net amount (cents) between consecutive tier bounds (cents).

    Row k of the result is the part of every amount above ``bounds[k]`` and below
    ``bounds[k + 1]`` (no upper bound for the last tier); 0 where the amount does not reach it.
    """
    net = np.asarray(net, dtype=np.int64)
    parts = np.zeros((len(bounds), len(net)), dtype=np.int64)
    for k, lower in enumerate(bounds):
        top = net if k + 1 == len(bounds) else np.minimum(net, bounds[k + 1])
        parts[k] = np.maximum(top - lower, 0)
    return parts


def _table_keys(policy: TieredPolicy, ctx: PolicyContext) -> pd.Series:
    """Per in-period row, the key of the rate table it is settled by ("" for the default table)."""
    keys = pd.Series("", index=ctx.purchases.index, dtype=object)
    if policy.rates_by is not None:
        keys = rate_keys(ctx.purchases, policy.rates_by, ctx.products)
        keys = keys.where(keys.isin(list(policy.tiers_by)), "")     # every other product: one pool, the default
    agreements = ctx.agreements.get(policy.id, [])
    if agreements:          # a customer's own agreement wins over the campaign's tables in its window
        covered = agreement_keys(agreements, ctx.purchases)
        keys = keys.where(covered == "", covered)
    return keys


def remarks_tiered(policy: TieredPolicy, ctx: PolicyContext, lines: pd.DataFrame) -> list[Finding]:
    """Once over every in-period row (all partitions together): a warning for each rate table of
    ``tiers_by`` that no row is settled by (a mistyped product or category)."""
    if not policy.tiers_by:
        return []
    seen = set(_table_keys(policy, ctx))
    return [finding("warning", "tiers-by-unused", **ctx.source.at(), policy=policy.id, key=key, by=policy.rates_by)
            for key in policy.tiers_by if key not in seen]


def apply_tiered(policy: TieredPolicy, ctx: PolicyContext) -> tuple[pd.DataFrame, list[Finding]]:
    """Return one line per tier slice (marginal) or per customer (whole); with ``rates_by``, per
    product (or category) with that product's own table (``tiers`` for the rest)."""
    agreements = ctx.agreements.get(policy.id, [])
    tables = {**policy.tiers_by, **{a.key: list(a.tiers) for a in agreements}}
    # one scale for every table of the policy: a customer's lines are rounded together
    _, places = rate_units([t.rate for t in policy.tiers + [t for table in tables.values() for t in table]])
    if policy.rates_by is None and not agreements:
        return _tiered(policy, policy.tiers, ctx.purchases, ctx, None, places)
    keys = _table_keys(policy, ctx)
    parts, findings = [], []
    seen = set(keys)
    for key in sorted(seen):
        lines, more = _tiered(policy, tables.get(key, policy.tiers), ctx.purchases[(keys == key).to_numpy()],
                              ctx, key if key or policy.rates_by is not None else "", places)
        parts.append(lines)
        findings += more
    lines = concat_lines(parts)
    if not lines.empty:     # customer by customer, then product by product
        lines = lines.sort_values(["customer_id"], kind="stable", ignore_index=True)
    return lines, findings


def rate_keys(purchases: pd.DataFrame, by: str, products: pd.DataFrame | None) -> pd.Series:
    """Per row, the key of its rate table: its product, or its product's category ("" when unknown)."""
    product = purchases["product"].astype(object)
    if by == "category":
        if products is None or "category" not in products:
            return pd.Series("", index=purchases.index, dtype=object)
        lookup = products.dropna(subset=["product"]).drop_duplicates("product").set_index("product")["category"]
        product = product.map(lookup)
    return product.where(product.notna(), "").astype(str)


def _tiered(policy: TieredPolicy, tiers, frame: pd.DataFrame, ctx: PolicyContext, key: str | None, places: int
            ) -> tuple[pd.DataFrame, list[Finding]]:
    """The lines of one rate table over ``frame`` (all rows, or one product's); ``key`` names the
    table in each line's reference (``P01·2``)."""
    label = (lambda number: str(number)) if key is None else (lambda number: f"{key or '—'}·{number}")  # noqa: E731
    amounts = frame.groupby("customer_id", sort=True)["amount"].sum().astype("int64")
    customers, net = amounts.index.to_numpy(dtype=object), amounts.to_numpy()
    findings = [finding("info", "net-not-positive", **ctx.source.at(), customer=customer,
                        amount=format_display(int(cents)), policy=policy.id)
                for customer, cents in zip(customers[net < 0], net[net < 0])]
    integers = [int(t.rate.scaleb(places)) for t in tiers]
    if policy.mode == "marginal" and policy.basis == "quantity":
        return _quantity_slices(policy, tiers, frame, integers, places, label), findings
    if policy.mode == "marginal":
        parts = []
        bounds = [int(t.from_ * 100) for t in tiers]
        slices = marginal_parts(net, bounds)
        for number, tier in enumerate(tiers):
            lower = bounds[number]
            upper = bounds[number + 1] if number + 1 < len(bounds) else None
            has = slices[number] > 0
            part = slices[number][has]
            upper_text = "∞" if upper is None else format_display(upper)
            parts.append(make_lines(
                policy.id, "tier-slice", customers[has], label(number + 1), part, tier.rate,
                part * integers[number], places + 2, "tier-slice",
                lower=tier.from_, upper=None if upper is None else tiers[number + 1].from_,
                n_tier=str(number + 1), n_lower=format_display(lower), n_upper=upper_text,
                n_base=format_display_many(part), n_rate=format_rate(tier.rate)))
        lines = concat_lines(parts)
        if not lines.empty:  # customer by customer, tier by tier
            lines = lines.sort_values(["customer_id"], kind="stable", ignore_index=True)
        return lines, findings
    if policy.basis == "quantity":
        quantities = frame.groupby("customer_id", sort=True)["quantity"].agg(
            lambda s: sum((q for q in s if q is not None), Decimal(0)))
        measure = [quantities[c] for c in customers]
    else:
        measure = [Decimal(int(c)) / 100 for c in net]
    bounds = [(t.from_, t.rate) for t in tiers]
    rows = [(i, reached_tier(m, bounds)) for i, m in enumerate(measure) if m > 0 and net[i] > 0]
    take = np.array([i for i, _ in rows], dtype=np.int64)
    numbers = [n for _, n in rows]
    chosen_tiers = [tiers[n - 1] for n in numbers]
    chosen = net[take]
    lines = make_lines(
        policy.id, "whole", customers[take], [label(n) for n in numbers], chosen, [t.rate for t in chosen_tiers],
        chosen * np.array([integers[n - 1] for n in numbers], dtype=np.int64), places + 2, "whole",
        lower=[t.from_ for t in chosen_tiers],
        upper=[tiers[n].from_ if n < len(tiers) else None for n in numbers],
        n_measure=policy.basis, n_reached=[f"{measure[i]:,}" for i in take], n_tier=[str(n) for n in numbers],
        n_lower=[f"{t.from_:,}" for t in chosen_tiers], n_base=format_display_many(chosen),
        n_rate=[format_rate(t.rate) for t in chosen_tiers])
    return lines, findings


def quantity_slice_money(rows: list[tuple[Decimal | None, int]], bounds: list[Decimal]) -> list[int]:
    """Cents of money in each quantity slice of one customer's ladder.

    ``rows`` are (quantity, amount cents) in order-date order: a purchase adds its units at the
    top of the ladder, each worth its order's amount / quantity; a return (negative quantity)
    takes units off the top at its own price; a row without quantity puts its money where the
    ladder stands. Each slice's money is exact, then rounded half-up to the cent."""
    money = [Fraction(0)] * len(bounds)
    position = Fraction(0)

    def slice_at(units: Fraction) -> int:
        return max(k for k, lower in enumerate(bounds) if units >= lower) if units >= 0 else 0

    for quantity, cents in rows:
        if quantity is None or quantity == 0:
            money[slice_at(position)] += cents
            continue
        q = Fraction(quantity)
        price = Fraction(cents) / q
        low, high = (position, position + q) if q > 0 else (position + q, position)
        sign = 1 if q > 0 else -1
        for k, lower in enumerate(bounds):
            upper = Fraction(bounds[k + 1]) if k + 1 < len(bounds) else None
            top = high if upper is None else min(high, upper)
            units = top - max(low, Fraction(lower))
            if units > 0:
                money[k] += sign * units * price
        position += q
    half_up = lambda m: int((abs(m) * 2 + 1) // 2) * (1 if m >= 0 else -1)  # noqa: E731 - away from zero at .5
    return [half_up(m) for m in money]


def _quantity_slices(policy: TieredPolicy, tiers, frame: pd.DataFrame, integers: list[int], places: int, label
                     ) -> pd.DataFrame:
    """Marginal tiers on quantity: each slice of units earns its rate on the money of the units in it."""
    bounds = [t.from_ for t in tiers]
    ordered = frame.sort_values(["order_date", "order_id"], kind="stable")
    parts = []
    for customer, rows in ordered.groupby("customer_id", sort=True):
        money = quantity_slice_money(list(zip(rows["quantity"], rows["amount"].astype("int64"))), bounds)
        if sum(money) <= 0:
            continue
        for number, (tier, cents) in enumerate(zip(tiers, money)):
            if cents <= 0:
                continue
            upper = tiers[number + 1].from_ if number + 1 < len(tiers) else None
            parts.append(make_lines(
                policy.id, "tier-slice", [customer], label(number + 1), np.array([cents]), tier.rate,
                np.array([cents * integers[number]]), places + 2, "quantity-slice",
                lower=tier.from_, upper=upper, n_tier=str(number + 1), n_lower=f"{tier.from_:,}",
                n_upper="∞" if upper is None else f"{upper:,}", n_base=format_display(cents),
                n_rate=format_rate(tier.rate)))
    return concat_lines(parts)
