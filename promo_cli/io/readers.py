"""Read a ledger file (xlsx, xls, csv) into a typed frame plus findings.

``read_ledger(path, role) -> (Ledger | None, findings)``. Nothing here raises for bad
input: every problem becomes a finding that names the file, sheet, Excel row (header
= 1) and column. The returned frame has canonical column names and ``_row``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Callable

import pandas as pd
from python_calamine import CalamineWorkbook, PasswordError
from xlsxwriter.utility import xl_col_to_name

from promo_cli.io import cells
from promo_cli.io.columns import LEDGER_COLUMNS, Column, header_index, normalise_header
from promo_cli.io.inspect import Limits, Unreadable, inspect_workbook, sniff
from promo_cli.model import Finding, Ledger, finding
from promo_cli.money import format_amount, parse_decimal, round_cents

_PLAIN_AMOUNT = re.compile(r"(-?)([0-9]{1,15})(?:\.([0-9]{1,2}))?\Z")
# Problems of one kind in one column past this many are summed up in one finding.
MAX_FINDINGS_PER_COLUMN = 20

UNIQUE_KEY = {"purchases": "order_id", "payments": "payment_id", "deposits": "txn_id",
              "customers": "customer_id"}



@dataclass(frozen=True, slots=True)
class _Table:
    """Raw cells of one sheet (or a CSV): ``rows[i]`` is at Excel row ``first_row + i``."""

    sheet: str | None
    rows: list[list[object]]
    first_row: int
    first_col: int
    header: tuple[str, ...] = ()


def read_ledger(path: Path, role: str, limits: Limits = Limits()) -> tuple[Ledger | None, list[Finding]]:
    """Read and type one ledger; returns None with blocking findings if it is unusable."""
    name = path.name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [finding("error", "file-not-found", file=str(path), blocking=True, role=role)]
    except IsADirectoryError:
        return None, [finding("error", "file-is-folder", file=str(path), blocking=True, role=role)]
    except OSError as exc:
        return None, [finding("error", "file-unreadable", file=name, blocking=True,
                              reason=exc.strerror or str(exc))]
    if not raw.strip():
        return None, [finding("error", "file-empty", file=name, blocking=True, role=role)]
    sha = hashlib.sha256(raw).hexdigest()

    findings: list[Finding] = []
    kind = sniff(raw)
    expected = _EXTENSIONS.get(path.suffix.lower())
    if expected and expected != kind:
        findings.append(finding("info", "mislabelled", file=name, extension=path.suffix.lower(),
                                actual=_KIND_NAMES[kind]))
    try:
        tables = _read_tables(raw, kind, limits)
    except Unreadable as exc:
        return None, findings + [finding("error", exc.code, file=name, blocking=True, **exc.params)]

    table, columns, problems = _pick_table(tables, role, name)
    if table is None:
        return None, findings + problems
    frame, cell_findings = _build_frame(table, columns, role, name)
    headers = {c.name: (table.header[p], xl_col_to_name(table.first_col + p)) for p, c in columns.items()}
    return Ledger(role=role, path=path, sheet=table.sheet, frame=frame, sha256=sha,
                  headers=headers), findings + cell_findings


_EXTENSIONS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "ole", ".csv": "text", ".txt": "text"}
_KIND_NAMES = {"xlsx": "xlsx", "ole": "xls", "text": "CSV"}


def _read_tables(raw: bytes, kind: str, limits: Limits) -> list[_Table]:
    """Return the visible worksheets of a workbook, or the CSV as one table."""
    if kind == "text":
        return [_read_csv(raw)]
    inspect_workbook(raw, limits)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(raw))
        tables = []
        for meta in workbook.sheets_metadata:
            if str(meta.typ).endswith("WorkSheet") and str(meta.visible).endswith("Visible"):
                sheet = workbook.get_sheet_by_name(meta.name)
                start = sheet.start
                if start is None:
                    tables.append(_Table(meta.name, [], 1, 0))
                    continue
                tables.append(_Table(meta.name, sheet.to_python(), start[0] + 1, start[1]))
        return tables
    except BaseException as exc:  # calamine raises many types, and pyo3 panics are BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
            raise
        if isinstance(exc, PasswordError):
            raise Unreadable("workbook-password") from None
        raise Unreadable("workbook-corrupt", reason=f"{type(exc).__name__}: {exc}"[:300]) from None


def _read_csv(raw: bytes) -> _Table:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Unreadable("not-a-ledger", reason="neither UTF-8 nor GB18030 text")
    if "\x00" in text[:4096]:
        raise Unreadable("not-a-ledger", reason="binary data")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count)
    try:
        # Records as Excel numbers them (a quoted line break stays inside its record).
        rows: list[list[object]] = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise Unreadable("csv-malformed", reason=str(exc)) from None
    return _Table(None, rows, 1, 0)


def _header_row(table: _Table) -> int | None:
    for i, row in enumerate(table.rows):
        if any(not cells.is_blank(v) for v in row):
            return i
    return None


def _pick_table(tables: list[_Table], role: str, name: str
                ) -> tuple[_Table | None, dict[int, Column], list[Finding]]:
    """Choose the first sheet whose header has every required column of ``role``."""
    index = header_index(role)
    first_problem: list[Finding] | None = None
    for table in tables:
        head_at = _header_row(table)
        if head_at is None:
            first_problem = first_problem or [finding(
                "error", "sheet-empty", file=name, sheet=table.sheet, blocking=True)]
            continue
        header = table.rows[head_at]
        columns: dict[int, Column] = {}
        problems: list[Finding] = []
        seen: dict[str, int] = {}
        row_number = table.first_row + head_at
        for position, cell in enumerate(header):
            if cells.is_blank(cell):
                continue
            column = index.get(normalise_header(cell))
            if column is None:
                continue  # unknown columns are kept in the file and ignored here
            if column.name in seen:
                problems.append(finding(
                    "error", "duplicate-column", file=name, sheet=table.sheet, row=row_number,
                    column=str(cell), blocking=True, canonical=column.name,
                    other=str(header[seen[column.name]])))
                continue
            seen[column.name] = position
            columns[position] = column
        required = [c for c in LEDGER_COLUMNS[role] if c.required]
        missing = [c for c in required if c.name not in seen]
        if missing == required:
            shown = " | ".join(cells.parse_text(c) for c in header if not cells.is_blank(c))
            problems.append(finding(
                "error", "not-this-ledger", file=name, sheet=table.sheet, row=row_number,
                blocking=True, role=role, needed=", ".join(c.name for c in required),
                header=shown[:120]))
            missing = []
        for column in missing:
            problems.append(finding(
                "error", "missing-column", file=name, sheet=table.sheet, row=row_number,
                column=column.name, blocking=True, role=role,
                aliases=", ".join((column.name,) + column.aliases[:4])))
        if not problems:
            data = _Table(table.sheet, table.rows[head_at + 1:], row_number + 1, table.first_col,
                          tuple(cells.parse_text(c) if not cells.is_blank(c) else "" for c in header))
            return data, columns, []
        first_problem = first_problem or problems
    if not tables:
        first_problem = [finding("error", "sheet-empty", file=name, blocking=True)]
    return None, {}, first_problem or []


_PARSERS: dict[str, Callable[[object], object]] = {
    "id": cells.parse_id,
    "text": cells.parse_text,
    "money": lambda v: parse_decimal(v),
    "number": cells.parse_number,
    "date": cells.parse_date,
    "bool": cells.parse_bool,
    "deposit_kind": cells.parse_deposit_kind,
    "channel": cells.parse_channel,
}
_BAD_VALUE_CODE = {"money": "not-a-number", "number": "not-a-number", "date": "not-a-date",
                   "id": "bad-value", "text": "bad-value", "bool": "bad-value",
                   "deposit_kind": "bad-value", "channel": "bad-value"}


def _build_frame(table: _Table, columns: dict[int, Column], role: str, name: str
                 ) -> tuple[pd.DataFrame, list[Finding]]:
    """Type every cell of the mapped columns; collect findings instead of stopping."""
    findings: list[Finding] = []
    counts: dict[tuple[str, str], int] = defaultdict(int)

    def report(code: str, header: str, letter: str, row: int, value: object,
               severity: str = "error", blocking: bool = True, **params) -> None:
        counts[(code, header)] += 1
        if counts[(code, header)] <= MAX_FINDINGS_PER_COLUMN:
            findings.append(finding(severity, code, file=name, sheet=table.sheet, row=row,
                                    column=header, value=value, blocking=blocking,
                                    cell=f"{letter}{row}", **params))

    keep = [i for i, row in enumerate(table.rows) if any(not cells.is_blank(v) for v in row)]
    rows = [table.rows[i] for i in keep]
    data: dict[str, list] = {"_row": [table.first_row + i for i in keep]}
    for position, column in columns.items():
        parse = _PARSERS[column.kind]
        letter = xl_col_to_name(table.first_col + position)
        header_cell = table.header[position]
        values: list[object] = []
        text_kind, kind = column.kind in ("id", "text"), column.kind
        for excel_row, row in zip(data["_row"], rows):
            raw = row[position] if position < len(row) else None
            # Fast paths for what calamine and the csv module give nearly always.
            raw_type = type(raw)
            if raw_type is str:
                if text_kind:
                    stripped = raw.strip()
                    if stripped:
                        values.append(stripped)
                        continue
                elif kind == "money":
                    plain = _PLAIN_AMOUNT.match(raw)   # "1234.5", "-12.00": integer arithmetic only
                    if plain:
                        sign, whole, cents_text = plain.groups()
                        cents = int(whole) * 100 + int((cents_text or "").ljust(2, "0"))
                        values.append(-cents if sign else cents)
                        continue
            elif raw_type is float and kind == "money":
                scaled = raw * 100
                cents = round(scaled)
                # exact for any float that is the nearest double to a two-decimal amount;
                # anything else (1234.505) takes the Decimal path below and is reported
                if abs(scaled - cents) < 1e-6 and abs(cents) < 2**52:
                    values.append(cents)
                    continue
            elif kind == "date" and (raw_type is date or raw_type is datetime):
                values.append(raw if raw_type is date else raw.date())
                continue
            if cells.is_blank(raw):
                if column.required:
                    report("missing-value", header_cell, letter, excel_row, None)
                values.append(None)
                continue
            try:
                value = parse(raw)
            except ValueError as exc:
                report(_BAD_VALUE_CODE[column.kind], header_cell, letter, excel_row, raw,
                       reason=str(exc))
                values.append(None)
                continue
            if column.kind == "money":
                cents = round_cents(value)
                if value.as_tuple().exponent < -2 and value * 100 != cents:
                    report("amount-rounded", header_cell, letter, excel_row, raw,
                           severity="warning", blocking=False,
                           rounded=format_amount(cents))
                value = cents
            values.append(value)
        data[column.name] = values
    findings.sort(key=_reading_order)
    for (code, header), count in counts.items():
        if count > MAX_FINDINGS_PER_COLUMN:
            sample = next(f for f in findings if f.code == code and f.column == header)
            findings.append(finding(sample.severity, "more-like-this", file=name, sheet=table.sheet,
                                    column=sample.column, blocking=sample.blocking,
                                    count=count - MAX_FINDINGS_PER_COLUMN, like=code))

    # Explicit dtypes: text stays Python str with None for blanks (pandas 3 would
    # otherwise infer its own string dtype with NaN), money nullable Int64 cents.
    by_name = {c.name: c for c in columns.values()}
    frame = pd.DataFrame({
        name: pd.Series(values, dtype="int64") if name == "_row"
        else pd.array(values, dtype="Int64") if by_name[name].kind == "money"
        else pd.to_datetime(pd.Series(values, dtype=object)) if by_name[name].kind == "date"
        else pd.Series(values, dtype=object)
        for name, values in data.items()})
    for column in LEDGER_COLUMNS[role]:  # optional columns absent from the file: all empty
        if column.name not in frame:
            frame[column.name] = pd.Series([None] * len(frame), dtype="Int64" if column.kind == "money"
                                           else "datetime64[ns]" if column.kind == "date" else object)
    if frame.empty:
        findings.append(finding("warning", "no-data-rows", file=name, sheet=table.sheet, role=role))
    findings += _duplicate_keys(frame, role, name, table, columns)
    return frame, findings


def _reading_order(f: Finding) -> tuple:
    """Row by row, then left to right, as a clerk reads the sheet."""
    letters = (f.cell or "").rstrip("0123456789")
    return (f.row or 0, len(letters), letters)


def _duplicate_keys(frame: pd.DataFrame, role: str, name: str, table: _Table,
                    columns: dict[int, Column]) -> list[Finding]:
    key = UNIQUE_KEY[role]
    if frame.empty or key not in frame:
        return []
    values = frame[key]
    dupes = values.notna() & values.duplicated(keep="first")
    if not dupes.any():
        return []
    first_rows = frame.loc[values.notna() & ~values.duplicated(keep="first")].set_index(key)["_row"]
    position = next(p for p, c in columns.items() if c.name == key)
    letter, header, sheet = xl_col_to_name(table.first_col + position), table.header[position], table.sheet
    out = []
    for count, (value, row) in enumerate(zip(values[dupes], frame.loc[dupes, "_row"])):
        if count >= MAX_FINDINGS_PER_COLUMN:
            out.append(finding("error", "more-like-this", file=name, sheet=sheet, column=header,
                               blocking=True, count=int(dupes.sum()) - count, like="duplicate-id"))
            break
        out.append(finding("error", "duplicate-id", file=name, sheet=sheet, row=int(row), column=header,
                           value=value, blocking=True, cell=f"{letter}{row}",
                           first_row=int(first_rows[value])))
    return out
