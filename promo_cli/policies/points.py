"""``points``: points per yuan of net spend, kept per customer as dated lots.

Each purchase earns whole points (per full yuan); a return takes its points back from the
customer's oldest unexpired purchase points, never below zero; expired deposits turned into
points (a prepaid policy's ``expiry_points``) join the customer's points on the day they
convert; a row with ``points_redeemed`` spends points, oldest unexpired first (more than the
customer holds is an error); with ``expiry_months`` points expire that many months after
they were earned or converted. ``yuan_per_point`` values the points the campaign gave away
and did not take back or see expire (redeemed + balance) as its cost, and the value of the
points redeemed on an order is left out of what that order earns. ``on_return`` says what a
return takes back: ``proportional`` (the points of its amount, never below zero), ``all`` (all
the customer's purchase points), ``none``, or ``allow_negative`` (the points of its amount,
the balance going below zero when they were spent already)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

import pandas as pd

from promo_cli.model import Finding, PointsPolicy, finding
from promo_cli.money import format_amount, round_cents
from promo_cli.policies.context import LoyaltyResult, PolicyContext, master_column
from promo_cli.policies.prepaid_deposit import add_months
from promo_cli.parallel import collector_paused


def points_for(cents: int, points_per_yuan: Decimal) -> int:
    """Points of an amount, per full yuan: floor(floor(yuan) × points per yuan). 19.99 yuan at
    1.5 points a yuan earns 28 (19 full yuan), not 29. A return is counted on its size."""
    return int((Decimal(abs(int(cents)) // 100) * points_per_yuan).to_integral_value(ROUND_FLOOR))


@dataclass(slots=True)
class _Lot:
    expires: date | None
    left: int
    bought: bool          # earned on a purchase (a return takes back only these)


@collector_paused()
def apply_points(policy: PointsPolicy, ctx: PolicyContext) -> tuple[LoyaltyResult, list[Finding]]:
    rows = ctx.purchases.sort_values(["order_date", "order_id"], kind="stable")
    redeemed_column = rows["points_redeemed"] if "points_redeemed" in rows else pd.Series(None, index=rows.index)
    expiries: dict[date, date | None] = {}

    def expiry(day: date) -> date | None:
        if day not in expiries:
            expiries[day] = add_months(day, policy.expiry_months) if policy.expiry_months else None
        return expiries[day]

    # one walk in date order: purchases and redemptions from the ledger, conversions on their day
    redeemed = redeemed_column.to_numpy(dtype=object, copy=True)
    redeemed[~(redeemed_column.notna().to_numpy() & (redeemed_column.fillna(0) != 0).to_numpy())] = None
    events = list(zip(rows["order_date"].to_numpy(dtype="datetime64[D]").astype(object), [0] * len(rows),
                      rows["customer_id"].tolist(), rows["amount"].tolist(), redeemed.tolist(), rows["_row"].tolist()))
    converted = [(day, 1, customer, None, points, None) for customer, days in ctx.conversions.items()
                 for day, points in days if day <= ctx.as_of]
    if converted:
        events += converted
        events.sort(key=lambda e: (e[0], e[1]))               # stable: ledger order within a day
    earned: dict[int, int] = {}                                # points of an amount, worked out once per amount
    lots: dict[str, list[_Lot]] = defaultdict(list)
    figures = {key: defaultdict(int) for key in ("earned", "taken_back", "converted", "redeemed")}
    findings: list[Finding] = []

    def spend(customer: str, day: date, points: int, bought_only: bool) -> int:
        """Take up to ``points`` from the customer's unexpired lots, oldest first; return how many."""
        taken = 0
        for lot in lots[customer]:
            if taken == points:
                break
            if lot.left <= 0 or (bought_only and not lot.bought) or (lot.expires is not None and lot.expires <= day):
                continue
            take = min(lot.left, points - taken)
            lot.left -= take
            taken += take
        return taken

    for day, kind, customer, cents, redeem, row in events:
        if kind == 1:
            lots[customer].append(_Lot(expiry(day), redeem, False))
            figures["converted"][customer] += redeem
            continue
        redeeming = redeem is not None
        if cents > 0:
            base = cents
            if redeeming and policy.yuan_per_point is not None and redeem > 0 and redeem == int(redeem):  # paid partly with points
                base = max(cents - points_cost(int(redeem), policy.yuan_per_point), 0)
            if base not in earned:
                earned[base] = points_for(base, policy.points_per_yuan)
            points = earned[base]
            lots[customer].append(_Lot(expiry(day), points, True))
            figures["earned"][customer] += points
        elif cents < 0 and policy.on_return != "none":
            points = points_for(cents, policy.points_per_yuan)
            if policy.on_return == "all":      # every purchase point still held
                points = sum(lot.left for lot in lots[customer]
                             if lot.bought and lot.left > 0 and (lot.expires is None or lot.expires > day))
            taken = spend(customer, day, points, bought_only=True)
            if policy.on_return == "allow_negative" and taken < points:     # spent already: owed back
                lots[customer].append(_Lot(None, taken - points, True))
                taken = points
            figures["taken_back"][customer] += taken
        if not redeeming:
            continue
        if redeem < 0 or redeem != int(redeem):
            findings.append(finding("error", "points-redeemed-invalid", **ctx.source.at("points_redeemed", int(row)),
                                    value=redeem, policy=policy.id))
            continue
        want = int(redeem)
        got = spend(customer, day, want, bought_only=False)
        figures["redeemed"][customer] += got
        if got < want:
            findings.append(finding("error", "points-overdrawn", **ctx.source.at("points_redeemed", int(row)),
                                    value=want, policy=policy.id, customer=customer, available=got))
    names = master_column(ctx, "customer_name")
    table = []
    keys = ("earned", "taken_back", "converted", "expired", "redeemed", "balance")
    totals = dict.fromkeys(keys, 0)
    for customer in sorted(set(rows["customer_id"]) | set(lots)):
        alive = lambda lot: lot.expires is None or lot.expires > ctx.as_of  # noqa: E731
        line = {**{key: figures[key][customer] for key in ("earned", "taken_back", "converted", "redeemed")},
                "expired": sum(lot.left for lot in lots[customer] if not alive(lot)),
                "balance": sum(lot.left for lot in lots[customer] if alive(lot))}
        table.append([customer, names.get(customer, ""), *(line[key] for key in keys)])
        for key in keys:
            totals[key] += line[key]
    columns = [("customer_id", "id"), ("customer_name", "text"), ("earned", "int"), ("taken_back", "int"),
               ("converted", "int"), ("expired", "int"), ("redeemed", "int"), ("balance", "int")]
    if policy.yuan_per_point is not None:
        totals["cost"] = format_amount(points_cost(totals["redeemed"] + totals["balance"], policy.yuan_per_point))
    return LoyaltyResult(policy.id, policy.type, columns, table, totals), findings


def points_cost(points: int, yuan_per_point: Decimal) -> int:
    """What ``points`` are worth to the campaign, in cents (half-up)."""
    return round_cents(Decimal(points) * yuan_per_point)
