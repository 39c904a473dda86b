"""A table's cells as worksheet XML, built a column at a time.

xlsxwriter keeps a Python object per cell and writes each through several calls; a 30,000-order
rebate detail is about a million cells, which took it some ten seconds. Here a table's rows
become one block of ``<row>`` XML made by Arrow's string kernels over whole columns; the
worksheet (:class:`BlockSheet`) writes the block in its place between the cells xlsxwriter
holds (title, header, totals). What a cell holds is what xlsxwriter would have written: numbers
as ``.16G`` text (money exact to the cent), dates as Excel serial days, text in the workbook's
shared strings (xlsxwriter escapes them), formulas with their cached value, each with its cell
format.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import compute as pc
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from promo_cli.money import cents_to_decimal, decimal_texts

CHUNK_ROWS = 100_000          # rows turned into XML at a time
EXCEL_TEXT_LIMIT = 32_767     # characters a cell holds; xlsxwriter cuts longer text there too
_EPOCH = np.datetime64("1899-12-30", "D")


class Cents(int):
    """Integer cents in a ``number`` column whose rows mix money and counts: written as money."""


class BlockSheet(Worksheet):
    """A worksheet that also writes blocks of ready-made row XML (see :func:`add_block`)."""

    def _write_rows(self) -> None:
        blocks = getattr(self, "_promo_blocks", None)
        if not blocks:
            super()._write_rows()
            return
        # Rows xlsxwriter holds (title, header, totals) and the blocks, in row order. Spans are
        # optional and left out; every other attribute is xlsxwriter's own.
        self.row_spans = {}
        held = sorted({r for r, cells in self.table.items() if cells} | set(self.row_info) | set(self.comments))
        pending = sorted(blocks, key=lambda block: block[0])
        for row in held:
            while pending and pending[0][0] < row:
                self._write_block(pending.pop(0)[1])
            if self.table.get(row):
                self._write_row(row, None, self.row_info.get(row))
                for col in sorted(self.table[row]):
                    self._write_cell(row, col, self.table[row][col])
                self._xml_end_tag("row")
            else:
                self._write_empty_row(row, None, self.row_info.get(row))
        for _, chunks in pending:
            self._write_block(chunks)

    def _write_block(self, chunks) -> None:
        for chunk in chunks:
            self.fh.write(chunk)


def add_block(sheet: Worksheet, first: int, last: int, width: int, chunks: list[str]) -> None:
    """Place rows ``first``..``last`` (0-based, ``width`` columns) of ready XML on ``sheet``."""
    sheet.__dict__.setdefault("_promo_blocks", []).append((first, chunks))
    sheet._check_dimensions(first, 0)
    sheet._check_dimensions(last, width - 1)


@dataclass(slots=True)
class Column:
    """One column of a table, ready to become cells: Arrow ``texts`` (what goes in ``<v>``: a
    number, a shared string's index; a formula cell's whole content; null for an empty cell), its cell format index (one, or one per row), whether the
    text is a string, a number or a formula, and the figures the table needs of it."""

    texts: pa.Array
    xf: int | np.ndarray
    type: str                 # "n" number · "s" shared string (its index) · "f" formula ("<f>…</f><v>…</v>")
    total: Decimal | None = None
    width: int = 0            # widest value, in character cells (display width + margin)


def table_xml(columns: Sequence[Column], first: int) -> list[str]:
    """The ``<row>`` XML of rows ``first``.. (0-based) from prepared columns, in chunks."""
    rows = len(columns[0].texts) if columns else 0
    chunks = []
    for start in range(0, rows, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, rows)
        numbers = pc.cast(pa.array(np.arange(first + start + 1, first + stop + 1)), pa.string())
        cells = [_cells(column, j, numbers, start, stop) for j, column in enumerate(columns)]
        joined = pc.binary_join_element_wise('<row r="', numbers, '">', *cells, "</row>", "")
        chunks.append(_concat(joined))
    return chunks


def _cells(column: Column, j: int, numbers: pa.Array, start: int, stop: int) -> pa.Array:
    texts = column.texts.slice(start, stop - start)
    reference = f'<c r="{xl_col_to_name(j)}'
    if isinstance(column.xf, np.ndarray):
        style = pc.binary_join_element_wise('" s="', pc.cast(pa.array(column.xf[start:stop]), pa.string()), '"', "")
    else:
        style = f'" s="{column.xf}"' if column.xf else '"'
    opening = pc.binary_join_element_wise(reference, numbers, style, "")
    if column.type == "s":
        body = pc.binary_join_element_wise(opening, ' t="s"><v>', texts, "</v></c>", "")
    elif column.type == "f":
        body = pc.binary_join_element_wise(opening, ">", texts, "</c>", "")
    else:
        body = pc.binary_join_element_wise(opening, "><v>", texts, "</v></c>", "")
    if texts.null_count:
        body = pc.if_else(pc.is_null(texts), pc.binary_join_element_wise(opening, "/>", ""), body)
    return body


def _concat(texts: pa.Array) -> str:
    """All the strings of an Arrow array end to end, in one Python string."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    whole = pa.ListArray.from_arrays(pa.array([0, len(texts)], pa.int32()), texts)
    return pc.binary_join(whole, "")[0].as_py()


