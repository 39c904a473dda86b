"""``prepaid_deposit``: stored value in lots, with bonuses, caps, expiry, transfers, referrals.

Each deposit row opens a lot worth its amount plus the bonus of the highest tier that
single deposit reaches (rounded to the cent). A lot expires ``validity_months`` after
its deposit date (same day of month, clamped to the month's end) and cannot be used
from that day on. Rows are applied in date order, then ``txn_id``: a consume row draws
from the account's usable lots oldest first; a transfer moves lots (keeping their
expiry) to another account of the same customer or family. The simulation emits dated
events; every figure (totals, per-account roll-forward, daily series) is a sum of them.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

import pandas as pd

from promo_cli.model import Finding, Ledger, PrepaidDepositPolicy, finding
from promo_cli.money import format_amount, format_display, round_cents
from promo_cli.parallel import collector_paused

# Sign of each event kind in an account's balance.
SIGN = {"deposit": 1, "bonus": 1, "referral": 1, "consume": -1, "transfer_in": 1, "transfer_out": -1,
        "expire": -1}


@dataclass(slots=True)
class Lot:
    lot_id: str
    account: str
    customer: str
    opened: date
    expires: date | None
    source_row: int
    value: int               # cents the lot was opened (or transferred in) with
    remaining: int
    origin: str              # deposit | referral | transfer
    points: int = 0          # points its expired remainder has turned into by as-of


class Event(NamedTuple):
    day: date
    account: str
    customer: str
    kind: str
    cents: int
    txn_id: str
    row: int


@dataclass(slots=True)
class DepositResult:
    """What a prepaid policy computed, for the writers and summary.json."""

    policy: PrepaidDepositPolicy
    as_of: date
    events: list[Event] = field(default_factory=list)
    lots: list[Lot] = field(default_factory=list)
    cap_violations: list[dict] = field(default_factory=list)
    overdrafts: list[dict] = field(default_factory=list)
    costs: dict[str, int] = field(default_factory=dict)       # vouchers, gifts, discounts, referral gifts
    points: dict[str, int] = field(default_factory=dict)      # converted, to_convert
    # {customer: [(day, points)]}: expired deposit turned into points month by month (plan 001 §五)
    conversions: dict[str, list[tuple[date, int]]] = field(default_factory=dict)
    new_depositors: int = 0
    deposited_in_period: int = 0
    depositors: int = 0               # customers who deposited in the period
    returning_depositors: int = 0     # of them, those who had deposited before the period
    repeat_buyers: int = 0            # of them, those who paid from the deposit twice or more in the period
    _sums: tuple[int, dict[str, int]] | None = field(default=None, repr=False, compare=False)

    def total(self, kind: str) -> int:
        return self.by_kind().get(kind, 0)

    def by_kind(self) -> dict[str, int]:
        """Cents of the events of each kind (one pass over the events, again only once more are added)."""
        if self._sums is None or self._sums[0] != len(self.events):
            sums: dict[str, int] = defaultdict(int)
            for e in self.events:
                sums[e.kind] += e.cents
            self._sums = (len(self.events), dict(sums))
        return self._sums[1]

    def totals(self) -> dict[str, int]:
        """Whole-ledger totals up to as-of: closing = deposited + bonus − consumed − expired."""
        sums = self.by_kind()
        bonus = sums.get("bonus", 0) + sums.get("referral", 0)
        deposited, consumed, expired = sums.get("deposit", 0), sums.get("consume", 0), sums.get("expire", 0)
        return {"deposited": deposited, "bonus": bonus, "consumed": consumed, "expired": expired,
                "closing_balance": sum(lot.remaining for lot in self.lots if lot.remaining and
                                       not (lot.expires and lot.expires <= self.as_of))}


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def full_months(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (0 if end is before start + 1 month)."""
    if end < start:
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    return months if add_months(start, months) <= end else months - 1


def _tier(policy: PrepaidDepositPolicy, cents: int):
    reached = None
    for tier in policy.tiers:
        if Decimal(cents) / 100 >= tier.from_:
            reached = tier
    return reached


