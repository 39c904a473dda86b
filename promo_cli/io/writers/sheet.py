"""Shared workbook layout: named styles, a title block and a table writer.

Every table gets a bold frozen header, an autofilter, widths that count CJK
characters double, print setup (landscape, fit to width, header repeated), typed
cells and, where asked, a totals row of live ``SUM`` formulas whose computed value is
cached in the file. Text is always written as a string, never as a formula.
"""

from __future__ import annotations

import csv
import zipfile
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.exceptions import FileCreateError
from pyarrow import compute as pc
from pyarrow import csv as pa_csv
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from promo_cli.io.writers.sheetxml import (  # noqa: F401 - Cents, display_width: for the writers
    BlockSheet,
    Cents,
    Column,
    add_block,
    date_column,
    display_width,
    formula_column,
    money_column,
    number_column,
    table_xml,
    text_column,
)
from promo_cli.io.writers import DETAIL_ROWS_LIMIT
from promo_cli.lines import iso_dates, texts_of_distinct
from promo_cli.money import decimal_texts

Kind = Literal["text", "longtext", "id", "money", "exact", "rate", "date", "int", "number", "formula"]

MONEY_FORMAT = "#,##0.00;[Red]-#,##0.00"
EXACT_FORMAT = "#,##0.00######;[Red]-#,##0.00######"
RATE_FORMAT = "0.00##%"
DATE_FORMAT = "yyyy-mm-dd"
HEADER_STYLE = {"bold": True, "bg_color": "#DDEBF7", "pattern": 1, "border": 1, "text_wrap": True,
                "valign": "vcenter"}
HEADER_HEIGHT = 30  # points: two lines of a wrapped header
TOTAL_STYLE = {"bold": True, "top": 1}
TITLE_STYLE = {"bold": True, "font_size": 14}
MAX_WIDTH = 48
EXCEL_ROWS = 1_048_576        # rows of a worksheet, header included
CSV_CHUNK_ROWS = 200_000      # rows of a detail CSV turned into text at a time
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MIN_WIDTH = {"date": 12, "rate": 11, "money": 12, "exact": 14}


@dataclass(frozen=True, slots=True)
class Col:
    header: str
    kind: Kind = "text"
    total: bool = False
    width: int | None = None


# The functions our own formulas use: none needs the "_xlfn." prefix of newer Excel functions.
_CLASSIC_FORMULA = re.compile(r"=?(?:(?:SUM|ROUND|IF|MIN|MAX|ABS)\(|\$?[A-Z]{1,3}\$?[0-9]+|[0-9.]+|[-+*/:,() ])*")


class _Sheet(BlockSheet):
    """A worksheet that writes the plain formulas of our totals without xlsxwriter's scan for
    newer functions (some thirty regular expressions per formula; a Summary of 20,000
    customers has 40,000 formulas). Any other formula goes the usual way."""

    def _prepare_formula(self, formula, expand_future_functions=False):
        if _CLASSIC_FORMULA.fullmatch(formula):
            return formula.removeprefix("=")
        return super()._prepare_formula(formula, expand_future_functions)


class _Book(xlsxwriter.Workbook):
    def add_worksheet(self, name=None, worksheet_class=None):
        return super().add_worksheet(name, worksheet_class or _Sheet)

    def _store_workbook(self) -> None:
        """Package the workbook with zlib's fastest level: about a third of the time of its
        default for files some 15% larger (xlsxwriter offers no setting; its zip class is
        swapped for the packaging only)."""
        original = xlsxwriter.workbook.ZipFile
        xlsxwriter.workbook.ZipFile = _FastZip
        try:
            super()._store_workbook()
        finally:
            xlsxwriter.workbook.ZipFile = original


class _FastZip(zipfile.ZipFile):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, compresslevel=1, **kwargs)


