"""Reading ledgers as they really come: value forms, encodings, aliases, bad inputs."""

import csv
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promo_cli.io.readers import read_ledger
from promo_cli.money import to_cents

HEAD_ZH = ["订单号", "客户编号", "客户名称", "订单日期", "采购金额", "数量", "付款截止日期"]


def xlsx(path, rows, sheet="销售台账", at=(0, 0), numbers_as_dates=False):
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    ws = book.add_worksheet(sheet)
    fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, date):
                ws.write_datetime(at[0] + r, at[1] + c, pd.Timestamp(value).to_pydatetime(), fmt)
            elif isinstance(value, str):
                ws.write_string(at[0] + r, at[1] + c, value)
            elif value is not None:
                ws.write_number(at[0] + r, at[1] + c, value)
    book.close()
    return path


def test_xlsx_value_forms(tmp_path):
    path = xlsx(tmp_path / "p.xlsx", [
        HEAD_ZH,
        ["00012345", "00000077", "甲", date(2026, 11, 3), 1234.5, 3, date(2026, 12, 3)],
        [12345, "C2", "乙", "2026/11/3", "¥1,234.50", "4", "2026年12月3日"],
        ["A3", "C3", "丙", "2026年11月3日", " ￥-1,234.50 ", -1, 46359],      # Excel serial date
        ["A4", "C4", "丁", "2026-11-03", "1234.505", None, "20261203"],
    ])
    ledger, findings = read_ledger(path, "purchases")
    frame = ledger.frame
    assert list(frame["order_id"]) == ["00012345", "12345", "A3", "A4"]
    assert list(frame["customer_id"]) == ["00000077", "C2", "C3", "C4"]
    assert list(frame["amount"]) == [123450, 123450, -123450, 123451]
    assert {d.date() for d in frame["order_date"]} == {date(2026, 11, 3)}
    assert {d.date() for d in frame["due_date"]} == {date(2026, 12, 3)}
    assert list(frame["_row"]) == [2, 3, 4, 5]
    [rounded] = findings
    assert (rounded.code, rounded.severity, rounded.row, rounded.column, rounded.cell) == \
        ("amount-rounded", "warning", 5, "采购金额", "E5")


def test_rows_are_excel_rows_even_when_the_table_starts_lower(tmp_path):
    path = xlsx(tmp_path / "p.xlsx", [HEAD_ZH, ["A1", "C1", "甲", "2026-11-03", "x", 1, None]], at=(2, 1))
    ledger, findings = read_ledger(path, "purchases")
    [bad] = findings
    assert (bad.code, bad.file, bad.sheet, bad.row, bad.column, bad.cell, bad.value) == \
        ("not-a-number", "p.xlsx", "销售台账", 4, "采购金额", "F4", "x")
    assert bad.blocking


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_traditional_headers_and_leading_zeros(tmp_path, encoding):
    text = ("付款單號,訂單號,客戶編號,收款日期,收款金額\n"
            "00001,00012345,007,2026/11/3,\"1,234.50\"\n"
            "00002,A2,C2,2026年11月3日,￥ 10\n")  # GBK has only the full-width ￥
    path = tmp_path / "pay.csv"
    path.write_bytes(text.encode(encoding))
    ledger, findings = read_ledger(path, "payments")
    assert findings == []
    assert list(ledger.frame["payment_id"]) == ["00001", "00002"]
    assert list(ledger.frame["order_id"]) == ["00012345", "A2"]
    assert list(ledger.frame["customer_id"]) == ["007", "C2"]
    assert list(ledger.frame["amount"]) == [123450, 1000]


