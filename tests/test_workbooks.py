"""Golden workbooks: a small hand-computed campaign checked cell by cell.

Tiers 0 → 1%, 1,000 → 2% (marginal); on time 0.5%.
C1 (named like a formula): A1 800.00 paid on time, A2 700.50 paid late.
    ladder 1% × 1000 + 2% × 500.50 = 20.01; on time 0.5% × 800 = 4.00; total 24.01
00012: B1 1001.00 paid on its due date.
    ladder 10.00 + 2% × 1.00 = 10.02; on time 5.005 → 5.01; total 15.03
Budget: 100 + 50 + 25.55 + rebate; contingency 5%.
    planned: 215.55 + 10.78 (10.7775) = 226.33; with settled rebate 39.04: 214.59 + 10.73 = 225.32
"""

from datetime import date, datetime
from decimal import Decimal

import csv
import openpyxl
import pytest

from promo_cli.engine import load, settle
from promo_cli.io.writers import write_outputs
from promo_cli.io.writers.sheet import DATE_FORMAT, MONEY_FORMAT
from tests.conftest import (
    PAYMENT_HEADERS,
    PURCHASE_HEADERS,
    order,
    payment,
    write_campaign,
    write_csv,
)

POLICIES = """\
- id: ladder
  name: 阶梯返利
  type: tiered
  tiers: [{from: 0, rate: 1%}, {from: 1000, rate: 2%}]
- id: on_time
  type: on_time_payment
  rate: 0.5%
"""
BUDGET = """\
budget:
  promotion: {online: 100}
  customer_service: {hotline: 50}
  other: {x: 25.55}
  rebate_estimate: 40
  contingency_rate: 5%
"""
NAME = '=HYPERLINK("http://example.invalid","x")'
GENERATED = datetime(2026, 11, 23, 9, 30)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("golden")
    write_csv(folder / "purchases.csv", PURCHASE_HEADERS, [
        order("A1", "C1", "2026-08-01", "800", due_date="2026-08-31", customer_name=NAME),
        order("A2", "C1", "2026-08-02", "700.50", due_date="2026-08-31", customer_name=NAME),
        order("B1", "00012", "2026-08-03", "1001.00", due_date="2026-08-31", customer_name="@SUM(1+1)"),
    ])
    write_csv(folder / "payments.csv", PAYMENT_HEADERS, [
        payment("P1", "A1", "2026-08-10", "800"), payment("P2", "A2", "2026-09-05", "700.50"),
        payment("P3", "B1", "2026-08-31", "1001"),
    ])
    campaign = write_campaign(folder, POLICIES)
    campaign.write_text(campaign.read_text(encoding="utf-8") + BUDGET, encoding="utf-8")
    loaded, findings = load(campaign, {}, today=date(2099, 1, 1))
    write_outputs(settle(loaded, findings), folder / "out", "en", GENERATED)
    return folder / "out"


def book(out, name, data_only=False):
    return openpyxl.load_workbook(out / name, data_only=data_only)


def exact(value):
    """A number cell as the exact decimal written in the file (openpyxl gives floats)."""
    return Decimal(repr(value)) if isinstance(value, float) else value


def row_values(row):
    return [exact(c.value) for c in row]


def test_summary_sheet(out):
    ws = book(out, "rebate_detail.xlsx")["Summary"]
    assert ws["A1"].value == "Campaign: 测试活动"
    assert [ws.cell(r, 2).value for r in range(2, 9)] == [
        "测试活动 (test)", "2026-07-01 – 2026-12-31", "2026-12-31", "CNY", "ok", "2026-11-23 09:30:00",
        "promo 0.1.0"]
    assert [c.value for c in ws[10]] == ["Customer ID", "Customer name", "Net purchases in period",
                                         "阶梯返利 (ladder)", "on_time", "Total rebate"]
    assert all(c.font.b for c in ws[10])
    assert row_values(ws[11]) == ["00012", "@SUM(1+1)", Decimal("1001.00"), Decimal("10.02"),
                                         Decimal("5.01"), "=SUM(D11:E11)"]
    assert row_values(ws[12])[:5] == ["C1", NAME, Decimal("1500.50"), Decimal("20.01"), Decimal("4.00")]
    assert ws["A11"].data_type == "s" and ws["A11"].number_format == "@"
    assert ws["B12"].data_type == "s"  # a name that looks like a formula stays text
    assert ws["C11"].number_format == MONEY_FORMAT
    assert [c.value for c in ws[13]] == ["Total", None, "=SUM(C11:C12)", "=SUM(D11:D12)", "=SUM(E11:E12)",
                                         "=SUM(F11:F12)"]
    assert ws.freeze_panes == "A11" and ws.auto_filter.ref == "A10:F12"
    cached = book(out, "rebate_detail.xlsx", data_only=True)["Summary"]
    assert [cached.cell(13, c).value for c in range(3, 7)] == [2501.5, 30.03, 9.01, 39.04]
    assert [cached.cell(r, 6).value for r in (11, 12)] == [15.03, 24.01]


