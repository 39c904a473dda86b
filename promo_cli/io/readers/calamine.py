"""Workbooks cell by cell through python-calamine: xls (Excel 97-2003), xlsb, ods, and the
xlsx files the fast path cannot place (no cell references, odd part names, Strict OOXML)."""

from __future__ import annotations

import io

from python_calamine import CalamineWorkbook

from promo_cli.io.readers.table import Table, locate_header, rows_table, unreadable


def read_workbook(raw: bytes, role: str):
    """Yield every visible worksheet as a :class:`Table`, its header found by the column names."""
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(raw))
        visible = [meta.name for meta in workbook.sheets_metadata
                   if str(meta.typ).endswith("WorkSheet") and str(meta.visible).endswith("Visible")]
    except BaseException as exc:
        unreadable(exc)
    for sheet_name in visible:
        try:
            table = read_sheet(workbook, sheet_name, role)
        except BaseException as exc:
            unreadable(exc)
        yield table


def read_sheet(workbook, sheet_name: str, role: str) -> Table:
    """One worksheet of an open calamine workbook."""
    sheet = workbook.get_sheet_by_name(sheet_name)
    start = sheet.start
    if start is None:
        return rows_table(sheet_name, [], 1, 0)
    return locate_header(rows_table(sheet_name, sheet.to_python(), start[0] + 1, start[1]), role)
