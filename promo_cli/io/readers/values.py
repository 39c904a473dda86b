"""Typing of a ledger's cells: every mapped column to integer cents, dates, ids or text,
exactly, and every cell that cannot be typed as a finding at its Excel row and column.

Shared by every format. Besides the cells themselves it judges the rows: ragged text rows
(more or fewer fields than the header, with the likely cause), values in a column without a
header, total lines under the data (skipped and checked), and cells the inspection found to
hold no usable value (uncalculated formulas, ``#N/A``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import compute as pc
from xlsxwriter.utility import xl_col_to_name

from promo_cli.io import cells
from promo_cli.io.columns import ARROW_TEXT, LEDGER_COLUMNS, Column
from promo_cli.io.readers.table import Table, blank, blank_rows
from promo_cli.model import Finding, finding
from promo_cli.money import format_amount, format_display, parse_decimal, round_cents, to_cents

# Problems of one kind in one column past this many are summed up in one finding.
MAX_FINDINGS_PER_COLUMN = 20
# A row that says this, with its id cells empty, is a total line (合计 / 總計 / Total …).
_TOTAL_WORDS = re.compile(r"^\s*(本页|本頁|全部|总|總)?(合计|合計|总计|總計|小计|小計|累计|累計|汇总|匯總|总额|總額)"
                          r"|^\s*(sub\s*)?totals?\b|^\s*grand\s+total", re.IGNORECASE)
_EARLIEST = np.datetime64("1900-01-01", "s")
_THOUSANDS = re.compile(r"^[+-]?[¥￥]?\d{1,3}$")
_THOUSANDS_TAIL = re.compile(r"^\d{3}(\.\d+)?$|^\d{3}$")

_PARSERS: dict[str, Callable[[object], object]] = {
    "id": cells.parse_id,
    "text": cells.parse_text,
    "money": lambda v: parse_decimal(v),
    "number": cells.parse_number,
    "date": cells.parse_date,
    "bool": cells.parse_bool,
    "deposit_kind": cells.parse_deposit_kind,
    "channel": cells.parse_channel,
    "payout_method": cells.parse_payout_method,
}
_BAD_VALUE_CODE = {"money": "not-a-number", "number": "not-a-number", "date": "not-a-date",
                   "id": "bad-value", "text": "bad-value", "bool": "bad-value",
                   "deposit_kind": "bad-value", "channel": "bad-value", "payout_method": "bad-value"}
# Reasons a parser gives that deserve a finding of their own.
_REASON_CODE = {"decimal-comma": "decimal-comma", "zero-date": "zero-date", "time-without-date": "time-without-date"}
# Amount texts read without Decimal: at most 13 digits before the point (15 significant
# digits in all), so the nearest double is exact to the cent.
_PLAIN_AMOUNT_TEXT = r"-?[0-9]{1,13}(?:\.[0-9]{1,2})?"
_PLAIN_INTEGER_TEXT = r"-?[0-9]{1,15}"


class _Reporter:
    """Findings about cells, at most MAX_FINDINGS_PER_COLUMN of a kind per column; the rest counted."""

    def __init__(self, name: str, sheet: str | None) -> None:
        self.name, self.sheet = name, sheet
        self.findings: list[Finding] = []
        self.counts: dict[tuple[str, str], int] = defaultdict(int)

    def many(self, code: str, header: str, letter: str, rows: np.ndarray, values,
             severity: str = "error", blocking: bool = True, params=None) -> None:
        """Report ``code`` at every Excel row in ``rows`` (``values[i]`` the cell at ``rows[i]``;
        ``params(i)`` extra parameters of the i-th)."""
        key = (code, header)
        room = max(MAX_FINDINGS_PER_COLUMN - self.counts[key], 0)
        self.counts[key] += len(rows)
        for i in range(min(room, len(rows))):
            row = int(rows[i])
            self.findings.append(finding(severity, code, file=self.name, sheet=self.sheet, row=row,
                                         column=header, value=values[i], blocking=blocking,
                                         cell=f"{letter}{row}", **(params(i) if params else {})))


def _type_column(raw: pd.Series, column: Column, blank: np.ndarray, rows: np.ndarray,
                 header: str, letter: str, report: _Reporter, unusable: np.ndarray | None = None):
    """Type one column: vectorised for what fast readers give nearly always, cell by cell
    (each distinct value parsed once) for the rest. Cells in ``unusable`` (reported already)
    count as failed. Returns the values for the frame."""
    kind, n = column.kind, len(raw)
    unusable = np.zeros(n, dtype=bool) if unusable is None else unusable
    done = blank | unusable
    if column.required and blank.any():
        where = np.flatnonzero(blank)
        report.many("missing-value", header, letter, rows[where], [None] * len(where))
    if kind == "money":
        out = np.zeros(n, dtype=np.int64)
        if raw.dtype == np.float64:
            numbers = raw.to_numpy()
        elif raw.dtype != object:
            plain = raw.str.fullmatch(_PLAIN_AMOUNT_TEXT).fillna(False).to_numpy(dtype=bool)
            numbers = np.full(n, np.nan)
            numbers[plain] = raw[plain].astype("float64").to_numpy()
        else:
            numbers = None
        if numbers is not None:
            with np.errstate(invalid="ignore"):
                cents = np.rint(numbers * 100)
                exact = ~done & (np.abs(cents) < 2**52) & (cents / 100 == numbers)
            out[exact] = cents[exact].astype(np.int64)
            done |= exact
    elif kind == "date":
        out = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
        if raw.dtype.kind == "M":
            days = raw.to_numpy().astype("datetime64[D]").astype("datetime64[s]")
            ok = ~done & (days >= _EARLIEST)     # serial 0 and bare times sit before 1900
            out[ok] = days[ok]
            done |= ok
        elif raw.dtype != object:
            iso = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce").to_numpy().astype("datetime64[s]")
            ok = ~done & ~np.isnat(iso)
            out[ok] = iso[ok]
            done |= ok
    else:
        out = np.full(n, None, dtype=object)
        if kind in ("id", "text"):
            if raw.dtype == np.float64:
                numbers = raw.to_numpy()
                whole = ~done & (numbers == np.floor(numbers)) & (np.abs(numbers) < 2**53)
                out[whole] = numbers[whole].astype(np.int64).astype(str).astype(object)
                done |= whole
            elif raw.dtype != object:
                # ids that hold invisible characters, odd spaces, full-width forms or Excel's
                # ="…" guard are normalised cell by cell (and noted); the rest as they are
                odd = (raw.str.contains(cells.ODD_ID_PATTERN, regex=True).fillna(False).to_numpy(dtype=bool)
                       if kind == "id" else np.zeros(n, dtype=bool))
                if column.name in ARROW_TEXT:     # stays Arrow text, missing where blank
                    text = raw.str.strip()
                    if odd.any():
                        fixed = np.full(n, None, dtype=object)
                        rest = np.flatnonzero(odd & ~done)
                        bad = _parse_cells(raw.iloc[rest].to_numpy(dtype=object), rest, fixed, column, rows,
                                           header, letter, report)
                        text = text.where(~odd, pd.Series(fixed, dtype="str"))
                        return text.where(~blank & ~unusable & ~_at(n, rest[bad]))
                    return text.where(~blank & ~unusable)
                texts = _python_texts(raw.str.strip())
                out[~done & ~odd] = texts[~done & ~odd]
                done |= ~odd
        elif kind == "number":
            if raw.dtype == np.float64:
                numbers = raw.to_numpy()
                whole = ~done & (numbers == np.floor(numbers)) & (np.abs(numbers) < 2**53)
                out[whole] = numbers[whole].astype(np.int64).astype(object)
                done |= whole
            elif raw.dtype != object:
                plain = raw.str.fullmatch(_PLAIN_INTEGER_TEXT).fillna(False).to_numpy(dtype=bool) & ~done
                out[plain] = raw[plain].astype("int64").to_numpy().astype(object)
                done |= plain
    failed = np.zeros(n, dtype=bool)
    rest = np.flatnonzero(~done)
    if rest.size:
        failed[rest] = _parse_cells(raw.iloc[rest].to_numpy(dtype=object), rest, out, column, rows,
                                    header, letter, report)
    if kind == "money":
        return pd.arrays.IntegerArray(out, blank | failed | unusable)
    return out


def _at(n: int, positions: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[positions] = True
    return mask


def _python_texts(texts: pd.Series) -> np.ndarray:
    """Arrow text as Python strings (None where missing). A column that repeats its values
    (customer ids, names, groups) gets one string object per distinct value rather than one
    per row: a million-row ledger's customer columns then take megabytes, not hundreds."""
    head = texts.iloc[:10_000]
    if head.nunique() * 2 > len(head):       # nearly all different (order ids): nothing to share
        return texts.to_numpy(dtype=object, na_value=None)
    codes, distinct = pd.factorize(texts)
    return np.append(distinct.to_numpy(dtype=object), None)[codes]


