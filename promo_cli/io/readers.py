"""Read a ledger file (xlsx, xls, csv) into a typed frame plus findings.

``read_ledger(path, role) -> (Ledger | None, findings)``. Nothing here raises for bad
input: every problem becomes a finding that names the file, sheet, Excel row (header
= 1) and column. The returned frame has canonical column names and ``_row``.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import fastexcel
import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv
from python_calamine import CalamineWorkbook, PasswordError
from xlsxwriter.utility import xl_col_to_name

from promo_cli.io import cells
from promo_cli.io.columns import ARROW_TEXT, LEDGER_COLUMNS, Column, header_index, normalise_header
from promo_cli.io.inspect import Limits, Unreadable, inspect_workbook, sheet_parts, sniff
from promo_cli.model import Finding, Ledger, finding
from promo_cli.money import format_amount, parse_decimal, round_cents

# Problems of one kind in one column past this many are summed up in one finding.
MAX_FINDINGS_PER_COLUMN = 20

# fastexcel logs a warning for every column it reads as text; a column's type is ours to judge.
logging.getLogger("fastexcel").setLevel(logging.ERROR)

UNIQUE_KEY = {"purchases": "order_id", "payments": "payment_id", "deposits": "txn_id",
              "customers": "customer_id"}



@dataclass(frozen=True, slots=True)
class _Table:
    """One sheet (or a CSV) column by column: ``columns[j][i]`` is the cell under header cell
    ``header[j]`` at Excel row ``first_row + i``. A column is a pandas Series: the fast readers
    give typed ones (Arrow text, float64, datetime64), the cell-by-cell readers Python objects."""

    sheet: str | None
    header: tuple[object, ...]
    columns: list[pd.Series]
    first_row: int
    first_col: int


def read_ledger(path: Path, role: str, limits: Limits = Limits()) -> tuple[Ledger | None, list[Finding]]:
    """Read and type one ledger; returns None with blocking findings if it is unusable."""
    source, findings = open_ledger(path, role, limits)
    if source is None:
        return None, findings
    return parse_ledger(source)


@dataclass(slots=True)
class Source:
    """A ledger file read and inspected, not yet parsed (see :func:`open_ledger`)."""

    path: Path
    role: str
    raw: bytes | None
    kind: str                                  # xlsx, ole or text
    sha256: str
    first_rows: dict[str, int] | None          # an inspected workbook's first value rows
    findings: list[Finding]

    @property
    def is_workbook(self) -> bool:
        return self.kind != "text"


def open_ledger(path: Path, role: str, limits: Limits = Limits()) -> tuple[Source | None, list[Finding]]:
    """Read a ledger file's bytes and, for a workbook, inspect them (see :mod:`promo_cli.io.inspect`).

    The first, quick half of reading: a file that cannot be read or must not be parsed is
    refused here (None and blocking findings). :func:`parse_ledger` does the rest and returns
    every finding about the file, those of this half included."""
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
    findings: list[Finding] = []
    kind = sniff(raw)
    expected = _EXTENSIONS.get(path.suffix.lower())
    if expected and expected != kind:
        findings.append(finding("info", "mislabelled", file=name, extension=path.suffix.lower(),
                                actual=_KIND_NAMES[kind]))
    try:
        first_rows = inspect_workbook(raw, limits) if kind != "text" else None
    except Unreadable as exc:
        return None, findings + [finding("error", exc.code, file=name, blocking=True, **exc.params)]
    return Source(path, role, raw, kind, hashlib.sha256(raw).hexdigest(), first_rows, findings), []


def parse_ledger(source: Source) -> tuple[Ledger | None, list[Finding]]:
    """Parse and type an opened ledger: the long half of reading. A workbook spends most of it
    in fastexcel, outside the GIL, so it can go on while another thread reads a CSV."""
    name, role, findings = source.path.name, source.role, list(source.findings)
    raw, source.raw = source.raw, None            # the bytes are not needed once parsed
    try:
        table, columns, problems = _pick_table(_read_tables(raw, source.kind, source.first_rows), role, name)
    except Unreadable as exc:
        return None, findings + [finding("error", exc.code, file=name, blocking=True, **exc.params)]
    if table is None:
        return None, findings + problems
    del raw
    frame, cell_findings = _build_frame(table, columns, role, name)
    headers = {c.name: (cells.parse_text(table.header[p]), xl_col_to_name(table.first_col + p))
               for p, c in columns.items()}
    return Ledger(role=role, path=source.path, sheet=table.sheet, frame=frame, sha256=source.sha256,
                  headers=headers), findings + cell_findings


_EXTENSIONS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "ole", ".csv": "text", ".txt": "text"}
_KIND_NAMES = {"xlsx": "xlsx", "ole": "xls", "text": "CSV"}


def _read_tables(raw: bytes, kind: str, first_rows: dict[str, int] | None) -> Iterator[_Table]:
    """Yield the visible worksheets of an inspected workbook one at a time, or the CSV as one table."""
    if kind == "text":
        yield _read_csv(raw)
        return
    parts = sheet_parts(raw) if kind == "xlsx" else None
    if parts is not None:
        # the fast path: fastexcel's Arrow columns, each sheet's header row known from its XML
        try:
            reader = fastexcel.read_excel(raw)
        except BaseException as exc:
            _unreadable(exc)
        for sheet_name, part in parts.items():
            if part not in first_rows:      # not a single value in the sheet
                yield _Table(sheet_name, (), [], 1, 0)
                continue
            try:
                table = _fast_sheet(reader, sheet_name, first_rows[part])
            except BaseException as exc:
                _unreadable(exc)
            yield table
        return
    try:   # xls, and an xlsx whose first cells the fast path cannot place: cell by cell
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(raw))
        visible = [meta.name for meta in workbook.sheets_metadata
                   if str(meta.typ).endswith("WorkSheet") and str(meta.visible).endswith("Visible")]
    except BaseException as exc:
        _unreadable(exc)
    for sheet_name in visible:
        try:
            table = _calamine_sheet(workbook, sheet_name)
        except BaseException as exc:
            _unreadable(exc)
        yield table


def _unreadable(exc: BaseException):
    """Turn whatever a workbook library raised into an :class:`Unreadable`."""
    # calamine raises many types, and pyo3 panics are BaseException
    if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
        raise exc
    if isinstance(exc, PasswordError):
        raise Unreadable("workbook-password") from None
    raise Unreadable("workbook-corrupt", reason=f"{type(exc).__name__}: {exc}"[:300]) from None


def _fast_sheet(reader, sheet_name: str, first: int) -> _Table:
    """A worksheet through fastexcel (Arrow columns), its header at 0-based row ``first``.

    Every row is sampled to choose a column's type, so a column mixing numbers and text comes
    as text (numbers as Excel shows them) rather than losing the odd cell."""
    sheet = reader.load_sheet(sheet_name, header_row=first, schema_sample_rows=None,
                              dtype_coercion="coerce")
    batch = sheet.to_arrow()
    infos = sheet.available_columns()
    header: list[object] = []
    for info in infos:
        text = info.name
        if str(info.column_name_from).endswith("generated"):
            text = ""
        else:   # fastexcel renames a repeated header "amt" to "amt_1": the clerk wrote "amt"
            base, _, suffix = text.rpartition("_")
            if suffix.isdigit() and base in header:
                text = base
        header.append(text)
    columns = [_arrow_series(batch.column(j)) for j in range(batch.num_columns)]
    first_col = infos[0].absolute_index if infos else 0
    return _Table(sheet_name, tuple(header), columns, first + 2, first_col)


def _arrow_series(array) -> pd.Series:
    kind = array.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return pd.Series(array.to_numpy(zero_copy_only=False).astype("datetime64[s]"))
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        return pd.Series(array.to_numpy(zero_copy_only=False).astype("float64"))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pd.Series(array.to_pandas(), dtype="str")
    return pd.Series(array.to_pylist(), dtype=object)


def _calamine_sheet(workbook, sheet_name: str) -> _Table:
    """A worksheet cell by cell through python-calamine (xls, and xlsx the fast path cannot place)."""
    sheet = workbook.get_sheet_by_name(sheet_name)
    start = sheet.start
    if start is None:
        return _rows_table(sheet_name, [], 1, 0)
    return _rows_table(sheet_name, sheet.to_python(), start[0] + 1, start[1])


def _rows_table(sheet: str | None, rows: list[list[object]], first_row: int, first_col: int) -> _Table:
    """A table from rows of Python values: the first non-blank row is the header."""
    for i, row in enumerate(rows):
        if any(not cells.is_blank(v) for v in row):
            body = rows[i + 1:]
            width = max([len(row)] + [len(r) for r in body])
            columns = [pd.Series([r[j] if j < len(r) else None for r in body], dtype=object)
                       for j in range(width)]
            return _Table(sheet, tuple(row) + ("",) * (width - len(row)), columns,
                          first_row + i + 1, first_col)
    return _Table(sheet, (), [], first_row, first_col)


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
    data = raw.removeprefix(codecs.BOM_UTF8) if encoding == "utf-8-sig" else text.encode("utf-8")
    try:
        columns = _arrow_csv(data, delimiter)
    except (pa.ArrowInvalid, ValueError):  # ragged or odd quoting: the csv module, record by record
        try:
            rows: list[list[object]] = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        except csv.Error as exc:
            raise Unreadable("csv-malformed", reason=str(exc)) from None
        return _rows_table(None, rows, 1, 0)
    blank = _blank_rows(columns)
    head = int(np.argmin(blank)) if not blank.all() else len(blank)
    if head == len(blank):
        return _Table(None, (), [], 1, 0)
    header = tuple(c.iloc[head] for c in columns)
    body = [c.iloc[head + 1:].reset_index(drop=True) for c in columns]
    return _Table(None, header, body, head + 2, 0)


def _arrow_csv(data: bytes, delimiter: str) -> list[pd.Series]:
    """Every cell of a CSV as text, by Arrow's reader (threads, outside the GIL): records as
    Excel numbers them (a quoted line break stays inside its record; a blank line is a record).
    Raises ArrowInvalid on a record with too many or too few cells."""
    width = len(next(csv.reader([data[:65536].decode("utf-8", "ignore").split("\n", 1)[0]],
                                delimiter=delimiter), []))
    names = [f"c{j}" for j in range(max(width, 1))]
    table = pa_csv.read_csv(
        io.BytesIO(data),
        read_options=pa_csv.ReadOptions(column_names=names),
        parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True,
                                          newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(column_types={n: pa.string() for n in names},
                                              strings_can_be_null=False, quoted_strings_can_be_null=False))
    return [pd.Series(pd.arrays.ArrowExtensionArray(table.column(j)), dtype="str")
            for j in range(table.num_columns)]


def _pick_table(tables: Iterator[_Table], role: str, name: str
                ) -> tuple[_Table | None, dict[int, Column], list[Finding]]:
    """Choose the first sheet whose header has every required column of ``role``."""
    index = header_index(role)
    first_problem: list[Finding] | None = None
    any_table = False
    for table in tables:
        any_table = True
        if not table.header:
            first_problem = first_problem or [finding(
                "error", "sheet-empty", file=name, sheet=table.sheet, blocking=True)]
            continue
        header = table.header
        columns: dict[int, Column] = {}
        problems: list[Finding] = []
        seen: dict[str, int] = {}
        row_number = table.first_row - 1
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
            return table, columns, []
        first_problem = first_problem or problems
    if not any_table:
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
# Amount texts read without Decimal: at most 13 digits before the point (15 significant
# digits in all), so the nearest double is exact to the cent.
_PLAIN_AMOUNT_TEXT = r"-?[0-9]{1,13}(?:\.[0-9]{1,2})?"
_PLAIN_INTEGER_TEXT = r"-?[0-9]{1,15}"


def _blank(column: pd.Series) -> np.ndarray:
    """Which cells are empty: missing, NaN/NaT, or text of only spaces."""
    missing = column.isna().to_numpy(dtype=bool, copy=True)
    if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
        missing |= (column.str.strip() == "").fillna(False).to_numpy(dtype=bool)
    return missing


def _blank_rows(columns: list[pd.Series]) -> np.ndarray:
    blank = np.ones(len(columns[0]) if columns else 0, dtype=bool)
    for column in columns:
        blank &= _blank(column)
    return blank


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
                 header: str, letter: str, report: _Reporter):
    """Type one column: vectorised for what fast readers give nearly always, cell by cell
    (each distinct value parsed once) for the rest. Returns the values for the frame."""
    kind, n = column.kind, len(raw)
    done = blank.copy()
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
            out[~done] = days[~done]
            done[:] = True
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
                if column.name in ARROW_TEXT:     # stays Arrow text, missing where blank
                    return raw.str.strip().where(~blank)
                texts = _python_texts(raw.str.strip())
                out[~done] = texts[~done]
                done[:] = True
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
        return pd.arrays.IntegerArray(out, blank | failed)
    return out


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
    for u, value in enumerate(uniques):
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        try:
            result = parse(value)
        except ValueError as exc:
            errors[u] = str(exc)
            parsed.append(None)
            continue
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
    if errors:
        where = np.flatnonzero(failed)
        report.many(_BAD_VALUE_CODE[column.kind], header, letter, rows[positions[where]], values[where],
                    params=lambda i: {"reason": errors[codes[where[i]]]})
    if rounded:
        where = np.flatnonzero(np.isin(codes, list(rounded)))
        report.many("amount-rounded", header, letter, rows[positions[where]], values[where],
                    severity="warning", blocking=False,
                    params=lambda i: {"rounded": format_amount(rounded[codes[where[i]]])})
    return failed


def _build_frame(table: _Table, columns: dict[int, Column], role: str, name: str
                 ) -> tuple[pd.DataFrame, list[Finding]]:
    """Type every cell of the mapped columns; collect findings instead of stopping."""
    report = _Reporter(name, table.sheet)
    blank_row = _blank_rows(table.columns)
    keep = np.flatnonzero(~blank_row)
    rows = table.first_row + keep
    data: dict[str, object] = {"_row": pd.Series(rows, dtype="int64")}
    for position, column in columns.items():
        raw = table.columns[position]
        if len(keep) != len(raw):
            raw = raw.iloc[keep].reset_index(drop=True)
        letter = xl_col_to_name(table.first_col + position)
        header = cells.parse_text(table.header[position])
        values = _type_column(raw, column, _blank(raw), rows, header, letter, report)
        data[column.name] = (pd.Series(values, dtype="Int64") if column.kind == "money"
                             else pd.Series(values) if column.kind == "date"
                             else pd.Series(values, dtype="str") if column.name in ARROW_TEXT
                             else pd.Series(values, dtype=object))
    findings = sorted(report.findings, key=_reading_order)
    for (code, header), count in report.counts.items():
        if count > MAX_FINDINGS_PER_COLUMN:
            sample = next(f for f in findings if f.code == code and f.column == header)
            findings.append(finding(sample.severity, "more-like-this", file=name, sheet=table.sheet,
                                    column=sample.column, blocking=sample.blocking,
                                    count=count - MAX_FINDINGS_PER_COLUMN, like=code))
    frame = pd.DataFrame(data)
    for column in LEDGER_COLUMNS[role]:  # optional columns absent from the file: all empty
        if column.name not in frame:
            frame[column.name] = pd.Series([None] * len(frame), dtype="Int64" if column.kind == "money"
                                           else "datetime64[s]" if column.kind == "date" else object)
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
    letter, header, sheet = (xl_col_to_name(table.first_col + position), cells.parse_text(table.header[position]),
                             table.sheet)
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