def test_lines_explain_and_add_up_to_the_summary(out):
    wb = book(out, "rebate_detail.xlsx")
    lines = wb["Lines"]
    header = [c.value for c in lines[1]]
    rows = [dict(zip(header, row_values(row))) for row in lines.iter_rows(min_row=2)]
    body, total = rows[:-1], rows[-1]
    assert [(r["Customer ID"], r["Policy"], r["Reference"], r["Rebate"]) for r in body] == [
        ("00012", "阶梯返利 (ladder)", "1", Decimal("10.00")),
        ("00012", "阶梯返利 (ladder)", "2", Decimal("0.02")),
        ("00012", "on_time", "B1", Decimal("5.01")),
        ("C1", "阶梯返利 (ladder)", "1", Decimal("10.00")),
        ("C1", "阶梯返利 (ladder)", "2", Decimal("10.01")),
        ("C1", "on_time", "A1", Decimal("4.00")),
        ("C1", "on_time", "A2", Decimal("0.00")),
    ]
    assert body[2]["Exact amount"] == Decimal("5.005")
    assert body[2]["Source"] == "purchases.csv!4"
    assert "late" in body[6]["Explanation"] and "2026-09-05" in body[6]["Explanation"]
    assert lines.cell(2, header.index("Rate") + 1).number_format.endswith("%")
    assert lines.cell(4, header.index("Due date") + 1).number_format == DATE_FORMAT
    assert total["Rebate"] == "=SUM(K2:K8)"
    summary = wb["Summary"]
    for r in (11, 12):
        customer = summary.cell(r, 1).value
        for col, policy in ((4, "阶梯返利 (ladder)"), (5, "on_time")):
            assert sum(x["Rebate"] for x in body if x["Customer ID"] == customer and x["Policy"] == policy) \
                == exact(summary.cell(r, col).value)


def test_orders_and_policy_sheets(out):
    wb = book(out, "rebate_detail.xlsx")
    orders = [[c.value for c in row] for row in wb["Orders"].iter_rows(min_row=2)]
    assert [(o[0], o[1], o[9]) for o in orders] == [(2, "A1", "yes"), (3, "A2", "yes"), (4, "B1", "yes")]
    policy = [[c.value for c in row] for row in wb["Policy"].iter_rows(min_row=2)]
    # as the campaign file writes it: rates in %, amounts plain, yes/no in words, nothing as a blank
    assert ["ladder", "阶梯返利", "tiered", "tiers[2]", "from: 1000, rate: 2%"] in policy
    assert ["on_time", None, "on_time_payment", "rate", "0.5%"] in policy
    assert not [row for row in policy if any(word in str(row[4]) for word in ("Decimal", "None", "True", "False"))]


def test_budget(out):
    ws = book(out, "budget.xlsx", data_only=True)["Budget"]
    values = {ws.cell(r, 1).value: (ws.cell(r, 3).value, ws.cell(r, 4).value) for r in range(11, ws.max_row + 1)}
    assert values["Subtotal"] == (215.55, 214.59)
    assert values["Contingency"] == (10.78, 0)              # a reserve: planned, never spent
    assert values["Total budget"] == (226.33, 214.59)
    formulas = book(out, "budget.xlsx")["Budget"]
    row = next(r for r in range(1, formulas.max_row + 1) if formulas.cell(r, 1).value == "Contingency")
    assert formulas.cell(row, 3).value == f"=ROUND(C{row - 1}*B{row},2)"


def test_audit_report(out):
    wb = book(out, "audit_report.xlsx")
    recon = [[c.value for c in row] for row in wb["Reconciliation"].iter_rows(min_row=2)]
    assert recon and all(r[4] == "yes" for r in recon)
    inputs = [[c.value for c in row] for row in wb["Inputs"].iter_rows(min_row=2, max_row=4)]
    assert [r[0] for r in inputs] == ["campaign file", "purchases", "payments"]
    assert all(len(r[4]) == 64 for r in inputs)