def _parse_cells(values: np.ndarray, positions: np.ndarray, out: np.ndarray, column: Column,
                 rows: np.ndarray, header: str, letter: str, report: _Reporter) -> np.ndarray:
    """Parse cells one distinct value at a time into ``out`` at ``positions``; bad ones become
    findings at their rows. Returns which of them could not be parsed."""
    parse = _PARSERS[column.kind]
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    parsed: list[object] = []
    errors: dict[int, str] = {}
    rounded: dict[int, int] = {}
    changed: dict[int, str] = {}
    for u, value in enumerate(uniques):
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        try:
            result = parse(value)
        except ValueError as exc:
            errors[u] = str(exc)
            parsed.append(None)
            continue
        if column.kind == "id" and isinstance(value, str) and result != value.strip():
            changed[u] = result
        if column.kind == "money":
            cents = round_cents(result)
            if result.as_tuple().exponent < -2 and result * 100 != cents:
                rounded[u] = cents
            result = cents
        elif column.kind == "date":
            result = np.datetime64(result, "s")
        parsed.append(result)
    failed = np.isin(codes, list(errors))
    distinct = np.empty(len(parsed), dtype=object)     # one slot per value: no nested lists
    distinct[:] = parsed
    ok = ~failed
    out[positions[ok]] = distinct[codes[ok]]
    for code in sorted({_REASON_CODE.get(reason, _BAD_VALUE_CODE[column.kind]) for reason in errors.values()}):
        kinds = [u for u, reason in errors.items() if _REASON_CODE.get(reason, _BAD_VALUE_CODE[column.kind]) == code]
        where = np.flatnonzero(np.isin(codes, kinds))
        report.many(code, header, letter, rows[positions[where]], values[where],
                    params=lambda i: {"reason": (errors[codes[where[i]]], ())})   # a phrase of messages.WHY
    if changed:
        where = np.flatnonzero(np.isin(codes, list(changed)))
        report.many("id-normalised", header, letter, rows[positions[where]], values[where],
                    severity="info", blocking=False,
                    params=lambda i: {"read_as": changed[codes[where[i]]], "shown": visible(values[where[i]])})
    if rounded:
        where = np.flatnonzero(np.isin(codes, list(rounded)))
        report.many("amount-rounded", header, letter, rows[positions[where]], values[where],
                    severity="warning", blocking=False,
                    params=lambda i: {"rounded": format_amount(rounded[codes[where[i]]])})
    return failed




