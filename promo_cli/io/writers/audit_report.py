"""``audit_report.xlsx``: Findings, Reconciliation and Inputs (fingerprints)."""

from __future__ import annotations

import getpass
from datetime import datetime
from pathlib import Path

import pandas as pd

from promo_cli import __version__
from promo_cli.i18n import engine_text, label
from promo_cli.io.writers import sheet as sheet_layout
from promo_cli.io.writers.rebate_detail import title_pairs
from promo_cli.io.writers.sheet import (
    Cents,
    Col,
    Styles,
    close_book,
    cell,
    new_workbook,
    write_detail,
    write_table,
    write_title,
)
from promo_cli.messages import message
from promo_cli.model import SEVERITIES, Settlement
from promo_cli.money import cents_to_decimal


def run_by() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def write_audit_report(s: Settlement, path: Path, lang: str, generated_at: datetime, side=None,
                       detail_rows: int | None = None, detail_format: str = "csv") -> None:
    """Write the audit report workbook to ``path``."""
    book = new_workbook(path)
    styles = Styles(book)
    L = lambda key: label(key, lang)  # noqa: E731

    sheet = book.add_worksheet("Findings")
    counts = {sev: sum(1 for f in s.findings if f.severity == sev) for sev in SEVERITIES}
    top = write_title(sheet, styles, L("findings"), title_pairs(s, lang, generated_at)
                      + [(L(sev), str(counts[sev])) for sev in SEVERITIES])
    columns = [Col(L("severity"), "text"), Col(L("code"), "text"), Col(L("message"), "longtext", width=60),
               Col(L("file"), "text"), Col(L("sheet"), "text"), Col(L("row"), "int"),
               Col(L("column"), "text"), Col(L("cell"), "text"), Col(L("value"), "text")]
    order = {sev: i for i, sev in enumerate(SEVERITIES)}
    ordered = sorted(s.findings, key=lambda f: (order[f.severity], f.code, f.file or "", f.row or 0))
    write_table(sheet, styles, columns,
                [[L(f.severity), f.code, message(f, lang), f.file, f.sheet, f.row, f.column, f.cell, f.value]
                 for f in ordered], top=top)

    sheet = book.add_worksheet("Reconciliation")
    columns = [Col(L("check"), "text"), Col(L("book_figure"), "number"), Col(L("check_figure"), "number"),
               Col(L("difference"), "formula"), Col(L("agrees"), "text")]
    rows = []
    for key, expected, actual, unit in s.reconciliation:
        name = L(key) if ":" not in key else f"{L(key.split(':')[0])}: {_figure(key.split(':', 1)[1], lang)}"
        kind = Cents if unit == "money" else int
        rows.append([name, kind(expected), kind(actual), None, L("yes") if expected == actual else L("no")])

    def difference(r: int, j: int):
        _, expected, actual, _, _ = rows[r - 1]
        change = actual - expected
        return f"={cell(r, 2)}-{cell(r, 1)}", cents_to_decimal(change) if isinstance(expected, Cents) else change

    write_table(sheet, styles, columns, rows, row_formula=difference)

    columns = [Col(L("customer_id"), "id"), Col(L("policy"), "text"), Col(L("engine"), "money", total=True),
               Col(L("recomputed"), "money", total=True), Col(L("difference"), "formula"),
               Col(L("agrees"), "text")]
    rows = [[customer, policy, ours, theirs, None, L("yes") if ours == theirs else L("no")]
            for customer, policy, ours, theirs in s.recomputed]

    def difference(r: int, j: int):
        _, _, ours, theirs, _, _ = rows[r - 1]
        cached = cents_to_decimal((theirs or 0) - (ours or 0))
        return f"={cell(r, 3)}-{cell(r, 2)}", cached

    limit = sheet_layout.DETAIL_ROWS_LIMIT if detail_rows is None else detail_rows
    if not limit or len(rows) <= limit:
        write_table(book.add_worksheet("Recompute"), styles, columns, rows, totals_label=L("total"),
                    row_formula=difference)
    else:
        engine = pd.array([r[2] for r in rows], dtype="Int64")
        recomputed = pd.array([r[3] for r in rows], dtype="Int64")
        table = pd.DataFrame({"customer": [r[0] for r in rows], "policy": [r[1] for r in rows], "engine": engine,
                              "recomputed": recomputed, "difference": recomputed.fillna(0) - engine.fillna(0),
                              "agrees": [r[5] for r in rows]})
        write_detail(book, styles, "Recompute", columns[:4] + [Col(L("difference"), "money")] + columns[5:],
                     len(table), lambda start, stop: table.iloc[start:stop], side, "recompute.csv",
                     L(f"detail_in_{detail_format}"), limit=limit, fmt=detail_format)

    sheet = book.add_worksheet("Inputs")
    columns = [Col(L("role"), "text"), Col(L("path"), "text"), Col(L("sheet"), "text"),
               Col(L("rows"), "int"), Col("SHA-256", "text")]
    rows = [[L("campaign_file"), str(s.campaign_path), None, None, s.campaign_sha256]]
    rows += [[L(f"role-{l.role}"), str(l.path), l.sheet, l.rows, l.sha256] for l in s.ledgers.present()]
    layout = write_table(sheet, styles, columns, rows)
    r = layout["last"] + 2
    for i, (key, value) in enumerate([(L("tool_version"), f"promo {__version__}"),
                                      (L("as_of"), f"{s.as_of:%Y-%m-%d}"),
                                      (L("settled_on"), engine_text(s.engine, lang)),
                                      (L("generated_at"), f"{generated_at:%Y-%m-%d %H:%M:%S}"),
                                      (L("run_by"), (s.run or {}).get("run_by") or run_by())]):
        sheet.write_string(r + i, 0, key, styles.label)
        sheet.write_string(r + i, 1, value, styles.text)
    close_book(book)


# A recomputed figure's name (``members members_by_level 银卡``) in words: its policy id, then
# each known figure key as its label (a key that names a count here rather than an amount first).
_FIGURE_LABELS = {"coupons": "coupons_issued", "members_by_level": "customer_count", "value": "amount",
                  "closing_balance": "closing", "cap_violations": "cap-violation", "points_converted": "converted_points",
                  "accounts": "accounts_agreeing"}


def _figure(text: str, lang: str) -> str:
    policy, *parts = text.split(" ")
    return " ".join([policy] + [label(_FIGURE_LABELS.get(part, part), lang) for part in parts])
