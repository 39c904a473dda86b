"""Ledgers as they really arrive (issue 16): every file read exactly, or refused with the reason
at its row and column. Each test builds the file the way the exporting program would."""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
import xlwt

from promo_cli.engine import load, settle
from promo_cli.io.readers import read_ledger
from tests.conftest import PAYMENT_HEADERS, order, payment, write_campaign, write_csv

PAY = ["收款单号", "订单号", "客户编号", "收款日期", "收款金额"]
PAY_ROWS = [["RC1", "SO1", "C001", "2026/8/19", "3,985.35"], ["RC2", "SO2", "C002", "2026/8/20", "120.00"]]
BUY = ["订单号", "客户编号", "订单日期", "金额"]


def read(tmp_path: Path, data: bytes, name: str = "p.csv", role: str = "payments"):
    path = tmp_path / name
    path.write_bytes(data)
    return read_ledger(path, role)


def codes(findings, severity=None):
    return [f.code for f in findings if severity is None or f.severity == severity]


def blocked(findings) -> list[str]:
    return [f.code for f in findings if f.blocking]


def amounts(ledger) -> list[int]:
    return [int(v) for v in ledger.frame["amount"]]


def csv_bytes(rows, delimiter=",", quote_all=True, newline="\n", encoding="utf-8") -> bytes:
    quote = (lambda c: f'"{c}"') if quote_all else (lambda c: c)
    return (newline.join(delimiter.join(quote(c) for c in row) for row in rows) + newline).encode(encoding)


# --------------------------------------------------------------------------- text files

def test_unquoted_thousands_separators_are_refused_and_named(tmp_path):
    ledger, findings = read(tmp_path, csv_bytes([PAY] + PAY_ROWS, quote_all=False))
    assert blocked(findings) == ["unquoted-thousands"]
    bad = [f for f in findings if f.code == "unquoted-thousands"]
    assert [(f.row, f.cell, f.value, dict(f.params)["fields"]) for f in bad] == [(2, "E2", "3,985.35", 6)]


def test_a_ragged_row_without_a_likely_cause_is_refused(tmp_path):
    rows = [PAY, ["RC1", "SO1", "C001", "2026/8/19", "3985.35", "stray"]]
    ledger, findings = read(tmp_path, csv_bytes(rows, quote_all=False))
    assert [(f.code, f.row) for f in findings if f.blocking] == [("ragged-row", 2)]
    short = [PAY, ["RC1", "SO1", "C001", "2026/8/19"]]
    assert codes(read(tmp_path, csv_bytes(short, quote_all=False))[1], "error") == ["ragged-row", "missing-value"]


def test_trailing_empty_fields_are_not_ragged(tmp_path):
    ledger, findings = read(tmp_path, b"\n".join([",".join(PAY).encode(), b"RC1,SO1,C001,2026/8/19,12.50,,"]))
    assert amounts(ledger) == [1250] and codes(findings, "error") == []


def test_a_decimal_comma_locale_is_refused_not_read_a_hundred_times_too_large(tmp_path):
    rows = [PAY, ["RC1", "SO1", "C001", "19.08.2026", "3.985,35"]]
    ledger, findings = read(tmp_path, csv_bytes(rows, delimiter=";", quote_all=False))
    assert sorted(blocked(findings)) == ["decimal-comma", "not-a-date"]     # 19.08.2026 is refused too
    assert next(f for f in findings if f.code == "decimal-comma").cell == "E2"


def test_excel_text_guard_and_invisible_characters_in_ids(tmp_path):
    rows = [PAY, ['="RC1"', '="SO1"', '="00012345"', "2026/8/19", "12.50"],
            ["RC2", "SO2", "0001\u200b2345", "2026/8/19", "1.00"], ["RC3", "SO3", "\u00a0０００１２３４５ ", "2026/8/19", "1"]]
    text = "\n".join(",".join(r) for r in rows) + "\n"
    ledger, findings = read(tmp_path, text.encode())
    assert list(ledger.frame["customer_id"]) == ["00012345"] * 3
    assert list(ledger.frame["payment_id"]) == ["RC1", "RC2", "RC3"]
    assert "text-guard" in codes(findings, "info")
    changed = [(f.row, dict(f.params)["shown"]) for f in findings if f.code == "id-normalised"]
    assert changed == [(3, "0001<U+200B>2345"), (4, "<U+00A0>０００１２３４５ ")]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_excel_unicode_text_is_read(tmp_path, encoding):
    data = ("\r\n".join("\t".join(r) for r in [PAY] + PAY_ROWS) + "\r\n").encode(encoding)
    ledger, findings = read(tmp_path, data)
    assert amounts(ledger) == [398535, 12000] and codes(findings) == ["read-as-text"]