# zero-width characters, soft hyphens, and every space but the plain one
_HIDDEN = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]|[^\S ]")


def visible(value: object) -> str:
    """A cell's text with invisible and odd spaces spelt out: ``C001<U+200B>``."""
    return "".join(f"<U+{ord(ch):04X}>" if not ch.isprintable() or _HIDDEN.match(ch) else ch for ch in str(value))


def build_frame(table: Table, columns: dict[int, Column], role: str, name: str, part: int = 0
                ) -> tuple[pd.DataFrame, list[Finding]]:
    """Type every cell of the mapped columns; collect findings instead of stopping.

    ``part`` (the sheet's index among the ledger's sheets) is folded into ``_row`` as
    ``part * ROW_STRIDE + Excel row`` (see :class:`promo_cli.model.Ledger`)."""
    from promo_cli.model import ROW_STRIDE
    report = _Reporter(name, table.sheet)
    findings: list[Finding] = [finding("info", code, file=name, sheet=table.sheet, **params)
                               for code, params in table.notes]
    keep = ~blank_rows(table.columns)
    total_rows, footer = _total_rows(table, columns, keep)
    keep &= ~total_rows & ~footer
    findings += _judge_rows(table, columns, keep, name)
    unplaced = sum(1 for (_, col) in table.special if col < 0)
    if unplaced:   # the sheet has no cell references: the cells cannot be named, only counted
        findings.append(finding("error", "formula-not-calculated-somewhere", file=name, sheet=table.sheet,
                                blocking=True, count=unplaced))
    kept = np.flatnonzero(keep)
    rows = table.first_row + kept
    data: dict[str, object] = {"_row": pd.Series(rows + part * ROW_STRIDE, dtype="int64")}
    for position, column in columns.items():
        raw = table.columns[position]
        if len(kept) != len(raw):
            raw = raw.iloc[kept].reset_index(drop=True)
        letter = xl_col_to_name(table.first_col + position)
        header = cells.parse_text(table.header[position])
        special = _special_cells(table, position)
        unusable = np.isin(rows, list(special)) if special else None
        empty = blank(raw)
        if unusable is not None:
            empty &= ~unusable     # not empty: Excel shows a value the file does not hold
            for i in np.flatnonzero(unusable):
                kind, text = special[int(rows[i])]
                report.many("formula-not-calculated" if kind == "formula" else "cell-error", header, letter,
                            rows[i:i + 1], [text])
        values = _type_column(raw, column, empty, rows, header, letter, report, unusable)
        data[column.name] = (pd.Series(values, dtype="Int64") if column.kind == "money"
                             else pd.Series(values) if column.kind == "date"
                             else pd.Series(values, dtype="str") if column.name in ARROW_TEXT
                             else pd.Series(values, dtype=object))
    findings += sorted(report.findings, key=_reading_order)
    for (code, header), count in report.counts.items():
        if count > MAX_FINDINGS_PER_COLUMN:
            sample = next(f for f in report.findings if f.code == code and f.column == header)
            findings.append(finding(sample.severity, "more-like-this", file=name, sheet=table.sheet,
                                    column=sample.column, blocking=sample.blocking,
                                    count=count - MAX_FINDINGS_PER_COLUMN, like=code))
    frame = pd.DataFrame(data)
    findings += _check_totals(table, columns, total_rows, footer, rows,
                              data["amount"] if "amount" in data else None, name)
    for column in LEDGER_COLUMNS[role]:  # optional columns absent from the file: all empty
        if column.name not in frame:
            frame[column.name] = pd.Series([None] * len(frame), dtype="Int64" if column.kind == "money"
                                           else "datetime64[s]" if column.kind == "date" else object)
    return frame, findings


