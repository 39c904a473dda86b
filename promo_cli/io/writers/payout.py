"""The files of a payout batch: payout.xlsx (Payout, Offsets), payout_batch.csv for the bank or
e-wallet, journal.csv, and statements/<customer>.xlsx (返利对账单, one A4 page where it fits)."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Sequence

import pandas as pd

from promo_cli.i18n import label
from promo_cli.io.writers.sheet import (
    Col,
    Styles,
    close_book,
    display_width,
    guard_text,
    new_workbook,
    write_table,
    write_title,
)
from promo_cli.money import cents_to_decimal, format_amount
from promo_cli.payout import IN_BANK_FILE, JournalLine, PayoutLine

BANK_HEADER = ["reference", "customer_id", "payee_name", "bank_name", "account_no", "amount", "memo"]
JOURNAL_HEADER = ["date", "voucher", "account", "account_name", "customer_id", "debit", "credit", "memo"]
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def write_payout_book(path: Path, pairs: Sequence[tuple[str, str]], lines: list[PayoutLine], lang: str) -> None:
    """Payout (money paid, one row per customer) and Offsets (claw-backs, 账扣, 货补)."""
    L = lambda key: label(key, lang)  # noqa: E731
    book = new_workbook(path)
    styles = Styles(book)
    columns = [Col(L("customer_id"), "id", width=16), Col(L("customer_name"), "text"),
               Col(L("amount"), "money", total=True),
               Col(L("payout_method"), "text"), Col(L("bank_name"), "text"), Col(L("account_name"), "text"),
               Col(L("account_no"), "id"), Col(L("reference"), "id")]
    for name, title, kind in (("Payout", L("payout_title"), "payout"), ("Offsets", L("offsets_title"), "offsets")):
        sheet = book.add_worksheet(name)
        top = write_title(sheet, styles, title, pairs)
        rows = [[l.customer_id, l.customer_name, l.amount, L(f"method-{l.payout_method}"), l.bank_name,
                 l.account_name, l.account_no, l.reference] for l in lines if l.sheet == kind]
        # an empty table gets no totals row: a SUM over its own row would be a circular reference
        write_table(sheet, styles, columns, rows or [[L("none")]], top=top,
                    totals_label=L("total") if rows else None)
    close_book(book)


def write_bank_file(path: Path, lines: list[PayoutLine], memo: str) -> None:
    """The bank or e-wallet lines, UTF-8 with BOM, the pinned header, ids as text."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(BANK_HEADER)
        for l in lines:
            if l.sheet == "payout" and l.payout_method in IN_BANK_FILE:
                writer.writerow([guard_text(v) for v in (l.reference, l.customer_id, l.account_name, l.bank_name,
                                                        l.account_no)] + [format_amount(l.amount), guard_text(memo)])


def write_journal(path: Path, entries: list[JournalLine]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(JOURNAL_HEADER)
        for e in entries:
            writer.writerow([e.day.isoformat(), e.voucher, guard_text(e.account), guard_text(e.account_name),
                             guard_text(e.customer_id), format_amount(e.debit), format_amount(e.credit),
                             guard_text(e.memo)])


def statement_names(customers: list[str]) -> dict[str, str]:
    """{customer id: file name inside statements/}: never a path, never a name Windows reserves,
    never two customers in one file."""
    names, used = {}, set()
    for customer in customers:
        base = _UNSAFE.sub("_", customer).strip(" .") or "_"
        if base.split(".")[0].upper() in _RESERVED or base.startswith("."):
            base = "_" + base
        name, n = base, 1
        while name.casefold() in used:
            n += 1
            name = f"{base}~{n}"
        used.add(name.casefold())
        names[customer] = f"{name}.xlsx"
    return names


def write_statement(path: Path, pairs: Sequence[tuple[str, str]], by_policy: list[tuple[str, int]],
                    figures: list[tuple[str, int]], lines: pd.DataFrame | None, lang: str) -> None:
    """A customer's rebate statement (返利对账单): who and what period, the rebate to date by
    policy, what earlier batches paid, this payout, and the lines that explain it."""
    L = lambda key: label(key, lang)  # noqa: E731
    book = new_workbook(path)
    styles = Styles(book)
    sheet = book.add_worksheet(L("statement_sheet"))
    top = write_title(sheet, styles, L("statement_title"), pairs)
    layout = write_table(sheet, styles, [Col(L("policy"), "text", width=28), Col(L("rebate_to_date"), "money", total=True)],
                         by_policy, top=top, totals_label=L("total_rebate"))
    r = layout["totals_row"] + 2
    for key, cents in figures:
        sheet.write_string(r, 0, key, styles.label)
        sheet.write_number(r, 1, cents_to_decimal(cents), styles.money)
        r += 1
    if lines is not None and len(lines):
        note_width = 44
        layout = write_table(sheet, styles, [Col(L("policy"), "text", width=24), Col(L("rebate"), "money", width=12),
                                             Col(L("note"), "longtext", width=note_width),
                                             Col(L("source"), "text", width=26)],
                             lines[["policy", "rebate", "note", "source"]].itertuples(index=False), top=r + 1,
                             secondary=True)
        for i, note in enumerate(lines["note"]):     # a wrapped explanation gets the lines it needs
            needed = -(-display_width(str(note or "")) // (note_width - 2))
            if needed > 1:
                sheet.set_row(layout["first"] + i, 15 * needed)
    sheet.set_portrait()
    sheet.set_paper(9)                  # A4, one page wide
    sheet.fit_to_pages(1, 0)
    close_book(book)
