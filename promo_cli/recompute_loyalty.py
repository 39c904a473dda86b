"""A second, deliberately plain implementation of the loyalty policies (membership, points,
coupon_return, gift), for the audit: its own spend sums, level lookup, points per full yuan,
coupon tiers and gift classes, in loops over rows, with no code shared with ``policies/`` or
``money.py``. Returns the totals the engine reports, in cents and counts, for comparison."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from promo_cli.recompute_deposits import _months_later, _value


def _cents(yuan: Decimal) -> int:
    return int((yuan * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _points(cents: int, per_yuan: Decimal) -> int:
    return int(Decimal(abs(cents) // 100) * per_yuan // 1)


def recompute_loyalty(policy, purchases: pd.DataFrame, master: pd.DataFrame | None, as_of: date,
                      earlier: set[str] = frozenset()) -> dict:
    """The totals of one loyalty policy over the in-period ``purchases`` (``earlier``: the
    customers who bought before the period)."""
    records = purchases.to_dict("records")
    spend: dict[str, int] = defaultdict(int)
    for r in records:
        spend[r["customer_id"]] += int(r["amount"])
    people = {}
    if master is not None:
        for record in master.to_dict("records"):
            people.setdefault(record["customer_id"], record)
    kind = policy.type
    if kind == "membership":
        counts = {level.name: 0 for level in policy.levels}
        points = discount = 0
        for customer, cents in spend.items():
            level = None
            named = _value((people.get(customer) or {}).get("member_level")) if policy.use_master_level else None
            if named is not None:
                level = next((l for l in policy.levels if l.name == named), None)
            if level is None:
                for candidate in policy.levels:
                    if cents >= candidate.from_ * 100:
                        level = candidate
            if level is None:
                continue
            counts[level.name] += 1
            points += _points(max(cents, 0), level.points_per_yuan)
            discount += _cents(level.discount * Decimal(max(cents, 0)) / 100)
        return {"members_by_level": counts, "points": points, "discount_value": discount}
    if kind == "points":
        lots: dict[str, list[list]] = defaultdict(list)
        earned = taken = 0
        for r in sorted(records, key=lambda r: (pd.Timestamp(r["order_date"]).date(), r["order_id"])):
            day, cents = pd.Timestamp(r["order_date"]).date(), int(r["amount"])
            points = _points(cents, policy.points_per_yuan)
            if cents > 0:
                lots[r["customer_id"]].append([_months_later(day, policy.expiry_months)
                                               if policy.expiry_months else None, points])
                earned += points
            elif cents < 0:
                for lot in lots[r["customer_id"]]:
                    if points and (lot[0] is None or lot[0] > day):
                        take = min(lot[1], points)
                        lot[1] -= take
                        points -= take
                        taken += take
        expired = sum(p for ls in lots.values() for e, p in ls if e is not None and e <= as_of)
        balance = sum(p for ls in lots.values() for e, p in ls if e is None or e > as_of)
        return {"earned": earned, "taken_back": taken, "expired": expired, "balance": balance}
    if kind == "coupon_return":
        amounts = ([int(r["amount"]) for r in records] if policy.scope == "order" else list(spend.values()))
        values = []
        for cents in amounts:
            value = 0
            for tier in policy.tiers:
                if cents > 0 and cents >= tier.from_ * 100:
                    value = _cents(tier.coupon)
            if value:
                values.append(value)
        return {"coupons": len(values), "value": sum(values)}
    if kind == "gift":
        return _gifts(policy, spend, people, earlier)
    return {}


def _gifts(policy, spend: dict[str, int], people: dict, earlier: set[str]) -> dict:
    everyone = set(spend) | set(people)
    order = sorted(spend, key=lambda c: (-spend[c], c))
    place = {customer: n for n, customer in enumerate(order, start=1)}
    given: set[str] = set()
    recipients = total = 0
    card = _cents(policy.card_cost)
    for klass in policy.classes:
        rule, price = klass.rule, _cents(klass.unit_price)
        cut = rule.top_n if rule.top_n is not None else None
        if rule.top_percent is not None:
            cut = math.ceil(rule.top_percent * len(order))
        for customer in sorted(everyone, key=lambda c: (place.get(c, math.inf), c)):
            if customer in given:
                continue
            if rule.channel and _value((people.get(customer) or {}).get("channel")) != rule.channel:
                continue
            if rule.min_spend is not None and spend.get(customer, 0) < _cents(rule.min_spend):
                continue
            if rule.bought_in_period and customer not in spend:
                continue
            if rule.returning and (customer not in spend or customer not in earlier):
                continue
            if rule.customers is not None and customer not in rule.customers:
                continue
            if cut is not None and place.get(customer, math.inf) > cut:
                continue
            given.add(customer)
            recipients += 1
            total += klass.per_recipient * price + card
    return {"recipients": recipients, "total": total}