def _special_cells(table: Table, position: int) -> dict[int, tuple[str, str]]:
    """{Excel row: (kind, text)} of the cells without a usable value in one column."""
    column = table.first_col + position
    return {row: kind for (row, col), kind in table.special.items() if col == column}


def _id_positions(columns: dict[int, Column]) -> list[int]:
    return [p for p, c in columns.items() if c.required and c.kind in ("id", "date")]


def _row_texts(table: Table, i: int) -> list[str]:
    return [cells.parse_text(c.iloc[i]) for c in table.columns if not cells.is_blank(c.iloc[i])]


_ANY_TOTAL_WORD = "(?i)(合计|合計|总计|總計|小计|小計|累计|累計|汇总|匯總|总额|總額|total)"


def _has_total_word(column: pd.Series) -> np.ndarray:
    """Cells whose text holds a word of _TOTAL_WORDS anywhere (a wider net than the exact rule,
    which the rows it catches are then held to)."""
    if isinstance(column.dtype, pd.ArrowDtype) and pa.types.is_string(column.dtype.pyarrow_dtype) \
            or isinstance(column.dtype, pd.StringDtype):
        texts = pa.array(column, type=pa.string(), from_pandas=True)
        return pc.fill_null(pc.match_substring_regex(texts, _ANY_TOTAL_WORD), False).to_numpy(zero_copy_only=False)
    if column.dtype == object:
        return np.fromiter((isinstance(v, str) and re.search(_ANY_TOTAL_WORD, v) is not None for v in column),
                           dtype=bool, count=len(column))
    return np.zeros(len(column), dtype=bool)        # numbers and dates hold no words