def new_workbook(path: Path) -> xlsxwriter.Workbook:
    """Open a workbook that never turns text into formulas, numbers or links."""
    book = _Book(str(path), {
        "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False,
        "default_date_format": DATE_FORMAT,
    })
    book.set_calc_mode("auto")
    return book


class Styles:
    """The workbook's cell formats, made once per workbook."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.header = book.add_format(HEADER_STYLE)
        self.title = book.add_format(TITLE_STYLE)
        self.label = book.add_format({"bold": True})
        self.text = book.add_format({"num_format": "@"})
        self.wrap = book.add_format({"num_format": "@", "text_wrap": True, "valign": "top"})
        self.money = book.add_format({"num_format": MONEY_FORMAT})
        self.exact = book.add_format({"num_format": EXACT_FORMAT})
        self.rate = book.add_format({"num_format": RATE_FORMAT})
        self.date = book.add_format({"num_format": DATE_FORMAT})
        self.int = book.add_format({"num_format": "#,##0"})
        self.number = book.add_format({"num_format": "#,##0.####"})
        self.count = book.add_format({"num_format": "#,##0"})
        self.total_label = book.add_format(TOTAL_STYLE)
        self.total_money = book.add_format({**TOTAL_STYLE, "num_format": MONEY_FORMAT})
        self.total_exact = book.add_format({**TOTAL_STYLE, "num_format": EXACT_FORMAT})

    def for_kind(self, kind: Kind):
        return {"text": self.text, "longtext": self.wrap, "id": self.text, "money": self.money, "exact": self.exact,
                "rate": self.rate, "date": self.date, "int": self.int, "number": self.number,
                "formula": self.money}[kind]


def write_title(sheet, styles: Styles, title: str, pairs: Sequence[tuple[str, str]]) -> int:
    """Write a title and label/value pairs from A1; return the next free row (0-based)."""
    sheet.write_string(0, 0, title, styles.title)
    for i, (key, value) in enumerate(pairs, start=1):
        sheet.write_string(i, 0, key, styles.label)
        sheet.write_string(i, 1, value, styles.text)
    return len(pairs) + 2


def write_table(sheet, styles: Styles, columns: Sequence[Col], rows: Iterable[Sequence[Any]] | pd.DataFrame,
                top: int = 0, totals_label: str | None = None, row_formula=None,
                secondary: bool = False) -> dict[str, Any]:
    """Write a header at row ``top`` and the rows under it; return layout facts.

    ``rows`` are sequences of values or a DataFrame (its columns in the order of ``columns``);
    they are written a column at a time (:mod:`sheetxml`). ``row_formula(row, col) ->
    (formula, cached value)`` fills the ``formula`` columns (e.g. a row total), 0-based. With
    ``totals_label``, columns marked ``total`` get a SUM row.
    Returns {"first": first data row, "last": last data row, "totals_row": row or None}
    as 0-based indexes. A ``secondary`` table (a second table on a sheet) leaves the
    sheet's frozen header, filter and print titles to the first.
    """
    widths = [max(min(max(display_width(c.header) // 2 + 2, 8), 24), MIN_WIDTH.get(c.kind, 0))
              for c in columns]
    sheet.set_row(top, HEADER_HEIGHT)
    for j, column in enumerate(columns):
        sheet.write_string(top, j, column.header, styles.header)
    if isinstance(rows, pd.DataFrame):
        values = [rows.iloc[:, j] for j in range(len(columns))]
        count = len(rows)
    else:
        listed = [tuple(row) for row in rows]
        count = len(listed)
        values = [[row[j] if j < len(row) else None for row in listed] for j in range(len(columns))]
    first, last = top + 1, top + count
    prepared = [_prepare(sheet, styles, column, values[j], first, j, row_formula) for j, column in enumerate(columns)]
    if count:
        add_block(sheet, first, last, len(columns), table_xml(prepared, first))
    else:                       # an empty table says so in a row of its own: "—"
        sheet.write_string(first, 0, "—", styles.text)
        last = first
    for j, column in enumerate(prepared):
        widths[j] = max(widths[j], column.width)
    totals_row = None
    if totals_label is not None:
        totals_row = last + 1
        sheet.write_string(totals_row, 0, totals_label, styles.total_label)
        for j, column in enumerate(columns):
            if column.total:
                letter = xl_col_to_name(j)
                formula = f"=SUM({letter}{first + 1}:{letter}{last + 1})"
                style = styles.total_exact if column.kind == "exact" else styles.total_money
                total = prepared[j].total if prepared[j].total is not None else Decimal(0)
                sheet.write_formula(totals_row, j, formula, style, total)
    # Widths are kept per sheet so that a second table only ever widens a column.
    known = sheet.__dict__.setdefault("_promo_widths", {})
    for j, column in enumerate(columns):
        width = column.width or min(widths[j], MAX_WIDTH)
        if width > known.get(j, 0):
            known[j] = width
            sheet.set_column(j, j, width)
    if secondary:
        return {"first": first, "last": last, "totals_row": totals_row}
    sheet.freeze_panes(top + 1, 0)
    sheet.autofilter(top, 0, max(last, top), len(columns) - 1)
    sheet.repeat_rows(top)
    print_setup(sheet, sum(known.values()))
    return {"first": first, "last": last, "totals_row": totals_row}


def _prepare(sheet, styles: Styles, column: Col, values, first: int, j: int, row_formula) -> Column:
    """One column of values as cells of its kind, in its format."""
    xf = styles.for_kind(column.kind)._get_xf_index()
    if column.kind in ("text", "id", "longtext"):
        return text_column(values, xf, measure=column.kind != "longtext", strings=sheet.str_table)
    if column.kind == "money":
        return money_column(values, xf, column.total)
    if column.kind == "date":
        return date_column(values, xf)
    if column.kind == "formula":
        cells = [row_formula(first + i, j) for i in range(len(values))] if row_formula is not None else list(values)
        return formula_column(cells, sheet._prepare_formula, xf, styles.count._get_xf_index(), column.total)
    margin = 5 if column.kind == "exact" else 3
    return number_column(values, xf, styles.money._get_xf_index(), column.total, margin)


# Landscape A4 holds about this many characters of column width at 100%; below MIN_PRINT_SCALE
# a printed sheet is no longer readable, so a wider sheet runs over several pages instead.
PRINT_CHARACTERS, MIN_PRINT_SCALE = 150, 65


def print_setup(sheet, width: float) -> None:
    """Landscape A4; a sheet up to a readable scale fits one page wide, a wider one keeps that
    scale and runs over pages across, repeating its first two columns (who) on each."""
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    if width * MIN_PRINT_SCALE / 100 <= PRINT_CHARACTERS:
        sheet.fit_to_pages(1, 0)
    else:
        sheet.set_print_scale(MIN_PRINT_SCALE)
        sheet.repeat_columns(0, 1)


def cell(row: int, col: int) -> str:
    """Return an A1 reference for 0-based row/column."""
    return xl_rowcol_to_cell(row, col)


def write_detail(book, styles: Styles, name: str, columns: Sequence[Col], rows: int,
                 table: Callable[[int, int], pd.DataFrame], side, csv_name: str, note: str,
                 totals_label: str | None = None, limit: int | None = None, fmt: str = "csv") -> list[str]:
    """Write a detail table of ``rows`` rows and return where it went; ``table(start, stop)``
    builds its rows ``start`` to ``stop`` (its columns in the order of ``columns``).

    Past ``limit`` rows (DETAIL_ROWS_LIMIT unless given; 0 = no limit) it goes to ``csv_name``
    beside the workbook (``fmt`` ``parquet``: the same name ending ``.parquet``) and the sheet
    says so: ``side`` (the run's :class:`Staging`) gives its temporary path and builds and
    writes it beside the workbooks (in a second process where there is one), CSV_CHUNK_ROWS
    rows at a time.
    Otherwise it is written as sheets: past Excel's 1,048,576 rows it continues on
    ``<name> 2``, ``<name> 3``, … each with its own header (and totals row).
    """
    limit = DETAIL_ROWS_LIMIT if limit is None else limit
    if side is not None and limit and rows > limit:
        file = detail_file(csv_name, fmt)
        side.later(write_parquet if fmt == "parquet" else write_csv, side.path(file), columns, rows, table)
        sheet = book.add_worksheet(name)
        sheet.write_string(0, 0, note.format(rows=f"{rows:,}", file=file), styles.label)
        sheet.set_column(0, 0, 100)
        return [file]
    frame = table(0, rows)
    per_sheet = EXCEL_ROWS - 1 - (1 if totals_label is not None else 0)
    names = []
    for number, start in enumerate(range(0, max(len(frame), 1), per_sheet), start=1):
        names.append(name if number == 1 else f"{name} {number}")
        part = frame.iloc[start:start + per_sheet]
        write_table(book.add_worksheet(names[-1]), styles, columns, part, totals_label=totals_label)
    return names


def sheets_needed(rows: int, totals: bool) -> int:
    """How many sheets a detail table of ``rows`` rows takes in the workbook."""
    per_sheet = EXCEL_ROWS - 1 - (1 if totals else 0)
    return max(1, -(-rows // per_sheet))


def write_csv(path: Path, columns: Sequence[Col], rows: int, table: Callable[[int, int], pd.DataFrame]) -> None:
    """A CSV Excel opens as it should (UTF-8 with BOM); text never starts like a formula.

    ``table(start, stop)`` gives rows ``start`` to ``stop``; they are built, turned into text as
    Arrow arrays (no row-by-row Python) and written by Arrow's CSV writer CSV_CHUNK_ROWS at a
    time, so that a million rows never sit in memory at once."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([c.header for c in columns])
    names = [f"c{j}" for j in range(len(columns))]
    schema = pa.schema([(name, pa.string()) for name in names])
    with path.open("wb") as handle:
        handle.write(("\ufeff" + header.getvalue()).encode("utf-8"))
        options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
        with pa_csv.CSVWriter(handle, schema, write_options=options) as writer:
            for start in range(0, rows, CSV_CHUNK_ROWS):
                part = table(start, min(start + CSV_CHUNK_ROWS, rows))
                arrays = [_csv_texts(column.kind, part.iloc[:, j]) for j, column in enumerate(columns)]
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))