@collector_paused()
def apply_prepaid_deposit(policy: PrepaidDepositPolicy, ledger: Ledger, customers: Ledger | None,
                          period_start: date, period_end: date, as_of: date
                          ) -> tuple[DepositResult, list[Finding]]:
    """Simulate the deposit ledger up to ``as_of``; return the result and its findings."""
    result = DepositResult(policy, as_of)
    findings: list[Finding] = []
    frame = ledger.frame
    rows = frame[frame["txn_date"] <= pd.Timestamp(as_of)].sort_values(["txn_date", "txn_id"], kind="stable")
    # the master's columns as dicts (the first row of a customer, as a frame lookup would give)
    master = customers.frame.drop_duplicates("customer_id") if customers is not None else None
    known_ids = set(master["customer_id"]) if master is not None else set()
    master_columns = {column: {c: v for c, v in zip(master["customer_id"], master[column])
                               if isinstance(v, str) and v}
                      for column in ("referrer_id", "family_id") if master is not None and column in master}

    def known(customer: str) -> bool:
        return customer in known_ids

    def master_value(customer: str, column: str) -> str | None:
        return master_columns.get(column, {}).get(customer)

    owner: dict[str, str] = {}
    for account, customer in zip(frame["account_id"], frame["customer_id"]):
        owner.setdefault(account if isinstance(account, str) else customer, customer)
    lots: dict[str, list[Lot]] = defaultdict(list)
    member_tier: dict[str, object] = {}
    first_deposit_seen: set[str] = set()
    earlier_depositors = set(frame.loc[(frame["kind"] == "deposit") &
                                       (frame["txn_date"] < pd.Timestamp(period_start)), "customer_id"])
    deposits = frame[frame["kind"] == "deposit"]
    first_deposit_day = {customer: day.date() for customer, day in
                         deposits.groupby("customer_id")["txn_date"].min().items()}
    new_depositors: set[str] = set()
    costs = defaultdict(int)

    def event(day, account, customer, kind, cents, txn, row):
        if cents:
            result.events.append(Event(day, account, customer, kind, cents, txn, row))

    # Lots that can still be drawn, per account. Rows come in date order, so a lot spent or
    # expired by one row is so for every later row: each draw keeps only the live ones.
    live: dict[str, list[Lot]] = defaultdict(list)

    def usable(account: str, day: date) -> list[Lot]:
        still = [lot for lot in live[account] if lot.remaining > 0 and (lot.expires is None or day < lot.expires)]
        live[account] = still
        return list(still)

    def open_lot(lot: Lot) -> None:
        lots[lot.account].append(lot)
        live[lot.account].append(lot)

    # What depends on one value only is worked out once per distinct value (rows share days,
    # amounts and bills); the walk below is what must go row by row.
    expiry: dict[date, date | None] = {}
    tiers: dict[int, Any] = {}
    bonuses: dict[int, int] = {}
    caps: dict[int, int] = {}
    discounts: dict[tuple[int, int], int] = {}
    giveaways: dict[int, tuple[int, int]] = {}
    files = rows["_file"].tolist() if "_file" in rows else [None] * len(rows)
    days = rows["txn_date"].to_numpy(dtype="datetime64[D]").astype(object)
    for txn, account, customer, day, kind, cents, bill, to_account, approved, row, file in zip(
            rows["txn_id"].tolist(), rows["account_id"].tolist(), rows["customer_id"].tolist(), days,
            rows["kind"].tolist(), rows["amount"].tolist(), rows["bill_amount"].tolist(), rows["to_account"].tolist(),
            rows["approved"].tolist(), rows["_row"].tolist(), files):
        row, cents = int(row), int(cents)
        at = lambda column: ledger.at(column, row, file)  # noqa: E731 - the cell of this row
        account = account if isinstance(account, str) else customer
        if cents < 0:
            findings.append(finding("error", "deposit-negative", **at("amount"), value=cents / 100))
            continue
        if day not in expiry:
            expiry[day] = add_months(day, policy.validity_months) if policy.validity_months else None
        expires = expiry[day]
        if kind == "deposit":
            in_period = period_start <= day <= period_end
            # a deposit outside the period opens its lot at face value and earns nothing of the campaign
            if in_period and cents not in tiers:
                tiers[cents] = tier = _tier(policy, cents)
                bonuses[cents] = round_cents(tier.bonus_rate * Decimal(cents) / 100) if tier else 0
            tier = tiers[cents] if in_period else None
            bonus = bonuses[cents] if in_period else 0
            open_lot(Lot(txn, account, customer, day, expires, row, cents + bonus, cents + bonus, "deposit"))
            event(day, account, customer, "deposit", cents, txn, row)
            event(day, account, customer, "bonus", bonus, txn, row)
            if tier is not None:
                if id(tier) not in giveaways:
                    giveaways[id(tier)] = (round_cents(tier.voucher), round_cents(tier.gift))
                voucher, gift = giveaways[id(tier)]
                costs["vouchers"] += voucher
                costs["gifts"] += gift
                best = member_tier.get(account)
                if best is None or tier.from_ > best.from_:
                    member_tier[account] = tier
            if in_period:
                result.deposited_in_period += cents
                if customer not in earlier_depositors:
                    new_depositors.add(customer)
            else:
                findings.append(finding("warning", "deposit-outside-period", **at("txn_date"), txn=txn))
            referrer = master_value(customer, "referrer_id")
            if policy.referral and referrer and in_period and customer not in first_deposit_seen:
                findings += _referral(policy, customer, referrer, day, txn, row, account, expires,
                                      customer in earlier_depositors, first_deposit_day, open_lot, event, costs, at)
            if in_period:
                first_deposit_seen.add(customer)
        elif kind == "consume":
            if bill is None or pd.isna(bill):
                findings.append(finding("error", "consume-without-bill", **at("bill_amount"), txn=txn))
            else:
                bill = int(bill)
                if policy.deduction_cap is not None:
                    if bill not in caps:
                        cap = round_cents(policy.deduction_cap.rate * Decimal(bill) / 100)
                        if policy.deduction_cap.amount is not None:
                            cap = min(cap, round_cents(policy.deduction_cap.amount))
                        caps[bill] = cap
                    cap = caps[bill]
                    if cents > cap:
                        result.cap_violations.append({"txn_id": txn, "account": account, "day": day, "row": row,
                                                      "amount": cents, "bill": bill, "cap": cap})
                        findings.append(finding("warning", "cap-violation", **at("amount"), txn=txn,
                                                amount=format_display(cents), cap=format_display(cap),
                                                bill=format_display(bill)))
                tier = member_tier.get(account)
                if tier is not None and tier.discount is not None:
                    key = (id(tier), bill)
                    if key not in discounts:
                        discounts[key] = round_cents((1 - tier.discount) * Decimal(bill) / 100)
                    costs["discounts"] += discounts[key]
            drawn = _draw(usable(account, day), cents)
            for lot, part in drawn:
                lot.remaining -= part
            taken = sum(part for _, part in drawn)
            event(day, account, customer, "consume", taken, txn, row)
            if taken < cents:
                result.overdrafts.append({"txn_id": txn, "account": account, "day": day, "row": row,
                                          "amount": cents, "available": taken})
                findings.append(finding("error", "overdraft", **at("amount"), txn=txn,
                                        amount=format_display(cents), available=format_display(taken)))
        elif kind == "transfer":
            problem = _transfer_problem(policy, customer, to_account, approved, owner, known, master_value)
            if problem:
                code, params = problem
                column = "approved" if code == "transfer-unapproved" else "to_account"
                findings.append(finding("error", code, **at(column), txn=txn, **params))
                continue
            available = usable(account, day)
            if sum(lot.remaining for lot in available) < cents:
                findings.append(finding("error", "overdraft", **at("amount"), txn=txn,
                                        amount=format_display(cents),
                                        available=format_display(sum(lot.remaining for lot in available))))
                continue
            target_customer = owner.get(to_account, to_account)
            for lot, part in _draw(available, cents):
                lot.remaining -= part
                open_lot(Lot(f"{lot.lot_id}>{txn}", to_account, target_customer, lot.opened, lot.expires, row, part,
                             part, "transfer"))
            event(day, account, customer, "transfer_out", cents, txn, row)
            event(day, to_account, target_customer, "transfer_in", cents, txn, row)

    all_lots = [lot for account_lots in lots.values() for lot in account_lots]
    points = defaultdict(int)
    conversions: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for lot in all_lots:
        if lot.expires is not None and lot.expires <= as_of and lot.remaining > 0:
            event(lot.expires, lot.account, lot.customer, "expire", lot.remaining, lot.lot_id, lot.source_row)
            if policy.expiry_points is not None:
                whole = Decimal(lot.remaining) / 100 * policy.expiry_points.points_per_yuan
                rate, months = policy.expiry_points.monthly_rate, full_months(lot.expires, as_of)
                converted = 0
                for month in range(1, months + 1):    # each full month after expiry converts its share
                    so_far = _points(whole * min(Decimal(1), month * rate))
                    if so_far > converted:
                        conversions[lot.customer].append((add_months(lot.expires, month), so_far - converted))
                    converted = so_far
                    if month * rate >= 1:
                        break
                lot.points = converted
                points["converted"] += converted
                points["to_convert"] += _points(whole) - converted
    result.lots = all_lots
    result.costs = dict(costs)
    result.points = dict(points)
    result.conversions = {customer: sorted(days) for customer, days in conversions.items()}
    result.new_depositors = len(new_depositors)
    period_rows = rows[(rows["txn_date"] >= pd.Timestamp(period_start)) & (rows["txn_date"] <= pd.Timestamp(period_end))]
    depositors = set(period_rows.loc[period_rows["kind"] == "deposit", "customer_id"])
    purchases = period_rows[period_rows["kind"] == "consume"].groupby("customer_id").size()
    result.depositors = len(depositors)
    result.returning_depositors = len(depositors & earlier_depositors)
    result.repeat_buyers = sum(1 for customer in depositors if purchases.get(customer, 0) >= 2)
    return result, findings


