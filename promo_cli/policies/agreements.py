"""Per-customer agreements: an optional ``agreements`` ledger for customers whose contract differs
from the campaign's default (issue 20, item 6).

Each row names a customer, a policy, either a ``rate`` or a ``tiers`` table (``0:1%;100000:2%``)
and optionally ``valid_from`` / ``valid_to``. The customer's purchase rows dated inside that
window are settled with the agreement's table (a tiered policy: as a ladder of their own; an
on-time policy: at the agreement's rate); rows outside it with the campaign's. Group purchases
have no per-customer agreement. Every row that cannot be applied is a blocking finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pandas as pd

from promo_cli.model import PLAUSIBLE_RATE, Finding, Ledger, Tier, finding
from promo_cli.money import parse_rate


@dataclass(frozen=True, slots=True)
class Agreement:
    key: str                   # names its table on the Lines: 协议@<ledger row>
    customer: str
    tiers: tuple[Tier, ...]
    valid_from: date | None
    valid_to: date | None

    def covers(self, days: pd.Series) -> pd.Series:
        inside = pd.Series(True, index=days.index)
        if self.valid_from is not None:
            inside &= days >= pd.Timestamp(self.valid_from)
        if self.valid_to is not None:
            inside &= days <= pd.Timestamp(self.valid_to)
        return inside


def parse_tiers(text: str) -> tuple[Tier, ...]:
    """``0:1%;100000:2%`` (or ``；`` ``|`` between tiers, ``：`` inside) as tiers; ValueError if not."""
    tiers = []
    for item in (part for part in re.split(r"[;；|]", text) if part.strip()):
        lower, _, rate = re.split(r"([:：])", item.strip(), maxsplit=1) if re.search(r"[:：]", item) else (item, "", "")
        if not rate:
            raise ValueError(item)
        tiers.append(Tier.model_validate({"from": lower.strip(), "rate": rate.strip()}))
    if not tiers or tiers[0].from_ != 0 or any(b.from_ <= a.from_ for a, b in zip(tiers, tiers[1:])):
        raise ValueError(text)
    return tuple(tiers)


def read_agreements(ledger: Ledger | None, policies) -> tuple[dict[str, list[Agreement]], list[Finding]]:
    """{policy id: agreements}, and a blocking finding for each row that cannot be applied."""
    if ledger is None:
        return {}, []
    types = {p.id: p.type for p in policies}
    out: dict[str, list[Agreement]] = {}
    findings: list[Finding] = []
    frame = ledger.frame
    for record in frame.to_dict("records"):
        row, policy, customer = int(record["_row"]), record.get("policy"), record["customer_id"]
        rate, table = _text(record.get("rate")), _text(record.get("tiers"))
        where = ledger.at("policy", row)
        problem = None
        if policy not in types:
            problem = "agreement-unknown-policy"
        elif types[policy] not in ("tiered", "on_time_payment"):
            problem = "agreement-policy-type"
        elif (rate is None) == (table is None):
            problem = "agreement-rate-or-tiers"
        elif types[policy] == "on_time_payment" and table is not None:
            problem = "agreement-rate-or-tiers"
        if problem is None:
            try:
                tiers = parse_tiers(table) if table is not None else (
                    Tier.model_validate({"from": "0", "rate": str(parse_rate(rate))}),)
            except (ValueError, TypeError):
                problem = "agreement-bad-table"
        if problem is not None:
            findings.append(finding("error", problem, **where, blocking=True, customer=customer, policy=policy or "",
                                    value=table or rate or ""))
            continue
        if any(t.rate > PLAUSIBLE_RATE for t in tiers):
            findings.append(finding("warning", "agreement-rate-implausible", **where, customer=customer, policy=policy,
                                    value=table or rate))
        start, end = record.get("valid_from"), record.get("valid_to")
        agreement = Agreement(f"协议@{row % 10_000_000}", customer, tiers, _day(start), _day(end))
        for other in out.get(policy, []):
            if other.customer == customer and _overlap(other, agreement):
                findings.append(finding("error", "agreement-overlap", **where, blocking=True, customer=customer,
                                        policy=policy, value=""))
        out.setdefault(policy, []).append(agreement)
    return out, findings


def agreement_keys(agreements: list[Agreement], purchases: pd.DataFrame) -> pd.Series:
    """Per purchase row, the key of the agreement that covers it ("" where none does)."""
    keys = pd.Series("", index=purchases.index, dtype=object)
    for agreement in agreements:
        mine = (purchases["customer_id"] == agreement.customer) & agreement.covers(purchases["order_date"])
        keys[mine.to_numpy()] = agreement.key
    return keys


def _overlap(a: Agreement, b: Agreement) -> bool:
    start = max(a.valid_from or date.min, b.valid_from or date.min)
    end = min(a.valid_to or date.max, b.valid_to or date.max)
    return start <= end


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def _day(value) -> date | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    return pd.Timestamp(value).date()


