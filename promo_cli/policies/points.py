"""``points``: points per yuan of net spend. Each purchase earns whole points (per full
yuan); a return takes its points back from the oldest unexpired ones, never below zero;
with ``expiry_months`` points expire that many months after they were earned."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_FLOOR, Decimal

from promo_cli.model import Finding, PointsPolicy
from promo_cli.policies.context import LoyaltyResult, PolicyContext, master_column
from promo_cli.policies.prepaid_deposit import add_months


def points_for(cents: int, points_per_yuan: Decimal) -> int:
    """Points of an amount, per full yuan: floor(floor(yuan) × points per yuan). 19.99 yuan at
    1.5 points a yuan earns 28 (19 full yuan), not 29. A return is counted on its size."""
    return int((Decimal(abs(int(cents)) // 100) * points_per_yuan).to_integral_value(ROUND_FLOOR))


def apply_points(policy: PointsPolicy, ctx: PolicyContext) -> tuple[LoyaltyResult, list[Finding]]:
    rows = ctx.purchases.sort_values(["order_date", "order_id"], kind="stable")
    lots: dict[str, list[list]] = defaultdict(list)            # [expires, points left]
    earned: dict[str, int] = defaultdict(int)
    taken: dict[str, int] = defaultdict(int)
    for customer, day, cents in zip(rows["customer_id"], rows["order_date"], rows["amount"]):
        points = points_for(cents, policy.points_per_yuan)
        day = day.date()
        if cents > 0:
            expires = add_months(day, policy.expiry_months) if policy.expiry_months else None
            lots[customer].append([expires, points])
            earned[customer] += points
        elif cents < 0:
            for lot in lots[customer]:
                if points <= 0:
                    break
                if lot[0] is not None and lot[0] <= day:
                    continue
                take = min(lot[1], points)
                lot[1] -= take
                points -= take
                taken[customer] += take
    names = master_column(ctx, "customer_name")
    table, totals = [], {"earned": 0, "taken_back": 0, "expired": 0, "balance": 0}
    for customer in sorted(set(rows["customer_id"])):
        expired = sum(p for e, p in lots[customer] if e is not None and e <= ctx.as_of)
        balance = sum(p for e, p in lots[customer] if e is None or e > ctx.as_of)
        table.append([customer, names.get(customer, ""), earned[customer], taken[customer], expired, balance])
        for key, value in zip(totals, (earned[customer], taken[customer], expired, balance)):
            totals[key] += value
    columns = [("customer_id", "id"), ("customer_name", "text"), ("earned", "int"), ("taken_back", "int"),
               ("expired", "int"), ("balance", "int")]
    return LoyaltyResult(policy.id, policy.type, columns, table, totals), []