def _total_rows(table: Table, columns: dict[int, Column], keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which rows are total lines (a cell says 合计/总计/小计/total and the other id and date
    cells are empty), and which rows under the last total line are footer notes (制表人,
    打印时间: at most two cells, an id or date cell empty, no amount)."""
    n = len(keep)
    totals, footer = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    key = _id_positions(columns)
    if not key or not n:
        return totals, footer
    empty = np.column_stack([blank(table.columns[p]) for p in key])
    # only a row with one of the words anywhere can be a total line: found a column at a time
    worded = np.zeros(n, dtype=bool)
    for column in table.columns:
        worded |= _has_total_word(column)
    for i in np.flatnonzero(keep & (empty.sum(axis=1) >= len(key) - 1) & worded):
        said = [j for j, c in enumerate(table.columns)
                if not cells.is_blank(c.iloc[i]) and _TOTAL_WORDS.search(cells.parse_text(c.iloc[i]))]
        if said and all(empty[i, k] or p in said for k, p in enumerate(key)):
            totals[i] = True
    if totals.any():
        last = int(np.flatnonzero(totals)[-1])
        no_money = np.ones(n, dtype=bool)
        for p, c in columns.items():
            if c.kind == "money":       # a row with an amount is never a note: it is read, or refused
                no_money &= blank(table.columns[p])
        for i in np.flatnonzero(keep[last + 1:] & empty[last + 1:].any(axis=1) & no_money[last + 1:]) + last + 1:
            footer[i] = len(_row_texts(table, int(i))) <= 2
    return totals, footer


def _check_totals(table: Table, columns: dict[int, Column], totals: np.ndarray, footer: np.ndarray,
                  rows: np.ndarray, amounts: pd.Series | None, name: str) -> list[Finding]:
    """An info finding for every total line skipped, its amount checked against the typed
    amounts of the data rows above it (since the previous total line for a 小计 subtotal);
    a difference is a blocking error. ``rows``/``amounts``: the data rows and their cents."""
    out: list[Finding] = []
    money = next((p for p, c in columns.items() if c.name == "amount"), None)
    running = np.concatenate([[0], np.cumsum(amounts.fillna(0).to_numpy(dtype=np.int64))]) \
        if amounts is not None else None
    since = 0                                   # rows of data above the previous total line
    for i in np.flatnonzero(totals):
        row = table.first_row + int(i)
        label = next(t for t in _row_texts(table, int(i)) if _TOTAL_WORDS.search(t))
        where: dict = {"file": name, "sheet": table.sheet, "row": row}
        stated = None
        if money is not None:
            letter = xl_col_to_name(table.first_col + money)
            where.update(cell=f"{letter}{row}", column=cells.parse_text(table.header[money]))
            try:
                stated = to_cents(table.columns[money].iloc[i]) if not cells.is_blank(table.columns[money].iloc[i]) \
                    else None
            except ValueError:
                stated = None
        above = int(np.searchsorted(rows, row))     # data rows above this line
        subtotal = bool(re.search(r"小计|小計|sub", label, re.IGNORECASE))
        if stated is not None and running is not None:
            added = int(running[above] - running[since if subtotal else 0])
            if stated != added:
                out.append(finding("error", "total-row-differs", **where, blocking=True, label=label,
                                   stated=format_display(stated), added=format_display(added)))
                since = above
                continue
        out.append(finding("info", "total-row-skipped", **where, label=label,
                           stated="—" if stated is None else format_display(stated)))
        since = above
    if footer.any():
        out.append(finding("info", "footer-rows-skipped", file=name, sheet=table.sheet,
                           row=table.first_row + int(np.flatnonzero(footer)[0]), count=int(footer.sum())))
    return out


def _judge_rows(table: Table, columns: dict[int, Column], keep: np.ndarray, name: str) -> list[Finding]:
    """Ragged text rows and values under no header: blocking errors, since every cell of such a
    row may sit under the wrong header."""
    out: list[Finding] = []
    named = [j for j, h in enumerate(table.header) if not cells.is_blank(h)]
    fields = named[-1] + 1 if named else 0          # the header's fields, trailing blanks aside
    ragged = np.zeros(len(keep), dtype=bool)
    if table.widths is not None:
        for i in np.flatnonzero(keep & (table.widths != fields)):
            width = int(table.widths[i])
            row_cells = [table.columns[j].iloc[i] for j in range(width)]
            if width > fields and all(cells.is_blank(v) for v in row_cells[fields:]):
                continue        # trailing empty fields: nothing is misplaced
            ragged[i] = True
            if ragged.sum() > MAX_FINDINGS_PER_COLUMN:
                continue
            row = table.first_row + int(i)
            merged = _unquoted_thousands(row_cells, fields)
            if merged is not None:
                column, text = merged
                out.append(finding("error", "unquoted-thousands", file=name, row=row, blocking=True,
                                   column=cells.parse_text(table.header[column]), cell=f"{xl_col_to_name(column)}{row}",
                                   value=text, fields=width, headers=fields))
            else:
                out.append(finding("error", "ragged-row", file=name, row=row, blocking=True,
                                   fields=width, headers=fields))
        if ragged.sum() > MAX_FINDINGS_PER_COLUMN:
            out.append(finding("error", "more-like-this", file=name, blocking=True,
                               count=int(ragged.sum()) - MAX_FINDINGS_PER_COLUMN, like="ragged-row"))
    for position, header in enumerate(table.header):
        if position in columns or not cells.is_blank(header) or position >= len(table.columns):
            continue
        values = ~blank(table.columns[position]) & keep & ~ragged
        if values.any():
            i = int(np.flatnonzero(values)[0])
            row = table.first_row + i
            letter = xl_col_to_name(table.first_col + position)
            out.append(finding("error", "value-without-header", file=name, sheet=table.sheet, row=row,
                               cell=f"{letter}{row}", value=table.columns[position].iloc[i], blocking=True,
                               letter=letter, count=int(values.sum())))
    return out


def _unquoted_thousands(fields: list[object], headers: int) -> tuple[int, str] | None:
    """Where a row has more fields than headers because an amount like 3,985.35 was written
    without quotes: (the amount's column, the amount as written), if joining such pieces gives
    exactly ``headers`` fields."""
    texts = ["" if v is None else str(v).strip() for v in fields]
    j, merged, first = 0, [], None
    while j < len(texts):
        if len(merged) + (len(texts) - j) > headers and _THOUSANDS.match(texts[j]) and j + 1 < len(texts) \
                and _THOUSANDS_TAIL.match(texts[j + 1]):
            text = texts[j]
            while len(merged) + (len(texts) - j) > headers and j + 1 < len(texts) and _THOUSANDS_TAIL.match(texts[j + 1]):
                text += "," + texts[j + 1]
                j += 1
            first = (len(merged), text) if first is None else first
            merged.append(text)
        else:
            merged.append(texts[j])
        j += 1
    return first if first is not None and len(merged) == headers else None


def _reading_order(f: Finding) -> tuple:
    """Row by row, then left to right, as a clerk reads the sheet."""
    letters = (f.cell or "").rstrip("0123456789")
    return (f.row or 0, len(letters), letters)