def detail_file(csv_name: str, fmt: str) -> str:
    """The name of a detail file beside the workbook: ``lines.csv``, or ``lines.parquet``."""
    return csv_name[:-len(".csv")] + ".parquet" if fmt == "parquet" else csv_name


def write_parquet(path: Path, columns: Sequence[Col], rows: int, table: Callable[[int, int], pd.DataFrame]) -> None:
    """A detail table as typed Parquet for the next program (a warehouse, DuckDB, pandas): money
    as decimal(24, 2) exact to the cent, dates as dates, counts as integers, text as text
    (kept as it is: Parquet is data, never run as a formula). Written CSV_CHUNK_ROWS rows at a
    time, one row group each."""
    import pyarrow.parquet as pq
    writer = None
    try:
        for start in range(0, max(rows, 1), CSV_CHUNK_ROWS):
            part = table(start, min(start + CSV_CHUNK_ROWS, rows))
            arrays = [_parquet_values(column.kind, part.iloc[:, j]) for j, column in enumerate(columns)]
            chunk = pa.Table.from_arrays(arrays, names=[c.header for c in columns])
            if writer is None:
                writer = pq.ParquetWriter(path, chunk.schema)
            elif chunk.schema != writer.schema:     # a column typed otherwise by this chunk's values
                chunk = pa.Table.from_arrays([_as_type(chunk.column(j), field.type)
                                              for j, field in enumerate(writer.schema)], schema=writer.schema)
            writer.write_table(chunk)
    finally:
        if writer is not None:
            writer.close()


