"""What every source format hands over: a table of raw cells, and where its header is.

Each format module (text, xlsx, calamine, markup) turns its bytes into :class:`Table` s; the
rest of reading (finding the header by the known column names, typing the cells, the
findings) is shared, so a new format is a new module and nothing else moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from python_calamine import PasswordError

from promo_cli.io import cells
from promo_cli.io.inspect import Unreadable
from promo_cli.io.columns import LEDGER_COLUMNS, Column, header_index, normalise_header

# How far below the first non-blank row the header may stand (title lines of statements).
HEADER_SEARCH_ROWS = 30


@dataclass(frozen=True, slots=True)
class Table:
    """One sheet (or a text file) column by column: ``columns[j][i]`` is the cell under header
    cell ``header[j]`` at Excel row ``first_row + i``. A column is a pandas Series: the fast
    readers give typed ones (Arrow text, float64, datetime64), the others Python objects.

    ``widths`` (text files) is the number of fields of each body row, for ragged rows;
    ``special`` maps (Excel row, 0-based column) to a cell that holds no value a ledger can
    use (``("formula", text)`` not calculated, ``("error", "#N/A")``); ``notes`` are
    (code, params) of how the table was read, turned into info findings."""

    sheet: str | None
    header: tuple[object, ...]
    columns: list[pd.Series]
    first_row: int
    first_col: int
    widths: np.ndarray | None = None
    special: dict[tuple[int, int], tuple[str, str]] = field(default_factory=dict)
    notes: tuple[tuple[str, dict], ...] = ()
    skipped_above: int = 0          # non-blank rows above the header (title lines), skipped

    def with_note(self, code: str, **params) -> "Table":
        return replace(self, notes=self.notes + ((code, params),))


def blank(column: pd.Series) -> np.ndarray:
    """Which cells are empty: missing, NaN/NaT, or text of only spaces."""
    missing = column.isna().to_numpy(dtype=bool, copy=True)
    if isinstance(column.dtype, pd.StringDtype) or column.dtype == "str":
        missing |= (column.str.strip() == "").fillna(False).to_numpy(dtype=bool)
    elif column.dtype == object:
        texts = column.map(lambda v: isinstance(v, str) and not v.strip(), na_action="ignore")
        missing |= texts.fillna(False).to_numpy(dtype=bool)
    return missing


def blank_rows(columns: list[pd.Series]) -> np.ndarray:
    out = np.ones(len(columns[0]) if columns else 0, dtype=bool)
    for column in columns:
        out &= blank(column)
    return out


def match_header(header: tuple[object, ...], role: str) -> tuple[dict[int, Column], int]:
    """{position: column} of the header cells that name a column of ``role``, and how many
    of the role's required columns are among them."""
    index = header_index(role)
    found: dict[int, Column] = {}
    for position, cell in enumerate(header):
        if cells.is_blank(cell):
            continue
        column = index.get(normalise_header(cells.parse_text(cell)))
        if column is not None:
            found[position] = column
    required = {c.name for c in LEDGER_COLUMNS[role] if c.required}
    return found, len(required & {c.name for c in found.values()})


def is_header(header: tuple[object, ...], role: str) -> bool:
    """Does this row hold every required column of ``role``?"""
    required = sum(1 for c in LEDGER_COLUMNS[role] if c.required)
    return match_header(header, role)[1] == required


def locate_header(table: Table, role: str) -> Table:
    """The table with its header at the first row (of the first HEADER_SEARCH_ROWS) that holds
    every required column of ``role``: title lines above it are dropped and counted. A table
    whose header is already right, or where no row qualifies, comes back as it is."""
    if not table.header or is_header(table.header, role) or not table.columns:
        return table
    depth = min(HEADER_SEARCH_ROWS, len(table.columns[0]))
    for i in range(depth):
        row = tuple(c.iloc[i] for c in table.columns)
        if is_header(row, role):
            # the row taken for the header at first, and the non-blank rows between it and this one
            skipped = 1 + int((~blank_rows([c.iloc[:i] for c in table.columns])).sum())
            widths = None if table.widths is None else table.widths[i + 1:]
            special = {k: v for k, v in table.special.items() if k[0] > table.first_row + i}
            return replace(table, header=row, columns=[c.iloc[i + 1:].reset_index(drop=True) for c in table.columns],
                           first_row=table.first_row + i + 1, widths=widths, special=special,
                           skipped_above=table.skipped_above + skipped)
    return table


def header_score(header: tuple[object, ...]) -> int:
    """How many cells of a row name a known column of any ledger (to choose a text encoding)."""
    return max(len(match_header(header, role)[0]) for role in LEDGER_COLUMNS)


def rows_table(sheet: str | None, rows: list[list[object]], first_row: int, first_col: int) -> Table:
    """A table from rows of Python values (``first_row``: the Excel row of ``rows[0]``): the
    first non-blank row is the header until :func:`locate_header` finds a better one."""
    for i, row in enumerate(rows):
        if any(not cells.is_blank(v) for v in row):
            body = rows[i + 1:]
            width = max([len(row)] + [len(r) for r in body])
            columns = [pd.Series([r[j] if j < len(r) else None for r in body], dtype=object)
                       for j in range(width)]
            return Table(sheet, tuple(row) + ("",) * (width - len(row)), columns, first_row + i + 1, first_col)
    return Table(sheet, (), [], first_row, first_col)


def unreadable(exc: BaseException):
    """Turn whatever a workbook library raised into an :class:`Unreadable`."""
    # calamine raises many types, and pyo3 panics are BaseException
    if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
        raise exc
    if isinstance(exc, PasswordError):
        raise Unreadable("workbook-password") from None
    raise Unreadable("workbook-corrupt", reason=f"{type(exc).__name__}: {exc}"[:300]) from None