def test_gbk_bytes_behind_a_utf8_bom(tmp_path):
    ledger, findings = read(tmp_path, codecs.BOM_UTF8 + csv_bytes([PAY] + PAY_ROWS, encoding="gb18030"))
    assert amounts(ledger) == [398535, 12000] and codes(findings) == ["gbk-behind-bom"]


def test_big5_header_is_shown_readably_in_a_refusal(tmp_path):
    ledger, findings = read(tmp_path, "單號,日期,金額\nA1,2026/5/1,3\n".encode("big5"))
    assert ledger is None and "單號 | 日期 | 金額" in dict(findings[0].params)["header"]


def test_big5_ledger_is_read(tmp_path):
    rows = [["付款單號", "訂單號", "客戶編號", "付款日期", "付款金額"], ["RC1", "SO1", "C001", "2026/8/19", "12.50"]]
    ledger, _ = read(tmp_path, csv_bytes(rows, encoding="big5"))
    assert amounts(ledger) == [1250]


@pytest.mark.parametrize("newline", ["\r", "\r\n"])
def test_old_mac_line_endings_and_a_stray_cr(tmp_path, newline):
    ledger, findings = read(tmp_path, csv_bytes([PAY] + PAY_ROWS, newline=newline))
    assert amounts(ledger) == [398535, 12000] and codes(findings, "error") == []
    stray = ",".join(PAY) + "\r\nRC1,SO1,C0\r01,2026/8/19,12.50\r\n"     # a CR inside an unquoted field
    ledger, findings = read(tmp_path, stray.encode())
    assert ledger.rows == 1 and codes(findings, "info") == ["bare-cr"]


def test_title_lines_a_total_line_footer_and_a_trailing_ctrl_z(tmp_path):
    rows = [["收款明细表"], ["导出时间:2026-11-30"], [], PAY] + PAY_ROWS + [["合计", "", "", "", "4,105.35"],
                                                                           ["制表人:张三"]]
    data = "\n".join(",".join(f'"{c}"' for c in r) for r in rows).encode() + b"\n\x1a"
    ledger, findings = read(tmp_path, data)
    assert amounts(ledger) == [398535, 12000] and list(ledger.frame["_row"]) == [5, 6]
    assert codes(findings) == ["title-lines", "total-row-skipped", "footer-rows-skipped"]
    total = next(f for f in findings if f.code == "total-row-skipped")
    assert (total.row, total.cell) == (7, "E7")


def test_a_total_line_that_does_not_add_up_is_an_error(tmp_path):
    rows = [PAY] + PAY_ROWS + [["合计", "", "", "", "9,999.99"]]
    ledger, findings = read(tmp_path, csv_bytes(rows))
    bad = next(f for f in findings if f.code == "total-row-differs")
    assert ledger is not None and bad.blocking and dict(bad.params)["added"] == "4,105.35"


def test_page_subtotals_then_a_grand_total(tmp_path):
    rows = [PAY, PAY_ROWS[0], ["小计", "", "", "", "3,985.35"], PAY_ROWS[1], ["本页小计", "", "", "", "120.00"],
            ["总计", "", "", "", "4,105.35"]]
    ledger, findings = read(tmp_path, csv_bytes(rows))
    assert amounts(ledger) == [398535, 12000] and blocked(findings) == []
    assert [f.row for f in findings if f.code == "total-row-skipped"] == [3, 5, 6]


def test_a_row_with_an_amount_under_the_total_is_never_a_note(tmp_path):
    rows = [PAY] + PAY_ROWS + [["合计", "", "", "", "4,105.35"], ["RC9", "", "", "", "50.00"]]
    ledger, findings = read(tmp_path, csv_bytes(rows))
    assert "footer-rows-skipped" not in codes(findings) and [f.row for f in findings if f.blocking] == [5, 5]