def _as_type(column: pa.ChunkedArray, kind: pa.DataType) -> pa.ChunkedArray:
    if column.type == kind:
        return column
    try:
        return column.cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return column.cast(pa.string()).cast(kind)


def _parquet_values(kind: Kind, values: pd.Series) -> pa.Array:
    if kind == "money":
        cents = values.to_numpy(dtype=np.int64, na_value=0) if values.dtype != np.int64 else values.to_numpy()
        money = pc.cast(decimal_texts(cents, 2), pa.decimal128(24, 2))
        if values.dtype != np.int64 and values.isna().any():
            money = pc.if_else(pa.array(values.notna().to_numpy()), money, pa.scalar(None, money.type))
        return money
    if kind == "date":
        return pa.array(values.to_numpy(dtype="datetime64[D]"), type=pa.date32(), from_pandas=True)
    if kind in ("text", "id", "longtext"):
        return pa.array([None if v is None or v != v else str(v) for v in values.tolist()], type=pa.string())
    objects = [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v for v in values.tolist()]
    if kind == "int" or all(v is None or isinstance(v, (int, np.integer)) for v in objects):
        try:
            return pa.array(objects, type=pa.int64())
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    try:                        # rates, bounds, quantities: exact decimals, never rounded
        return pa.array([None if v is None else Decimal(str(v)) for v in objects],
                        type=pa.decimal128(38, 18 if kind == "rate" else 12))
    except (pa.ArrowInvalid, pa.ArrowTypeError, ArithmeticError):
        return pa.array([None if v is None else str(v) for v in objects], type=pa.string())