def _referral(policy, customer, referrer, day, txn, row, account, expires, deposited_before, first_deposit_day,
              open_lot, event, costs, at) -> list[Finding]:
    """A referee's first in-period deposit: the extra bonus only for a new depositor (no deposit
    before the period), the referrer's gift only if the referrer had deposited by that day (the
    plan rewards 预存客户 who bring new ones). Each refusal is an info finding."""
    if deposited_before:
        return [finding("info", "referral-not-new", **at("customer_id"), customer=customer, referrer=referrer)]
    extra = round_cents(policy.referral.referee_bonus)
    if extra:
        open_lot(Lot(f"{txn}/referral", account, customer, day, expires, row, extra, extra, "referral"))
        event(day, account, customer, "referral", extra, txn, row)
    referrer_day = first_deposit_day.get(referrer)
    if referrer_day is None or referrer_day > day:
        return [finding("info", "referral-referrer-no-deposit", **at("customer_id"), customer=customer,
                        referrer=referrer)]
    costs["referral_gifts"] += round_cents(policy.referral.referrer_gift)
    return []


def _points(value: Decimal) -> int:
    """Loyalty points are whole numbers, rounded half-up."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _draw(lots: list[Lot], cents: int) -> list[tuple[Lot, int]]:
    """Take ``cents`` from lots oldest first (their order is their age); less if short."""
    taken = []
    for lot in sorted(lots, key=lambda lot: lot.opened):
        if cents <= 0:
            break
        part = min(lot.remaining, cents)
        taken.append((lot, part))
        cents -= part
    return taken


def _transfer_problem(policy, customer, to_account, approved, owner, known, master_value):
    """Return (finding code, params) when a transfer may not be applied, else None."""
    if not isinstance(to_account, str) or not to_account:
        return "transfer-without-target", {}
    if to_account not in owner and not known(to_account):
        return "transfer-unknown-account", {"target": to_account}
    if policy.transfers.require_approval and approved is not True:
        return "transfer-unapproved", {"target": to_account}
    target_customer = owner.get(to_account, to_account)
    if target_customer == customer:
        return None
    family, other = master_value(customer, "family_id"), master_value(target_customer, "family_id")
    if policy.transfers.within == "family" and family and family == other:
        return None
    return "transfer-outside-family", {"target": to_account}


def expiring_within(lots: list[Lot], as_of: date, days: int) -> dict[str, int]:
    """Per account, the value of lots that expire in the ``days`` after as-of."""
    horizon = as_of + timedelta(days=days)
    out: dict[str, int] = defaultdict(int)
    for lot in lots:
        if lot.remaining and lot.expires is not None and as_of < lot.expires <= horizon:
            out[lot.account] += lot.remaining
    return out


def _ratio(part: int | Decimal, whole: int | Decimal | None) -> str | None:
    if not whole:
        return None
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def deposit_costs(result: DepositResult) -> dict[str, int]:
    """The campaign's cost in cents: bonus given, referral bonus, vouchers, gifts, discounts, referral gifts."""
    return {"bonus": result.total("bonus"), "referral_bonus": result.total("referral"),
            **{k: result.costs.get(k, 0) for k in ("vouchers", "gifts", "discounts", "referral_gifts")}}