def test_units_in_headers(tmp_path):
    plain = [["收款单号", "订单号", "收款日期", "收款金额(元)"], ["RC1", "SO1", "2026/8/19", "12.50"]]
    assert amounts(read(tmp_path, csv_bytes(plain))[0]) == [1250]
    full_width = [["收款单号", "订单号", "收款日期", "收款金额（元）"], ["RC1", "SO1", "2026/8/19", "12.50"]]
    assert amounts(read(tmp_path, csv_bytes(full_width))[0]) == [1250]
    scaled = [["收款单号", "订单号", "收款日期", "收款金额(万元)"], ["RC1", "SO1", "2026/8/19", "12.50"]]
    ledger, findings = read(tmp_path, csv_bytes(scaled))
    assert ledger is None and [(f.code, dict(f.params)["unit"]) for f in findings] == [("header-unit", "万元")]
    tons = [BUY + ["数量(吨)"], ["SO1", "C1", "2026/8/19", "12.50", "3"]]
    ledger, findings = read(tmp_path, csv_bytes(tons), role="purchases")
    assert ledger is None and [(f.code, f.column) for f in findings] == [("header-unit", "数量(吨)")]


def test_a_value_in_a_column_without_a_header_is_refused(tmp_path):
    rows = [PAY + [""], ["RC1", "SO1", "C001", "2026/8/19", "12.50", "99"]]
    ledger, findings = read(tmp_path, csv_bytes(rows))
    assert [(f.code, f.cell, f.blocking) for f in findings] == [("value-without-header", "F2", True)]


def test_html_and_spreadsheetml_saved_as_xls(tmp_path):
    html = "<html><body><table><tr>" + "".join(f"<th>{h}</th>" for h in PAY) + "</tr>" + "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in PAY_ROWS) + "</table></body></html>"
    ledger, findings = read(tmp_path, html.encode("gb18030"), name="bank.xls")
    assert amounts(ledger) == [398535, 12000] and codes(findings) == ["mislabelled"]
    cells = lambda r: "".join(f'<Cell><Data ss:Type="String">{c}</Data></Cell>' for c in r)  # noqa: E731
    xml = ('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="收款"><Table>'
           + "".join(f"<Row>{cells(r)}</Row>" for r in [PAY] + PAY_ROWS) + "</Table></Worksheet></Workbook>")
    ledger, findings = read(tmp_path, xml.encode(), name="erp.xls")
    assert amounts(ledger) == [398535, 12000] and ledger.sheet == "收款"


def test_a_header_only_ledger_a_policy_needs_is_refused(tmp_path):
    write_csv(tmp_path / "purchases.csv", ["order_id", "customer_id", "order_date", "amount", "due_date"],
              [order("A1", "C1", "2026-08-01", "100", due_date="2026-08-31")])
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [])
    campaign = write_campaign(tmp_path, "- {id: on_time, type: on_time_payment, rate: 1%}\n")
    loaded, findings = load(campaign, {}, today=date(2099, 1, 1))
    assert loaded is None and [(f.code, f.blocking) for f in findings] == [("no-data-rows-needed", True)]


# --------------------------------------------------------------------------- workbooks

def _xls(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = xlwt.Workbook()
    dates = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, date):
                    sheet.write(r, c, datetime(value.year, value.month, value.day), dates)
                elif value is not None:
                    sheet.write(r, c, value)
    book.save(str(path))
    return path


def test_xls_with_columns_of_only_numbers_and_dates(tmp_path):
    path = _xls(tmp_path / "p.xls", {"Sheet1": [["订单号", "客户编号", "订单日期", "金额"],
                                               [1001, 77, date(2026, 8, 1), 1234.5],
                                               [1002, 78, date(2026, 8, 2), 0.1]]})
    ledger, findings = read_ledger(path, "purchases")
    assert codes(findings, "error") == [] and amounts(ledger) == [123450, 10]
    assert list(ledger.frame["order_id"]) == ["1001", "1002"]