# --- columns of values → prepared columns --------------------------------------------------------

def text_column(values, xf: int, measure: bool, strings) -> Column:
    """Text cells (``""`` and missing are empty cells) in the workbook's shared strings
    (``strings``: xlsxwriter's table, which escapes them as it writes them); each distinct
    text is looked up once. ``measure`` gives the widest display width."""
    texts = _as_text(values)
    if len(texts) and pc.any(pc.greater(pc.utf8_length(pc.fill_null(texts, "")), EXCEL_TEXT_LIMIT)).as_py():
        texts = pc.utf8_slice_codeunits(texts, 0, EXCEL_TEXT_LIMIT)
    texts = pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.string()), texts) if len(texts) else texts
    width = _widest(texts) + 2 if measure else 0
    encoded = texts.dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    index = np.array([strings._get_shared_string_index(text) for text in distinct] or [0], dtype=np.int64)
    strings.count += len(texts) - texts.null_count - len(distinct)     # every use counts, as xlsxwriter counts
    positions = pa.array(index).take(encoded.indices)
    return Column(pc.cast(positions, pa.string()), xf, "s", width=width)


def _as_text(values) -> pa.Array:
    texts = _texts(values)
    return texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts


def _texts(values):
    if isinstance(values, pd.Series) and values.dtype == object or isinstance(values, list):
        objects = values.tolist() if isinstance(values, pd.Series) else values
        if all(v is None or type(v) is str for v in objects):
            return pa.array(objects, type=pa.string())
        return pa.array([_show(v) for v in objects], type=pa.string())
    if isinstance(values, pd.Series):
        return pc.cast(pa.array(values, from_pandas=True), pa.string())
    return pa.array([_show(v) for v in values], type=pa.string())


def _show(value: Any) -> str | None:
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _widest(texts: pa.Array) -> int:
    """The widest display width among ``texts`` (CJK and full-width characters count two).

    A text is never wider than its UTF-8 bytes (a wide character takes three), so the distinct
    texts are measured longest in bytes first, until no shorter one could be wider."""
    distinct = pc.unique(texts.drop_null())
    sizes = pc.binary_length(distinct).to_numpy(zero_copy_only=False)
    widest = 0
    for i in np.argsort(-sizes, kind="stable"):
        if sizes[i] <= widest:
            break
        widest = max(widest, display_width(distinct[int(i)].as_py()))
    return widest