def deposits_json(result: DepositResult) -> dict[str, Any]:
    """The pinned keys first (CONTRACT.md section 4), then what finance needs besides."""
    totals = result.totals()
    target = result.policy.target
    return {
        **{key: format_amount(totals[key]) for key in ("deposited", "bonus", "consumed", "expired",
                                                     "closing_balance")},
        "cap_violations": len(result.cap_violations),
        "overdrafts": len(result.overdrafts),
        "referral_bonus": format_amount(result.total("referral")),
        "transferred": format_amount(result.total("transfer_out")),
        "costs": {key: format_amount(cents) for key, cents in deposit_costs(result).items()},
        "points": {"converted": result.points.get("converted", 0), "to_convert": result.points.get("to_convert", 0)},
        "deposited_in_period": format_amount(result.deposited_in_period),
        "new_depositors": result.new_depositors,
        "depositors": result.depositors,
        "returning_depositors": result.returning_depositors,
        "returning_ratio": _ratio(result.returning_depositors, result.depositors),
        "repeat_purchase_rate": _ratio(result.repeat_buyers, result.depositors),
        "target": {
            "deposited": None if target is None or target.deposited is None else format_amount(round_cents(target.deposited)),
            "deposited_achievement": None if target is None or target.deposited is None
            else _ratio(Decimal(result.deposited_in_period) / 100, target.deposited),
            "new_customers": None if target is None else target.new_customers,
            "new_customers_achievement": None if target is None else _ratio(result.new_depositors, target.new_customers),
        },
    }
