"""xlsx through fastexcel: Arrow columns typed by Rust, the fast path for large workbooks.

The header row comes from the inspection (the first row with a value); where that row does
not name the ledger's columns (title lines of a statement), python-calamine looks at the top
rows for the header and fastexcel loads the sheet from there. A sheet fastexcel cannot type
(a column mixing dates and elapsed times) is read cell by cell instead.
"""

from __future__ import annotations

import io
import logging
from dataclasses import replace

import fastexcel
import pandas as pd
import pyarrow as pa
from python_calamine import CalamineWorkbook

from promo_cli.io.inspect import Inspection, sheet_parts
from promo_cli.io.readers import calamine
from promo_cli.io.readers.table import HEADER_SEARCH_ROWS, Table, is_header, unreadable

# fastexcel logs a warning for every column it reads as text; a column's type is ours to judge.
logging.getLogger("fastexcel").setLevel(logging.ERROR)


def read_xlsx(raw: bytes, inspection: Inspection, role: str):
    """Yield the visible worksheets of an inspected xlsx, one :class:`Table` each."""
    parts = sheet_parts(raw)
    if not parts:                       # the workbook part cannot be placed: cell by cell
        yield from calamine.read_workbook(raw, role)
        return
    try:
        reader = fastexcel.read_excel(raw)
    except BaseException as exc:
        unreadable(exc)
    peek = None
    for sheet_name, part in parts.items():
        first = inspection.first_rows.get(part)
        special = inspection.special.get(part, {})
        if first is None and not _has_cells(reader, sheet_name):
            yield Table(sheet_name, (), [], 1, 0)
            continue
        try:
            table = _fast_sheet(reader, sheet_name, first) if first is not None else None
            if table is None or not is_header(table.header, role):
                peek = peek or CalamineWorkbook.from_filelike(io.BytesIO(raw))
                header_row, skipped = _find_header(peek, sheet_name, role)
                if header_row is not None:
                    table = replace(_fast_sheet(reader, sheet_name, header_row), skipped_above=skipped)
                elif table is None:
                    table = calamine.read_sheet(peek, sheet_name, role)
        except BaseException as exc:    # fastexcel could not type it: cell by cell
            if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
                raise
            try:
                peek = peek or CalamineWorkbook.from_filelike(io.BytesIO(raw))
                table = calamine.read_sheet(peek, sheet_name, role)
            except BaseException as exc:
                unreadable(exc)
        yield replace(table, special=special)


def _has_cells(reader, sheet_name: str) -> bool:
    try:
        return reader.load_sheet(sheet_name, header_row=None, n_rows=1).height > 0
    except BaseException:
        return True


def _find_header(workbook, sheet_name: str, role: str) -> tuple[int | None, int]:
    """The 0-based absolute row of the sheet's header among its top rows, and how many
    non-blank rows stand above it."""
    sheet = workbook.get_sheet_by_name(sheet_name)
    if sheet.start is None:
        return None, 0
    skipped = 0
    for i, row in enumerate(sheet.iter_rows()):
        if i >= HEADER_SEARCH_ROWS:
            break
        if is_header(tuple(row), role):
            return sheet.start[0] + i, skipped
        skipped += any(str(v).strip() for v in row if v is not None)
    return None, 0


def _fast_sheet(reader, sheet_name: str, header_row: int) -> Table:
    """A worksheet through fastexcel, its header at 0-based row ``header_row``.

    Every row is sampled to choose a column's type, so a column mixing numbers and text comes
    as text (numbers as Excel shows them) rather than losing the odd cell."""
    sheet = reader.load_sheet(sheet_name, header_row=header_row, schema_sample_rows=None,
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
    return Table(sheet_name, tuple(header), columns, header_row + 2, first_col)


def _arrow_series(array) -> pd.Series:
    kind = array.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return pd.Series(array.to_numpy(zero_copy_only=False).astype("datetime64[s]"))
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        return pd.Series(array.to_numpy(zero_copy_only=False).astype("float64"))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pd.Series(array.to_pandas(), dtype="str")
    return pd.Series(array.to_pylist(), dtype=object)
