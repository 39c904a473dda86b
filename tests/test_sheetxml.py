"""Tables written a column at a time (sheetxml) hold exactly what a cell-by-cell writer would."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pandas as pd

from promo_cli.io.writers.sheet import Cents, Col, Styles, close_book, new_workbook, write_table

COLUMNS = [Col("编号", "id"), Col("名称", "text"), Col("金额", "money", total=True), Col("日期", "date"),
           Col("比例", "rate"), Col("数", "number", total=True), Col("合计", "formula", total=True)]
ROWS = [
    ("00012345", "=SUM(A1)", 123456, date(2026, 7, 1), Decimal("0.0125"), 3, ("=C2*2", Decimal("2469.12"))),
    ("A&B<C>", "  前后空格  ", -5, datetime(2026, 12, 31, 13, 5), Decimal("0.1"), Cents(250), ("=C3*2", Decimal("-0.10"))),
    ("_x0041_", "tab\there\x01bell", None, None, None, None, ("=C4*2", 7)),
    ("", "客户" * 20000, 0, pd.Timestamp("2026-02-28"), Decimal("1"), Decimal("1.5"), ("=C5*2", Decimal("0.00"))),
]


def test_every_kind_of_cell_reads_back_exactly(tmp_path):
    path = tmp_path / "t.xlsx"
    book = new_workbook(path)
    styles = Styles(book)
    sheet = book.add_worksheet("T")
    sheet.write_string(0, 0, "标题")
    layout = write_table(sheet, styles, COLUMNS, ROWS, top=2, totals_label="合计")
    close_book(book)
    assert layout == {"first": 3, "last": 6, "totals_row": 7}

    ws = openpyxl.load_workbook(path)["T"]
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=4, max_row=7)]
    assert values[0][:6] == ["00012345", "=SUM(A1)", 1234.56, datetime(2026, 7, 1), 0.0125, 3]
    assert values[1][:6] == ["A&B<C>", "  前后空格  ", -0.05, datetime(2026, 12, 31), 0.1, 2.5]
    # a control character is stored as Excel's _xHHHH_ escape (Excel shows the character; openpyxl
    # shows the escape), and a literal "_x0041_" is escaped so that it stays itself
    assert values[2][:6] == ["_x0041_", "tab\there_x0001_bell", None, None, None, None]
    assert values[3][0] is None and len(values[3][1]) == 32767 and values[3][2] == 0
    assert values[3][3] == datetime(2026, 2, 28) and values[3][5] == 1.5
    assert [row[6] for row in values] == ["=C2*2", "=C3*2", "=C4*2", "=C5*2"]
    # text stays text (never a formula), each cell in its column's format
    assert ws["B4"].data_type == "s" and ws["A4"].data_type == "s"
    assert ws["C4"].number_format == "#,##0.00;[Red]-#,##0.00"
    assert ws["F5"].number_format == "#,##0.00;[Red]-#,##0.00"        # Cents: money in a count column
    assert ws["F4"].number_format == "#,##0.####"
    assert ws["G6"].number_format == "#,##0"                            # a count's formula
    assert ws["D4"].number_format == "yyyy-mm-dd"
    assert [ws.cell(8, j).value for j in (1, 3, 6, 7)] == ["合计", "=SUM(C4:C7)", "=SUM(F4:F7)", "=SUM(G4:G7)"]

    cached = openpyxl.load_workbook(path, data_only=True)["T"]
    assert cached["G4"].value == 2469.12 and cached["G6"].value == 7
    assert cached["C8"].value == 1234.51                                  # 1,234.56 − 0.05 + 0
    assert cached["F8"].value == 7                                        # 3 + 2.50 + 1.5
    assert cached["G8"].value == 2476.02


def test_a_frame_and_an_empty_table(tmp_path):
    path = tmp_path / "f.xlsx"
    book = new_workbook(path)
    styles = Styles(book)
    frame = pd.DataFrame({"id": ["007", None], "amount": pd.array([100, None], dtype="Int64"),
                          "day": pd.to_datetime(["2026-01-31", None])})
    write_table(book.add_worksheet("F"), styles, [Col("id", "id"), Col("amount", "money"), Col("day", "date")], frame)
    write_table(book.add_worksheet("E"), styles, [Col("a", "text"), Col("b", "money", total=True)], [],
                totals_label="合计")
    close_book(book)
    wb = openpyxl.load_workbook(path, data_only=True)
    assert [[c.value for c in row] for row in wb["F"].iter_rows(min_row=2)] == [
        ["007", 1.0, datetime(2026, 1, 31)], [None, None, None]]
    assert [[c.value for c in row] for row in wb["E"].iter_rows(min_row=2)] == [["—", None], ["合计", 0]]