def _three_orders(tmp_path):
    """Two customers, three orders, one paid: seven lines of detail (and a name that looks like a formula)."""
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [
        order("A1", "C1", "2026-08-01", "800", due_date="2026-08-31", customer_name=NAME),
        order("A2", "C1", "2026-08-02", "700.50", due_date="2026-08-31", customer_name=NAME),
        order("B1", "00012", "2026-08-03", "1001.00", due_date="2026-08-31", customer_name="-2+3")])
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [payment("P1", "A1", "2026-08-10", "800")])
    campaign = write_campaign(tmp_path, POLICIES)
    loaded, findings = load(campaign, {}, today=date(2099, 1, 1))
    return loaded, findings


def test_long_detail_goes_to_csv_beside_the_workbook(tmp_path, monkeypatch):
    from promo_cli.io.writers import sheet

    monkeypatch.setattr(sheet, "DETAIL_ROWS_LIMIT", 2)
    monkeypatch.setattr(sheet, "CSV_CHUNK_ROWS", 2)     # lines.csv is written in four pieces
    loaded, findings = _three_orders(tmp_path)
    written = write_outputs(settle(loaded, findings), tmp_path / "out", "en", GENERATED)
    assert sorted(p.name for p in written) == ["audit_report.xlsx", "budget.xlsx", "lines.csv", "orders.csv",
                                               "rebate_detail.xlsx", "recompute.csv", "summary.json"]
    lines = list(csv.reader((tmp_path / "out" / "lines.csv").open(encoding="utf-8-sig", newline="")))
    assert lines[0][:3] == ["Customer ID", "Customer name", "Policy"]
    assert len(lines) == 1 + 7   # 00012: 2 slices + 1 order; C1: 2 slices + 2 orders
    assert {row[1] for row in lines[1:]} == {"'-2+3", "'" + NAME}
    by_ref = {row[4]: row for row in lines[1:] if row[3] == "order"}
    assert by_ref["A1"][9:11] == ["4.00000", "4.00"] and by_ref["A1"][14] == "purchases.csv!2"
    # every exact amount at the finest scale of all lines, also in a piece of tier slices only
    assert {len(row[9].partition(".")[2]) for row in lines[1:]} == {5}
    orders = list(csv.reader((tmp_path / "out" / "orders.csv").open(encoding="utf-8-sig", newline="")))
    assert orders[3][:4] == ["4", "B1", "00012", "'-2+3"]
    summary = {r[0]: r[1] for r in book(tmp_path / "out", "rebate_detail.xlsx")["Summary"].iter_rows(
        max_row=10, values_only=True) if r[0]}
    assert summary["Lines are in"] == "lines.csv (7 rows)"
    note = book(tmp_path / "out", "rebate_detail.xlsx")["Lines"]["A1"].value
    assert "7 rows" in note and "lines.csv" in note


def test_long_detail_goes_to_typed_parquet_on_request(tmp_path, monkeypatch):
    """--detail-format parquet: the same rows as the CSV, typed (money a decimal exact to the cent,
    text as it is, never guarded: Parquet is data, not a sheet), in row groups of CSV_CHUNK_ROWS."""
    import pyarrow.parquet as pq
    from promo_cli.io.writers import sheet

    monkeypatch.setattr(sheet, "DETAIL_ROWS_LIMIT", 2)
    monkeypatch.setattr(sheet, "CSV_CHUNK_ROWS", 2)
    loaded, findings = _three_orders(tmp_path)
    s = settle(loaded, findings)
    written = write_outputs(s, tmp_path / "out", "en", GENERATED, detail_format="parquet")
    assert sorted(p.name for p in written) == ["audit_report.xlsx", "budget.xlsx", "lines.parquet", "orders.parquet",
                                               "rebate_detail.xlsx", "recompute.parquet", "summary.json"]
    lines = pq.ParquetFile(tmp_path / "out" / "lines.parquet")
    assert lines.metadata.num_rows == 7 and lines.metadata.num_row_groups == 4
    table = lines.read()
    assert table.column_names[:3] == ["Customer ID", "Customer name", "Policy"]
    assert {row["Customer name"] for row in table.to_pylist()} == {"-2+3", NAME}
    assert str(table.schema.field("Rebate").type) == "decimal128(24, 2)"
    assert str(table.schema.field("Due date").type) == "date32[day]"
    a1 = next(row for row in table.to_pylist() if row["Line type"] == "order" and row["Reference"] == "A1")
    assert (a1["Exact amount"], a1["Rebate"], a1["Due date"]) == (Decimal("4"), Decimal("4.00"), date(2026, 8, 31))
    total = sum((row["Rebate"] for row in table.to_pylist()), Decimal(0))
    assert total * 100 == sum(c.total_rebate for c in s.customers)
    assert pq.read_table(tmp_path / "out" / "orders.parquet").column("Order ID").to_pylist()[:3] == ["A1", "A2", "B1"]
    summary = {r[0]: r[1] for r in book(tmp_path / "out", "rebate_detail.xlsx")["Summary"].iter_rows(
        max_row=10, values_only=True) if r[0]}
    assert summary["Lines are in"] == "lines.parquet (7 rows)"
    assert "Parquet" in book(tmp_path / "out", "rebate_detail.xlsx")["Lines"]["A1"].value