def test_every_sheet_of_a_workbook_with_a_sheet_per_month(tmp_path):
    book = openpyxl.Workbook()
    july = book.active
    july.title = "7月"
    for row in ([BUY, ["SO1", "C1", date(2026, 7, 3), 100]]):
        july.append(row)
    book.create_sheet("说明").append(["本表由 ERP 导出"])
    august = book.create_sheet("8月")
    for row in ([BUY, ["SO2", "C2", date(2026, 8, 3), 200], ["SO3", "C3", "soon", 300]]):
        august.append(row)
    book.save(tmp_path / "p.xlsx")
    ledger, findings = read_ledger(tmp_path / "p.xlsx", "purchases")
    assert ledger is not None and list(ledger.frame["order_id"]) == ["SO1", "SO2", "SO3"]
    bad = next(f for f in findings if f.code == "not-a-date")
    assert (bad.sheet, bad.row, bad.cell) == ("8月", 3, "C3")
    assert {"sheets-read", "sheets-skipped"} <= set(codes(findings, "info"))
    assert [ledger.at("amount", int(r))["sheet"] for r in ledger.frame["_row"]] == ["7月", "8月", "8月"]
    from promo_cli.io.reread import reread_ledger
    checks, problems = reread_ledger(ledger, "order_id")
    assert [(key, e, a) for key, e, a, _ in checks] == [
        ("reread-rows:p.xlsx[7月]", 1, 1), ("reread-amount:p.xlsx[7月]", 10000, 10000),
        ("reread-rows:p.xlsx[8月]", 2, 2), ("reread-amount:p.xlsx[8月]", 50000, 50000)]


def test_an_id_repeated_on_another_sheet_is_a_duplicate(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(BUY)
    book.active.append(["SO1", "C1", date(2026, 7, 3), 100])
    second = book.create_sheet("B")
    second.append(BUY)
    second.append(["SO1", "C1", date(2026, 7, 4), 100])
    book.save(tmp_path / "p.xlsx")
    _, findings = read_ledger(tmp_path / "p.xlsx", "purchases")
    dup = next(f for f in findings if f.code == "duplicate-id")
    assert (dup.sheet, dup.row, dict(dup.params)["first_row"]) == ("B", 2, "Sheet!2")


def test_formulas_never_calculated_are_named(tmp_path):
    book = openpyxl.Workbook()          # openpyxl writes formulas without a cached value
    book.active.append(BUY)
    book.active.append(["SO1", "C1", date(2026, 7, 3), "=100*2"])
    book.save(tmp_path / "a.xlsx")
    _, findings = read_ledger(tmp_path / "a.xlsx", "purchases")
    assert [(f.code, f.cell) for f in findings] == [("formula-not-calculated", "D2")]
    book = xlsxwriter.Workbook(str(tmp_path / "b.xlsx"))   # xlsxwriter caches 0 and asks to recalculate
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, BUY)
    sheet.write_row(1, 0, ["SO1", "C1", "2026-07-03"])
    sheet.write_formula(1, 3, "=100*2")
    book.close()
    _, findings = read_ledger(tmp_path / "b.xlsx", "purchases")
    assert [(f.code, f.cell, f.blocking) for f in findings] == [("formula-not-calculated", "D2", True)]