def test_english_and_spaced_headers_and_unknown_columns(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("Order ID, customer_id ,Amount,Order Date,Remarks\nA1,C1,10,2026-08-01,hello\n")
    ledger, findings = read_ledger(path, "purchases")
    assert findings == []
    assert ledger.frame.loc[0, "amount"] == 1000 and "Remarks" not in ledger.frame


def test_the_first_sheet_that_has_the_columns_is_read(tmp_path):
    book = xlsxwriter.Workbook(str(tmp_path / "p.xlsx"))
    book.add_worksheet("说明").write_string(0, 0, "本表由 ERP 导出")
    data = book.add_worksheet("数据")
    for c, h in enumerate(HEAD_ZH[:5]):
        data.write_string(0, c, h)
    for c, v in enumerate(["A1", "C1", "甲", "2026-08-01", "5"]):
        data.write_string(1, c, v)
    book.close()
    ledger, findings = read_ledger(tmp_path / "p.xlsx", "purchases")
    assert ledger.sheet == "数据" and [(f.code, dict(f.params)["sheets"]) for f in findings] == [("sheets-skipped", "说明")]


@pytest.mark.parametrize("content, code", [
    (None, "file-not-found"),
    (b"", "file-empty"),
    (b"PK\x03\x04garbage that is not a zip", "workbook-truncated"),
    (b"\x00\x01\x02\x03binary", "not-a-ledger"),
    ("订单号,客户编号,订单日期\nA1,C1,2026-08-01\n".encode(), "missing-column"),
])
def test_bad_files(tmp_path, content, code):
    path = tmp_path / "p.xlsx"
    if content is not None:
        path.write_bytes(content)
    ledger, findings = read_ledger(path, "purchases")
    assert ledger is None
    assert [f.code for f in findings if f.blocking] == [code]


def test_missing_column_names_what_is_accepted(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("订单号,客户编号,订单日期\nA1,C1,2026-08-01\n", encoding="utf-8")
    [f] = read_ledger(path, "purchases")[1]
    assert (f.column, f.row) == ("amount", 1) and "金额" in dict(f.params)["aliases"]


def test_bad_values_are_all_collected_with_their_cells(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("订单号,客户编号,订单日期,金额\n"
                    "A1,C1,2026-13-01,10\n"
                    "A2,,2026-08-01,abc\n"
                    "A1,C3,2026-08-01,5\n", encoding="utf-8")
    ledger, findings = read_ledger(path, "purchases")
    got = [(f.code, f.row, f.column, f.cell) for f in findings]
    assert got == [("not-a-date", 2, "订单日期", "C2"), ("missing-value", 3, "客户编号", "B3"),
                   ("not-a-number", 3, "金额", "D3"), ("duplicate-id", 4, "订单号", "A4")]
    assert dict(findings[-1].params)["first_row"] == 2
    assert all(f.blocking for f in findings)


def test_too_many_bad_cells_are_summed_up(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("订单号,客户编号,订单日期,金额\n" + "".join(f"A{i},C1,2026-08-01,x\n" for i in range(50)))
    findings = read_ledger(path, "purchases")[1]
    assert len(findings) == 21 and findings[-1].code == "more-like-this"
    assert dict(findings[-1].params)["count"] == 30


def test_header_only_ledger_is_a_warning(tmp_path):
    path = tmp_path / "pay.csv"
    path.write_text("付款单号,订单号,付款日期,金额\n", encoding="utf-8")
    ledger, findings = read_ledger(path, "payments")
    assert ledger is not None and ledger.rows == 0
    assert [(f.code, f.severity, f.blocking) for f in findings] == [("no-data-rows", "warning", False)]


def test_old_xls_workbooks(tmp_path):
    """tests/data/purchases.xls: a BIFF8 workbook saved by LibreOffice, traditional headers."""
    source = Path(__file__).parent / "data" / "purchases.xls"
    ledger, findings = read_ledger(source, "purchases")
    assert findings == []
    assert list(ledger.frame["order_id"]) == ["00012345", "A2"]
    assert list(ledger.frame["customer_id"]) == ["007", "C2"]
    assert list(ledger.frame["amount"]) == [123450, 200000]
    assert [d.date() for d in ledger.frame["order_date"]] == [date(2026, 8, 1), date(2026, 8, 3)]


def test_two_columns_meaning_the_same(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("订单号,客户编号,订单日期,金额,金額\nA1,C1,2026-08-01,5,5\n", encoding="utf-8")
    [f] = read_ledger(path, "purchases")[1]
    assert (f.code, f.row, f.column, dict(f.params)["other"], f.blocking) == ("duplicate-column", 1, "金額", "金额", True)


def test_an_empty_sheet_and_a_folder(tmp_path):
    book = xlsxwriter.Workbook(str(tmp_path / "p.xlsx"))
    book.add_worksheet("空")
    book.close()
    assert [f.code for f in read_ledger(tmp_path / "p.xlsx", "purchases")[1]] == ["sheet-empty"]
    assert [f.code for f in read_ledger(tmp_path, "purchases")[1]] == ["file-is-folder"]


@given(st.lists(st.decimals(min_value=-10**9, max_value=10**9, places=3, allow_nan=False), min_size=1, max_size=30),
       st.sampled_from(["{:f}", "{:,.2f}", "¥{:.2f}", " {:.1f} ", "{:.0f}"]))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_amount_text_reads_as_its_exact_cents(tmp_path_factory, amounts, form):
    path = tmp_path_factory.mktemp("amounts") / "p.csv"
    texts = [form.format(a) for a in amounts]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["订单号", "客户编号", "订单日期", "金额"])
        writer.writerows([f"A{i}", "C1", "2026-08-01", t] for i, t in enumerate(texts))
    ledger, _ = read_ledger(path, "purchases")
    assert list(ledger.frame["amount"]) == [to_cents(t) for t in texts]


def test_each_overflowing_column_gets_its_own_summing_up(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("订单号,客户编号,订单日期,金额\n" + "".join(f"A{i},C1,x,y\n" for i in range(25)), encoding="utf-8")
    findings = read_ledger(path, "purchases")[1]
    more = sorted((f.column, dict(f.params)["like"], dict(f.params)["count"]) for f in findings
                  if f.code == "more-like-this")
    assert more == [("订单日期", "not-a-date", 5), ("金额", "not-a-number", 5)]


def test_fast_reader_numbers_rows_and_columns_as_excel_does(tmp_path):
    """An empty sheet and a hidden one before the ledger, the table starting at C4 with a blank
    row inside and a column mixing numbers and text: every finding still names its Excel cell."""
    path = tmp_path / "p.xlsx"
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    book.add_worksheet("说明")                                   # empty
    hidden = book.add_worksheet("旧")
    hidden.write_row(0, 0, HEAD_ZH)
    hidden.hide()
    ws = book.add_worksheet("销售台账")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(3, 2, HEAD_ZH)
    rows = [["A1", "C1", "甲", 1500.5], None, ["A2", "C2", "乙", "12x"], ["A3", "C3", "丙", 0.1 + 0.2]]
    for r, row in enumerate(rows, start=4):
        if row:
            ws.write_row(r, 2, row[:3])
            ws.write_datetime(r, 5, pd.Timestamp("2026-08-01").to_pydatetime(), day)
            ws.write(r, 6, row[3])
    book.close()
    ledger, findings = read_ledger(path, "purchases")
    assert ledger.sheet == "销售台账"
    assert list(ledger.frame["_row"]) == [5, 7, 8]
    assert [None if pd.isna(v) else v for v in ledger.frame["amount"]] == [150050, None, 30]
    [bad] = [f for f in findings if f.code == "not-a-number"]
    assert (bad.row, bad.cell, bad.column, bad.value) == (7, "G7", "采购金额", "12x")
    assert ledger.headers["amount"] == ("采购金额", "G")


def test_repeated_text_is_one_string_per_distinct_value(tmp_path):
    """A customer column of a large ledger repeats a few thousand ids: each distinct id is one
    Python string shared by its rows (values unchanged, missing ones None)."""
    path = tmp_path / "purchases.csv"
    rows = [[f"SO{i:05d}", f" C{i % 3} ", "" if i == 4 else "甲", "2026-08-01", "10"] for i in range(40)]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["订单号", "客户编号", "客户名称", "订单日期", "金额"]] + rows)
    ledger, findings = read_ledger(path, "purchases")
    customers, names = ledger.frame["customer_id"], ledger.frame["customer_name"]
    assert list(customers[:4]) == ["C0", "C1", "C2", "C0"] and customers[0] is customers[3]
    assert names[4] is None and names[0] is names[5] == "甲"
    assert list(ledger.frame["order_id"][:2]) == ["SO00000", "SO00001"]
