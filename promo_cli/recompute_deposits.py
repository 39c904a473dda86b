"""A second, deliberately plain implementation of ``prepaid_deposit``, for the audit.

Plan 000 §十.2 asks for a double review of everything paid or given away; a deposit campaign
gives away bonuses, vouchers, gifts, discounts and referral rewards, and holds customers'
money. This module walks the deposit ledger again, row by row, with its own month arithmetic,
tier lookup, lot draw and transfer rules (no code shared with ``policies/prepaid_deposit.py``
or ``money.py``), and returns the figures the audit compares with the engine's.
"""

from __future__ import annotations

import calendar
import functools
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from promo_cli.model import PrepaidDepositPolicy
from promo_cli.recompute import plain_records
from promo_cli.parallel import collector_paused

FIGURES = ("deposited", "bonus", "consumed", "expired", "closing_balance", "vouchers", "gifts", "discounts",
           "referral_gifts", "cap_violations")


@functools.lru_cache(maxsize=65536)         # rows repeat amounts and days: each worked out once
def _cents(yuan: Decimal) -> int:
    return int((yuan * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@functools.lru_cache(maxsize=65536)
def _months_later(day: date, months: int) -> date:
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, day.day if day.day <= last else last)


def _value(v):
    return None if v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT else v


@collector_paused()
def recompute_deposits(policy: PrepaidDepositPolicy, frame: pd.DataFrame, master: pd.DataFrame | None,
                       start: date, end: date, as_of: date) -> dict:
    """{figure: cents (a count for cap_violations)} and ``accounts``: {account: closing cents}."""
    people = {}
    if master is not None:
        for record in plain_records(master, ("customer_id", "family_id", "referrer_id")):
            people.setdefault(record["customer_id"], record)
    records = plain_records(frame)
    owner: dict[str, str] = {}
    first_deposit: dict[str, date] = {}
    deposited_before: set[str] = set()
    for r in records:
        account = _value(r.get("account_id")) or r["customer_id"]
        owner.setdefault(account, r["customer_id"])
        if r["kind"] == "deposit" and _value(r["txn_date"]) is not None:
            day = r["txn_date"]
            if r["customer_id"] not in first_deposit or day < first_deposit[r["customer_id"]]:
                first_deposit[r["customer_id"]] = day
            if day < start:
                deposited_before.add(r["customer_id"])
    todo = sorted((r for r in records if r["txn_date"] is not None and r["txn_date"] <= as_of),
                  key=lambda r: (r["txn_date"], r["txn_id"]))

    out = dict.fromkeys(FIGURES, 0)
    lots: dict[str, list[list]] = defaultdict(list)     # per account: [opened, expires, left]
    gone: dict[str, list[list]] = defaultdict(list)     # per account: lots spent or expired, set aside
    member: dict[str, Decimal] = {}                       # account → the 'from' of its best tier reached
    member_discount: dict[str, Decimal | None] = {}
    rewarded: set[str] = set()

    def usable(account: str, day: date) -> list[list]:
        live = [lot for lot in lots[account] if lot[2] > 0 and (lot[1] is None or day < lot[1])]
        spent = len(lots[account]) - len(live)
        if spent:                       # rows come in date order: spent or expired now, so for every later row
            gone[account] += [lot for lot in lots[account] if not (lot[2] > 0 and (lot[1] is None or day < lot[1]))]
            lots[account] = live
        return sorted(live, key=lambda lot: lot[0])

    for r in todo:
        day = r["txn_date"]
        customer, cents = r["customer_id"], int(r["amount"])
        account = _value(r.get("account_id")) or customer
        if cents < 0:
            continue
        expires = _months_later(day, policy.validity_months) if policy.validity_months else None
        if r["kind"] == "deposit":
            out["deposited"] += cents
            inside = start <= day <= end
            reached = None
            for tier in policy.tiers if inside else []:
                if Decimal(cents) >= tier.from_ * 100:
                    reached = tier
            bonus = _cents(reached.bonus_rate * Decimal(cents) / 100) if reached else 0
            lots[account].append([day, expires, cents + bonus])
            out["bonus"] += bonus
            if reached is not None:
                out["vouchers"] += _cents(reached.voucher)
                out["gifts"] += _cents(reached.gift)
                if account not in member or reached.from_ > member[account]:
                    member[account], member_discount[account] = reached.from_, reached.discount
            referrer = _value((people.get(customer) or {}).get("referrer_id"))
            if policy.referral and referrer and inside and customer not in rewarded:
                if customer not in deposited_before:
                    extra = _cents(policy.referral.referee_bonus)
                    if extra:
                        lots[account].append([day, expires, extra])
                        out["bonus"] += extra
                    if referrer in first_deposit and first_deposit[referrer] <= day:
                        out["referral_gifts"] += _cents(policy.referral.referrer_gift)
            if inside:
                rewarded.add(customer)
        elif r["kind"] == "consume":
            bill = _value(r.get("bill_amount"))
            if bill is not None:
                bill = int(bill)
                if policy.deduction_cap is not None:
                    cap = _cents(policy.deduction_cap.rate * Decimal(bill) / 100)
                    if policy.deduction_cap.amount is not None:
                        cap = min(cap, _cents(policy.deduction_cap.amount))
                    out["cap_violations"] += cents > cap
                if member_discount.get(account) is not None:
                    out["discounts"] += _cents((1 - member_discount[account]) * Decimal(bill) / 100)
            want = cents
            for lot in usable(account, day):
                take = min(lot[2], want)
                lot[2] -= take
                want -= take
                if not want:
                    break
            out["consumed"] += cents - want
        elif r["kind"] == "transfer":
            target = _value(r.get("to_account"))
            if not _allowed(policy, customer, target, r.get("approved"), owner, people):
                continue
            live = usable(account, day)
            if sum(lot[2] for lot in live) < cents:
                continue
            want = cents
            for lot in live:
                take = min(lot[2], want)
                if take:
                    lot[2] -= take
                    lots[target].append([lot[0], lot[1], take])
                    want -= take
    accounts: dict[str, int] = defaultdict(int)
    conversions: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for account in list(lots) + [a for a in gone if a not in lots]:
        for opened, expires, left in gone[account] + lots[account]:
            if expires is not None and expires <= as_of:
                out["expired"] += left
                if policy.expiry_points is not None and left:
                    conversions[owner.get(account, account)] += _converted(policy.expiry_points, left, expires, as_of)
            else:
                accounts[account] += left
    out["closing_balance"] = sum(accounts.values())
    out["points_converted"] = sum(points for days in conversions.values() for _, points in days)
    out["accounts"] = {a: c for a, c in accounts.items() if c}
    out["conversions"] = {customer: sorted(days) for customer, days in conversions.items()}
    return out


def _converted(rule, left: int, expires: date, as_of: date) -> list[tuple[date, int]]:
    """The points an expired lot turns into, one entry per full month after its expiry up to as-of:
    each month converts ``monthly_rate`` more of it, at ``points_per_yuan``, whole points half-up."""
    out, before, month = [], 0, 1
    while before < _whole(Decimal(left) * rule.points_per_yuan / 100):
        day = _months_later(expires, month)
        if day > as_of:
            break
        share = min(Decimal(1), rule.monthly_rate * month)
        now = _whole(Decimal(left) * rule.points_per_yuan / 100 * share)
        if now > before:
            out.append((day, now - before))
        before, month = now, month + 1
        if share == 1:
            break
    return out


def _whole(points: Decimal) -> int:
    return int(points.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _allowed(policy: PrepaidDepositPolicy, customer: str, target, approved, owner: dict, people: dict) -> bool:
    """May this transfer move value: a known target, approved if required, the same customer or
    (with ``within: family``) the same family."""
    if not isinstance(target, str) or not target or (target not in owner and target not in people):
        return False
    rules = policy.transfers
    if rules is not None and rules.require_approval and approved is not True:
        return False
    receiver = owner.get(target, target)
    if receiver == customer:
        return True
    family = _value((people.get(customer) or {}).get("family_id"))
    return bool(rules is not None and rules.within == "family" and family
                and family == _value((people.get(receiver) or {}).get("family_id")))