def _rezip(raw: bytes, part: str, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            name = change(info.filename, data) if part == "*names*" else info.filename
            dst.writestr(name, change(info.filename, data) if info.filename == part else data)
    return out.getvalue()


def _small_xlsx(tmp_path: Path) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(BUY)
    book.active.append(["SO1", "C1", date(2026, 7, 3), 250000])
    book.active.append(["SO2", "C2", date(2026, 7, 4), 12.5])
    book.save(tmp_path / "base.xlsx")
    return (tmp_path / "base.xlsx").read_bytes()


def test_error_values_zero_dates_and_bare_times(tmp_path):
    raw = _rezip(_small_xlsx(tmp_path), "xl/worksheets/sheet1.xml",
                 lambda n, d: re.sub(rb'<c r="D3"[^>]*>.*?</c>', b'<c r="D3" t="e"><v>#N/A</v></c>', d))
    ledger, findings = read(tmp_path, raw, "p.xlsx", "purchases")
    assert [(f.code, f.cell, f.value) for f in findings] == [("cell-error", "D3", "#N/A")]
    book = openpyxl.Workbook()
    book.active.append(BUY)
    book.active.append(["SO1", "C1", 0, 250000])
    book.active.append(["SO2", "C2", time(9, 30), 1])
    book.active["C2"].number_format = "yyyy-mm-dd"
    book.save(tmp_path / "d.xlsx")
    _, findings = read_ledger(tmp_path / "d.xlsx", "purchases")
    assert [(f.code, f.cell, f.blocking) for f in findings] == [("zero-date", "C2", True), ("zero-date", "C3", True)]


@pytest.mark.parametrize("variant", ["no-references", "prefixed", "backslashes"])
def test_xlsx_as_other_generators_write_it(tmp_path, variant):
    raw = _small_xlsx(tmp_path)
    if variant == "no-references":
        raw = _rezip(raw, "xl/worksheets/sheet1.xml", lambda n, d: re.sub(rb' r="[A-Z]*[0-9]+"', b"", d))
    elif variant == "prefixed":      # the .NET OpenXML SDK: x:row, x:c, x:v
        raw = _rezip(raw, "xl/worksheets/sheet1.xml", lambda n, d: re.sub(
            rb"<(/?)(worksheet|sheetData|row|c|v|is|t|dimension|sheetViews|sheetView|selection|"
            rb"sheetFormatPr|pageMargins|sheetPr|outlinePr|pageSetUpPr)\b",
            rb"<\1x:\2", d).replace(b'xmlns="http', b'xmlns:x="http'))
    else:
        raw = _rezip(raw, "*names*", lambda n, d: n.replace("/", "\\") if n.startswith("xl/") else n)
    ledger, findings = read(tmp_path, raw, "p.xlsx", "purchases")
    assert codes(findings, "error") == [] and amounts(ledger) == [25000000, 1250]
    from promo_cli.io.reread import reread_ledger
    checks, problems = reread_ledger(ledger, "order_id")
    assert problems == [] and [(e, a) for _, e, a, _ in checks] == [(2, 2), (25001250, 25001250)]


def test_legacy_password_protected_xls_is_called_so(tmp_path):
    raw = bytearray(_xls(tmp_path / "p.xls", {"S": [BUY, ["SO1", "C1", date(2026, 7, 3), 1]]}).read_bytes())
    bof = raw.find(b"\x09\x08\x10\x00", 512)
    raw[bof + 20:bof + 22] = b"\x2f\x00"          # FILEPASS right after BOF: what encryption writes
    ledger, findings = read(tmp_path, bytes(raw), "p.xls", "purchases")
    assert ledger is None and codes(findings) == ["workbook-password"]


@pytest.mark.skipif(not Path("/usr/bin/soffice").exists(), reason="LibreOffice is not installed: "
                    "apt-get install libreoffice-calc-nogui (.ci/run installs it)")
def test_ods_written_by_libreoffice(tmp_path):
    import subprocess
    (tmp_path / "p.xlsx").write_bytes(_small_xlsx(tmp_path))
    subprocess.run(["soffice", "--headless", "--convert-to", "ods", "--outdir", str(tmp_path), str(tmp_path / "p.xlsx")],
                   check=True, capture_output=True, timeout=120)
    ledger, findings = read_ledger(tmp_path / "p.ods", "purchases")
    assert codes(findings, "error") == [] and amounts(ledger) == [25000000, 1250]


# --------------------------------------------------------------------------- the second reading

def test_the_second_reading_catches_a_misread_every_other_check_missed(tmp_path, monkeypatch):
    """Were the reader to accept a row split by an unquoted thousands separator (as it did),
    the simple second reader sees the row out of line with its header: needs review."""
    from promo_cli.io.readers import values
    monkeypatch.setattr(values, "_judge_rows", lambda *args: [])
    (tmp_path / "purchases.csv").write_text("order_id,customer_id,order_date,amount,due_date\n"
                                            "A1,C1,2026-08-01,3985.35,2026-08-31\n", encoding="utf-8")
    (tmp_path / "payments.csv").write_text("payment_id,order_id,payment_date,amount\n"
                                           "P1,A1,2026-08-02,3,985.35\n", encoding="utf-8")
    campaign = write_campaign(tmp_path, "- {id: on_time, type: on_time_payment, rate: 1%}\n")
    loaded, findings = load(campaign, {}, today=date(2099, 1, 1))
    s = settle(loaded, findings)
    assert s.customers[0].rebates["on_time"] == 0            # the misread: 3.00 paid of 3,985.35
    assert s.status == "needs_review" and "reread-differs" in codes(s.findings, "error")
    rows = {key: (expected, actual) for key, expected, actual, _ in s.reconciliation}
    assert rows["reread-amount:payments.csv"] == (300, 0)
    from promo_cli.messages import message
    said = message(next(f for f in s.findings if f.code == "reread-differs"), "zh")
    assert "金额列合计与引擎不一致:引擎 3.00,重读 0.00,另有 1 行的金额无法读出" in said


def test_the_second_reading_agrees_on_a_clean_ledger(tmp_path, run_campaign):
    s = run_campaign("- {id: on_time, type: on_time_payment, rate: 1%}\n",
                     [order("A1", "C1", "2026-08-01", "1,000.50", due_date="2026-08-31")],
                     [payment("P1", "A1", "2026-08-02", "1000.50")])
    rows = {key: (expected, actual) for key, expected, actual, _ in s.reconciliation}
    assert rows["reread-rows:purchases.csv"] == (1, 1) and rows["reread-amount:purchases.csv"] == (100050, 100050)
    assert "reread-differs" not in codes(s.findings)



def test_a_large_ledger_is_reread_on_a_sample_of_its_first_rows(tmp_path, run_campaign, monkeypatch):
    from promo_cli.io import reread
    monkeypatch.setattr(reread, "REREAD_ROWS", 2)
    s = run_campaign("- {id: ladder, type: tiered, tiers: [{from: 0, rate: 1%}]}\n",
                     [order("A1", "C1", "2026-08-01", "10"), order("A2", "C1", "2026-08-02", "20.50"),
                      order("A3", "C2", "2026-08-03", "30")])
    rows = {key: (expected, actual) for key, expected, actual, _ in s.reconciliation}
    assert rows["reread-rows:purchases.csv"] == (2, 2) and rows["reread-amount:purchases.csv"] == (3050, 3050)
    assert s.status == "ok"


def test_a_deposit_ledger_split_over_two_sheets_settles_the_same(tmp_path):
    """The prepaid sample, its rows split over two sheets: the same figures, and every row it
    points back to names its sheet."""
    root = Path(__file__).resolve().parent.parent
    source = openpyxl.load_workbook(root / "sample_data" / "deposits.xlsx").worksheets[0]
    rows = list(source.iter_rows(values_only=True))
    book = openpyxl.Workbook()
    first = book.active
    first.title = "上半"
    second = book.create_sheet("下半")
    half = len(rows) // 2
    for sheet, part in ((first, rows[:half]), (second, [rows[0]] + rows[half:])):
        for r in part:
            sheet.append(r)
    book.save(tmp_path / "deposits.xlsx")
    campaign = root / "policies" / "prepaid_deposit.yaml"
    whole = settle(*load(campaign, {}, date(2026, 12, 31)))
    split = settle(*load(campaign, {"deposits": tmp_path / "deposits.xlsx"}, date(2026, 12, 31)))
    assert {k: v.totals() for k, v in split.deposits.items()} == {k: v.totals() for k, v in whole.deposits.items()}
    violation = next(f for f in split.findings if f.code == "cap-violation")
    assert violation.sheet in ("上半", "下半") and violation.row < half + 2
    ledger = split.ledgers.deposits
    assert {ledger.row_label(lot.source_row).split("!")[0] for lot in next(iter(split.deposits.values())).lots
            if lot.source_row} == {"上半", "下半"}


@pytest.mark.parametrize("variant", ["plain", "bom", "gbk-behind-bom", "utf-16", "cr", "title-total-ctrl-z", "guard",
                                     "semicolon"])
def test_the_second_reading_agrees_on_every_accepted_text_form(tmp_path, variant):
    from promo_cli.io.reread import reread_ledger
    rows = [PAY] + PAY_ROWS
    data = {
        "plain": csv_bytes(rows),
        "bom": codecs.BOM_UTF8 + csv_bytes(rows),
        "gbk-behind-bom": codecs.BOM_UTF8 + csv_bytes(rows, encoding="gb18030"),
        "utf-16": csv_bytes(rows, delimiter="\t", quote_all=False, newline="\r\n", encoding="utf-16"),
        "cr": csv_bytes(rows, newline="\r"),
        "title-total-ctrl-z": csv_bytes([["收款明细"], []] + rows + [["合计", "", "", "", "4,105.35"]]) + b"\x1a",
        "guard": "\n".join(",".join(f'="{c}"' if j < 3 and i else f'"{c}"' for j, c in enumerate(r))
                           for i, r in enumerate(rows)).encode(),
        "semicolon": csv_bytes(rows, delimiter=";"),
    }[variant]
    ledger, findings = read(tmp_path, data)
    assert blocked(findings) == [] and amounts(ledger) == [398535, 12000]
    checks, problems = reread_ledger(ledger, "payment_id")
    assert problems == [] and [(e, a) for _, e, a, _ in checks] == [(2, 2), (410535, 410535)]