def test_lines_past_the_excel_row_limit_continue_on_further_sheets(tmp_path, monkeypatch):
    """With the detail kept in the workbook, Lines longer than a sheet holds go on 'Lines 2', …
    each with its own header and totals, and the Summary says where they are."""
    from promo_cli.io.writers import sheet

    monkeypatch.setattr(sheet, "EXCEL_ROWS", 4)         # header + 2 lines + totals per sheet
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [
        order("A1", "C1", "2026-08-01", "800", due_date="2026-08-31"),
        order("A2", "C1", "2026-08-02", "700.50", due_date="2026-08-31"),
        order("B1", "C2", "2026-08-03", "1001.00", due_date="2026-08-31")])
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [payment("P1", "A1", "2026-08-10", "800")])
    loaded, findings = load(write_campaign(tmp_path, POLICIES), {}, today=date(2099, 1, 1))
    s = settle(loaded, findings)
    write_outputs(s, tmp_path / "out", "en", GENERATED, detail_rows=0)
    wb = book(tmp_path / "out", "rebate_detail.xlsx")
    assert len(s.lines) == 7
    assert [n for n in wb.sheetnames if n.startswith("Lines")] == ["Lines", "Lines 2", "Lines 3", "Lines 4"]
    rebates = []
    for name in ["Lines", "Lines 2", "Lines 3", "Lines 4"]:
        ws = wb[name]
        assert ws["A1"].value == "Customer ID"
        body = [r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] != "Total"]
        rebates += [r[10] for r in body]
        assert ws.cell(ws.max_row, 1).value == "Total"
        assert ws.cell(ws.max_row, 11).value == f"=SUM(K2:K{1 + len(body)})"
    assert sum(Decimal(str(v)) for v in rebates) == Decimal(sum(c.total_rebate for c in s.customers)) / 100
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(max_row=10, values_only=True) if r[0]}
    assert summary["Lines are in"] == "Lines, Lines 2, Lines 3, Lines 4 (7 rows)"


@pytest.mark.parametrize("formula", ["=SUM(D9:F9)", "=G9-H9", "=SUM(C9:C20008)", "=ROUND(B2*C2,2)",
                                     "=$B$3*2", "=IF(A1>0,A1,0)", "=XLOOKUP(A1,B:B,C:C)",
                                     "=SUM(FILTER(A1:A3,B1:B3))", "=ROUND(SEQUENCE(3),0)"])
def test_formulas_are_written_as_xlsxwriter_writes_them(tmp_path, formula):
    """Our worksheet skips xlsxwriter's scan for newer functions only where there is none to
    find: every formula comes out exactly as xlsxwriter itself would write it."""
    import xlsxwriter

    from promo_cli.io.writers.sheet import new_workbook

    ours = new_workbook(tmp_path / "a.xlsx").add_worksheet()
    theirs = xlsxwriter.Workbook(str(tmp_path / "b.xlsx")).add_worksheet()
    assert ours._prepare_formula(formula) == theirs._prepare_formula(formula)


def test_a_failed_background_write_leaves_nothing(tmp_path):
    """A detail CSV written in the background that fails: commit raises its error (an OSError
    stays an OSError, so the CLI says it cannot write) and no file, temporary or final, is left."""
    from promo_cli.io.atomic import Staging

    def fail(path):
        path.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        with Staging(tmp_path / "out") as staging:
            staging.path("rebate_detail.xlsx").write_text("done")
            staging.later(fail, staging.path("lines.csv"))
            staging.commit()
    assert list((tmp_path / "out").iterdir()) == []


def test_every_ledger_role_is_named_in_both_languages_in_the_inputs_sheet():
    """The Inputs sheet names each ledger's role in words: a deposit ledger is 预存流水 (not the
    deposit reconciliation's formula), the baseline 去年同期采购(基准)."""
    from promo_cli.engine import ROLES
    from promo_cli.i18n import LABELS
    assert all(f"role-{role}" in LABELS for role in ROLES)
    assert LABELS["role-deposits"][0] == "预存流水" and LABELS["role-baseline"][0] == "去年同期采购(基准)"