def display_width(text: str) -> int:
    """Return how many character cells ``text`` takes (CJK and full-width count two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def money_column(cents, xf: int, total: bool) -> Column:
    """Integer cents (missing: empty) as yuan exact to the cent."""
    series = cents if isinstance(cents, pd.Series) else pd.Series(cents, dtype=object)
    missing = series.isna().to_numpy()
    units = series.to_numpy(dtype=np.int64, na_value=0) if missing.any() or series.dtype != np.int64 \
        else series.to_numpy()
    texts = decimal_texts(units, 2)
    if missing.any():
        texts = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), texts)
    present = units[~missing]
    width = 0
    if len(present):
        width = max(len(f"{cents_to_decimal(int(present.max())):,.2f}"),
                    len(f"{cents_to_decimal(int(present.min())):,.2f}")) + 3
    return Column(texts, xf, "n", total=cents_to_decimal(int(present.sum())) if total else None, width=width)


def date_column(values, xf: int) -> Column:
    """Dates as Excel serial days (missing: empty)."""
    if isinstance(values, pd.Series) and np.issubdtype(values.dtype, np.datetime64):
        days = values.to_numpy(dtype="datetime64[D]")
    else:
        days = np.array([_day(v) for v in values], dtype="datetime64[D]")
    serial = (days - _EPOCH).astype("timedelta64[D]")
    texts = pc.cast(pa.array(serial.astype(np.int64), mask=np.isnat(days)), pa.string())
    return Column(texts, xf, "n")


def _day(value: Any):
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return np.datetime64("NaT")
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return np.datetime64(value, "D")
    return np.datetime64(pd.Timestamp(value).date(), "D")


def number_column(values, xf: int, money_xf: int, total: bool, margin: int) -> Column:
    """Numbers (int, Decimal, float; ``Cents`` as money in the money format) as xlsxwriter writes
    them; each distinct value is converted once."""
    objects = values.tolist() if isinstance(values, pd.Series) else list(values)
    seen: dict[tuple[type, Any], tuple[str | None, Decimal | int | None]] = {}
    texts, numbers = [], []
    styles = None
    for i, value in enumerate(objects):
        key = (type(value), value) if not (isinstance(value, float) and value != value) else (float, "nan")
        known = seen.get(key)
        if known is None:
            number = _number(value)
            known = seen[key] = (None if number is None else f"{number:.16G}", number)
        texts.append(known[0])
        numbers.append(known[1])
        if type(value) is Cents:
            if styles is None:
                styles = np.full(len(objects), xf, dtype=np.int64)
            styles[i] = money_xf
    present = [n for n in numbers if n is not None]
    width = max((len(f"{n:,.2f}") for n in (max(present), min(present))), default=0) + margin if present else 0
    return Column(pa.array(texts, type=pa.string()), styles if styles is not None else xf, "n",
                  total=sum(present, Decimal(0)) if total else None, width=width)


def _number(value: Any) -> Decimal | int | None:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value) \
            or (isinstance(value, str) and value == ""):
        return None
    if type(value) is Cents:
        return cents_to_decimal(int(value))
    if isinstance(value, np.integer):
        return int(value)
    return value if isinstance(value, (int, Decimal)) else Decimal(str(value))


def formula_column(cells: list[tuple[str, Any] | None], prepare, xf: int, count_xf: int, total: bool) -> Column:
    """``(formula, cached value)`` per row: money, or a count (an ``int`` cached value)."""
    texts, styles, numbers = [], np.full(len(cells), xf, dtype=np.int64), []
    for i, value in enumerate(cells):
        if value is None:
            texts.append(None)
            continue
        formula, cached = value
        if type(cached) is int:
            styles[i] = count_xf
        formula = prepare(formula)
        formula = formula.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        texts.append(f"<f>{formula}</f><v>{cached}</v>")
        numbers.append(cached)
    width = max((len(f"{n:,.2f}") for n in (max(numbers), min(numbers))), default=0) + 3 if numbers else 0
    return Column(pa.array(texts, type=pa.string()), styles, "f",
                  total=sum(numbers, Decimal(0)) if total else None, width=width)


def blank_column(rows: int, xf: int) -> Column:
    return Column(pa.nulls(rows, pa.string()), xf, "n")
