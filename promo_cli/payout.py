"""Payout: the stage after the history. From an approved run to a batch of what finance pays
or offsets, and the journal that books it.

Plain functions over typed data; nothing here reads files, prints or touches the history.
A customer's amount in a batch = its approved rebate to date − what earlier batches of the
campaign paid or offset for it (a line confirmed failed counts as unpaid), so paying twice
from one approval is impossible and a failed payment is due again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from promo_cli.history import BatchLine
from promo_cli.model import Accounting, Finding, finding
from promo_cli.money import format_display

PAID_OUT = ("bank", "ewallet", "cheque")      # money leaves the bank account
IN_BANK_FILE = ("bank", "ewallet")            # lines the bank or e-wallet file carries
ON_ACCOUNT = ("offset", "goods")              # settled against the customer's account or in goods


@dataclass(frozen=True, slots=True)
class PayoutLine:
    """One customer in a batch. ``sheet`` is ``payout`` (money paid) or ``offsets``
    (claw-backs, 账扣 and 货补: settled on the account, never in the bank file)."""

    customer_id: str
    customer_name: str
    amount: int                      # cents; negative = claw-back
    payout_method: str
    bank_name: str
    account_name: str
    account_no: str
    reference: str

    @property
    def sheet(self) -> str:
        return "payout" if self.amount > 0 and self.payout_method in PAID_OUT else "offsets"

    @property
    def state(self) -> str:
        """What the history records until the bank answers."""
        return "sent" if self.sheet == "payout" else "offset"

    def recorded(self) -> BatchLine:
        return BatchLine(self.customer_id, self.amount, self.payout_method, self.reference, self.state)


@dataclass(frozen=True, slots=True)
class JournalLine:
    day: date
    voucher: str
    account: str
    account_name: str
    customer_id: str
    debit: int                       # cents
    credit: int
    memo: str


def plan_batch(batch: int, campaign_id: str, approved: dict[str, int], paid: dict[str, int],
               master: pd.DataFrame | None, names: dict[str, str]) -> tuple[list[PayoutLine], list[Finding]]:
    """The batch's lines (customer id order) and findings: a customer paid by bank or e-wallet
    without an account number, or with no payout method at all, is held back with an error."""
    people = {}
    if master is not None:
        for row in master.to_dict("records"):
            people.setdefault(row["customer_id"], row)
    lines, findings = [], []
    for customer in sorted(set(approved) | set(paid)):
        amount = approved.get(customer, 0) - paid.get(customer, 0)
        if amount == 0:
            continue
        person = people.get(customer, {})
        method = person.get("payout_method") or ""
        name = names.get(customer) or _text(person.get("customer_name"))
        if amount > 0 and not method:
            findings.append(finding("error", "payout-no-method", customer=customer, amount=format_display(amount)))
            continue
        account_no = _text(person.get("account_no"))
        if amount > 0 and method in IN_BANK_FILE and not account_no:
            findings.append(finding("error", "payout-no-account", customer=customer, amount=format_display(amount),
                                    method=(f"method-{method}", ())))
            continue
        lines.append(PayoutLine(customer, name, amount, method or "offset", _text(person.get("bank_name")),
                                _text(person.get("account_name")) or name, account_no,
                                f"{campaign_id}-{batch:03d}-{len(lines) + 1:04d}"))
    return lines, findings


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def accruals(approved: dict[str, int], accrued: dict[str, int]) -> dict[str, int]:
    """{customer: cents} of approved rebate not yet accrued in an earlier batch's journal
    (negative: an approval that lowered a customer's rebate)."""
    out = {}
    for customer in sorted(set(approved) | set(accrued)):
        change = approved.get(customer, 0) - accrued.get(customer, 0)
        if change:
            out[customer] = change
    return out


def journal(batch: int, day: date, accounts: Accounting, accrued: dict[str, int], lines: list[PayoutLine],
            reversed_lines: list[BatchLine], memo: str) -> list[JournalLine]:
    """Double-entry lines: voucher 1 accrues the approved rebate (expense against the payable
    to each customer), voucher 2 books the payout (the payable against the bank, the customer's
    receivable or the goods; a claw-back the other way), voucher 3 reverses payments the bank
    returned since the last batch. Every voucher balances."""
    out: list[JournalLine] = []
    voucher = f"返{batch:03d}-1"
    expense = sum(accrued.values())
    if accrued:
        out.append(_entry(day, voucher, accounts.expense, "", expense, memo))
        for customer, cents in accrued.items():
            out.append(_entry(day, voucher, accounts.payable, customer, -cents, memo))
    voucher = f"返{batch:03d}-2"
    for line in lines:
        other = (accounts.goods if line.payout_method == "goods" else accounts.receivable
                 if line.payout_method == "offset" or line.amount < 0 else accounts.bank)
        out.append(_entry(day, voucher, accounts.payable, line.customer_id, line.amount, f"{memo} {line.reference}"))
        out.append(_entry(day, voucher, other, line.customer_id if other is accounts.receivable else "",
                          -line.amount, f"{memo} {line.reference}"))
    voucher = f"返{batch:03d}-3"
    for line in reversed_lines:
        out.append(_entry(day, voucher, accounts.bank, "", line.amount, f"退回 {line.reference}"))
        out.append(_entry(day, voucher, accounts.payable, line.customer_id, -line.amount, f"退回 {line.reference}"))
    return out


def _entry(day: date, voucher: str, account, customer: str, cents: int, memo: str) -> JournalLine:
    """A debit for a positive amount, a credit for a negative one."""
    return JournalLine(day, voucher, account.code, account.name, customer, max(cents, 0), max(-cents, 0), memo)
