"""A second, deliberately plain implementation of the loyalty policies (membership, points,
coupon_return, gift), for the audit: its own spend sums, level lookup, points per full yuan,
coupon tiers and gift classes, in loops over rows, with no code shared with ``policies/`` or
``money.py``. Returns the totals the engine reports, in cents and counts, for comparison."""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from promo_cli.recompute import inside, plain_records
from promo_cli.recompute_deposits import _months_later, _value
from promo_cli.parallel import collector_paused


@functools.lru_cache(maxsize=65536)         # the same amounts come back row after row
def _cents(yuan: Decimal) -> int:
    return int((yuan * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@functools.lru_cache(maxsize=65536)
def _points(cents: int, per_yuan: Decimal) -> int:
    return int(Decimal(abs(cents) // 100) * per_yuan // 1)


PURCHASE_COLUMNS = ("order_id", "customer_id", "order_date", "amount", "points_redeemed", "product")
MASTER_COLUMNS = ("customer_id", "channel", "member_level")


@collector_paused()
def recompute_loyalty(policy, purchases: pd.DataFrame | list[dict], master: pd.DataFrame | None, as_of: date,
                      history: pd.DataFrame | None = None, start: date | None = None,
                      conversions: dict | None = None, products: pd.DataFrame | None = None) -> dict:
    """The totals of one loyalty policy over the in-period ``purchases`` (a frame, or its
    :func:`plain_records` of PURCHASE_COLUMNS, made once for all the campaign's policies);
    ``history``: every purchase known (the baseline ledger too), to find who bought before
    ``start``; ``conversions``: {customer: [(day, points)]} of expired deposits turned into points."""
    records = purchases if isinstance(purchases, list) else plain_records(purchases, PURCHASE_COLUMNS)
    if policy.applies_to is not None:
        records = [r for r, counted in zip(records, inside(policy.applies_to, records, master, products)) if counted]
    earlier = set()
    if history is not None and start is not None:
        for customer, day in zip(history["customer_id"].tolist(),
                                 history["order_date"].to_numpy(dtype="datetime64[D]").astype(object)):
            if day is not None and day < start:
                earlier.add(customer)
    spend: dict[str, int] = defaultdict(int)
    for r in records:
        spend[r["customer_id"]] += int(r["amount"])
    people = {}
    if master is not None:
        for record in plain_records(master, MASTER_COLUMNS):
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
        return _points_walk(policy, records, conversions or {}, as_of)
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


def _points_walk(policy, records: list[dict], conversions: dict, as_of: date) -> dict:
    """Points as lots [expires, left, from a purchase]: purchases earn, returns take back from
    purchase lots, conversions add on their day, redemptions spend; oldest first."""
    until = functools.lru_cache(maxsize=None)(      # many rows share a day
        lambda day: _months_later(day, policy.expiry_months) if policy.expiry_months else None)
    walk = []
    for r in sorted(records, key=lambda r: (r["order_date"], r["order_id"])):
        walk.append((r["order_date"], 0, r["customer_id"], int(r["amount"]),
                     _value(r.get("points_redeemed"))))
    for customer, days in conversions.items():
        walk += [(day, 1, customer, 0, points) for day, points in days if day <= as_of]
    walk.sort(key=lambda w: (w[0], w[1]))
    lots: dict[str, list[list]] = defaultdict(list)
    out = dict.fromkeys(("earned", "taken_back", "converted", "expired", "redeemed", "balance"), 0)

    def alive(lot, day):
        return lot[1] > 0 and (lot[0] is None or lot[0] > day)

    def take(customer, day, wanted, purchases_only):
        got = 0
        for lot in lots[customer]:
            if got < wanted and alive(lot, day) and (lot[2] or not purchases_only):
                part = min(lot[1], wanted - got)
                lot[1] -= part
                got += part
        return got

    value = policy.yuan_per_point
    for day, conversion, customer, cents, extra in walk:
        if conversion:
            lots[customer].append([until(day), extra, False])
            out["converted"] += extra
            continue
        redeemed_here = extra is not None and extra > 0 and extra == int(extra)
        if cents > 0:
            paid = cents
            if redeemed_here and value is not None:
                paid = max(0, cents - _cents(int(extra) * value))
            lots[customer].append([until(day), _points(paid, policy.points_per_yuan), True])
            out["earned"] += _points(paid, policy.points_per_yuan)
        elif cents < 0 and policy.on_return != "none":
            owed = _points(cents, policy.points_per_yuan)
            if policy.on_return == "all":
                owed = sum(lot[1] for lot in lots[customer] if lot[2] and alive(lot, day))
            got = take(customer, day, owed, True)
            if policy.on_return == "allow_negative" and got < owed:
                lots[customer].append([None, got - owed, True])
                got = owed
            out["taken_back"] += got
        if redeemed_here:
            out["redeemed"] += take(customer, day, int(extra), False)
    for customer_lots in lots.values():
        for expires, left, _ in customer_lots:
            out["expired" if expires is not None and expires <= as_of else "balance"] += left
    if policy.yuan_per_point is not None:
        out["cost"] = _cents((out["redeemed"] + out["balance"]) * policy.yuan_per_point)
    return out


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