def _csv_texts(kind: Kind, values: pd.Series) -> pa.Array:
    """One column as CSV text ("" where empty)."""
    if kind == "money":
        cents = values.to_numpy(dtype=np.int64, na_value=0) if values.dtype != np.int64 else values.to_numpy()
        texts = decimal_texts(cents, 2)
        if values.dtype != np.int64 and values.isna().any():
            texts = pc.if_else(pa.array(values.notna().to_numpy()), texts, None)
    elif kind == "date":
        texts = iso_dates(values.to_numpy(dtype="datetime64[s]"))
    elif values.dtype == object and kind not in ("text", "id", "longtext"):   # Decimal rates, bounds
        texts = texts_of_distinct(values, str)
    elif values.dtype == object:
        texts = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    else:
        texts = pc.cast(pa.array(values, from_pandas=True), pa.string())
    if kind in ("text", "id", "longtext"):      # OWASP CSV injection: never a formula
        risky = pc.fill_null(pc.match_substring_regex(texts, r"^[=+\-@\t\r]"), False)
        if pc.any(risky).as_py():
            texts = pc.if_else(risky, pc.binary_join_element_wise("'", texts, ""), texts)
    return pc.fill_null(texts, "")          # every way above leaves an empty cell null


def guard_text(value: object) -> str:
    """Text for a CSV cell that a spreadsheet must not run as a formula: a leading ``'`` where
    it starts like one (``=``, ``+``, ``-``, ``@``, tab, CR)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def source_row_column(title: str, ledger) -> Col:
    """The column of ledger rows a table points back to: whole numbers, or text such as
    ``8月!17`` for a ledger read from several sheets (see ``Ledger.row_label``)."""
    return Col(title, "text" if ledger is not None and ledger.sheets else "int")


def close_book(book: xlsxwriter.Workbook) -> None:
    """Finish a workbook. A full disk or a refused write is the ``OSError`` it is (xlsxwriter
    wraps it in its own error), so the caller's "cannot write" path answers it plainly."""
    try:
        book.close()
    except FileCreateError as exc:
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
        raise (cause or OSError(str(exc))) from None
