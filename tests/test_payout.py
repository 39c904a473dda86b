"""From approval to money out (issue 17): batches pay each approved amount once, failed lines are
due again, claw-backs and offsets never reach the bank file, the journal balances, statements
agree with the Summary, and a payout that dies writes and records nothing."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from promo_cli.cli import app
from promo_cli.history import History
from tests.conftest import PAYMENT_HEADERS, PURCHASE_HEADERS, order, write_campaign, write_csv

runner = CliRunner()
POLICY = "- {id: ladder, name: 阶梯返利, type: tiered, tiers: [{from: 0, rate: 1%}]}\n"
MASTER = ["customer_id", "customer_name", "payout_method", "bank_name", "account_name", "account_no"]
PEOPLE = [
    {"customer_id": "00012", "customer_name": "甲公司", "payout_method": "银行转账", "bank_name": "工行",
     "account_name": "甲公司", "account_no": "0006222000001"},
    {"customer_id": "C2", "customer_name": "乙公司", "payout_method": "电子钱包", "bank_name": "财付通",
     "account_name": "=乙", "account_no": "wx-2"},
    {"customer_id": "C3", "customer_name": "丙公司", "payout_method": "账扣"},
    {"customer_id": "C4", "customer_name": "丁公司", "payout_method": "货补"},
    {"customer_id": "C5", "customer_name": "戊公司", "payout_method": "银行转账", "bank_name": "建行"},  # no account
    {"customer_id": "C6", "customer_name": "己公司", "payout_method": "支票"},
]
JULY = [order("A1", "00012", "2026-07-05", "1000"), order("A2", "C2", "2026-07-05", "400"),
        order("A3", "C3", "2026-07-05", "300"), order("A4", "C4", "2026-07-05", "200"),
        order("A5", "C5", "2026-07-05", "100"), order("A6", "C6", "2026-07-05", "50")]
AUGUST_RETURN = [order("R1", "00012", "2026-08-05", "-600")]          # a return: 6.00 clawed back


@pytest.fixture
def campaign(tmp_path):
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, JULY)
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [])
    write_csv(tmp_path / "customers.csv", MASTER, PEOPLE)
    return write_campaign(tmp_path, POLICY, period=("2026-07-01", "2026-09-30"),
                          inputs="{purchases: purchases.csv, customers: customers.csv}")


def cli(*args):
    return runner.invoke(app, [*args, "--lang", "en"])


def settle_and_approve(campaign, as_of):
    result = cli("settle", str(campaign), "--out", str(campaign.parent / f"s-{as_of}"), "--as-of", as_of,
                 "--by", "张三")
    assert result.exit_code == 0, result.output
    assert cli("approve", "latest", "--by", "王五", "--campaign", str(campaign)).exit_code == 0


def payout(campaign, name):
    result = cli("payout", "latest", "--campaign", str(campaign), "--out", str(campaign.parent / name), "--json")
    return result, (json.loads(result.stdout) if result.stdout.strip().startswith("{") else None)


def bank_rows(folder: Path) -> list[list[str]]:
    raw = (folder / "payout_batch.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(raw.decode("utf-8-sig").splitlines()))


def journal(folder: Path) -> list[dict]:
    return list(csv.DictReader((folder / "journal.csv").read_text(encoding="utf-8-sig").splitlines()))


def test_a_first_batch_pays_what_was_approved_and_holds_back_a_missing_account(campaign):
    settle_and_approve(campaign, "2026-07-31")
    result, summary = payout(campaign, "b1")
    assert result.exit_code == 3                                       # C5 held back: no account number
    assert [(l["customer_id"], l["amount"], l["payout_method"]) for l in summary["lines"]] == [
        ("00012", "10.00", "bank"), ("C2", "4.00", "ewallet"), ("C3", "3.00", "offset"), ("C4", "2.00", "goods"),
        ("C6", "0.50", "cheque")]
    assert [f["code"] for f in summary["findings"]] == ["payout-no-account"]
    rows = bank_rows(campaign.parent / "b1")
    assert rows[0] == ["reference", "customer_id", "payee_name", "bank_name", "account_no", "amount", "memo"]
    assert [r[1:6] for r in rows[1:]] == [["00012", "甲公司", "工行", "0006222000001", "10.00"],
                                          ["C2", "'=乙", "财付通", "wx-2", "4.00"]]   # text stays text
    book = openpyxl.load_workbook(campaign.parent / "b1" / "payout.xlsx")
    paid = [r for r in book["Payout"].iter_rows(values_only=True) if r[0] in ("00012", "C2", "C6")]
    offsets = [r for r in book["Offsets"].iter_rows(values_only=True) if r[0] in ("C3", "C4")]
    assert [(r[0], r[2]) for r in paid] == [("00012", 10), ("C2", 4), ("C6", 0.5)]
    cell = next(row[5] for row in book["Payout"].iter_rows() if row[0].value == "C2")
    assert (cell.value, cell.data_type) == ("=乙", "s")                  # ledger text is never a formula
    assert [(r[0], r[2]) for r in offsets] == [("C3", 3), ("C4", 2)]


def test_two_payouts_of_one_approval_pay_once(campaign):
    settle_and_approve(campaign, "2026-07-31")
    payout(campaign, "b1")
    result, summary = payout(campaign, "b2")
    assert result.exit_code == 3 and summary["batch"] is None and summary["lines"] == []   # C5 is still held back
    assert "already" in result.stderr or "empty" in result.stderr
    assert not (campaign.parent / "b2").exists()
    assert [b.id for b in History(campaign.parent / "promo-history.sqlite").batches()] == [1]


def test_a_failed_line_is_due_again_and_its_payment_reversed(campaign):
    settle_and_approve(campaign, "2026-07-31")
    _, first = payout(campaign, "b1")
    reference = next(l["reference"] for l in first["lines"] if l["customer_id"] == "C2")
    (campaign.parent / "failed.csv").write_text(f"reference\n{reference}\n", encoding="utf-8")
    confirm = cli("payout", "confirm", "latest", "--campaign", str(campaign), "--failed",
                  str(campaign.parent / "failed.csv"))
    assert confirm.exit_code == 0
    assert cli("payout", "confirm", "latest", "--campaign", str(campaign), "--paid-all").exit_code == 5
    _, second = payout(campaign, "b2")
    assert [(l["customer_id"], l["amount"]) for l in second["lines"]] == [("C2", "4.00")]
    entries = journal(campaign.parent / "b2")
    reversal = [e for e in entries if e["voucher"].endswith("-3")]
    assert [(e["account_name"], e["debit"], e["credit"]) for e in reversal] == [
        ("银行存款", "4.00", "0.00"), ("其他应付款-客户返利", "0.00", "4.00")]


def test_an_unknown_reference_records_nothing(campaign):
    settle_and_approve(campaign, "2026-07-31")
    payout(campaign, "b1")
    (campaign.parent / "failed.csv").write_text("reference\nNOPE\n", encoding="utf-8")
    result = cli("payout", "confirm", "1", "--campaign", str(campaign), "--failed", str(campaign.parent / "failed.csv"))
    assert result.exit_code == 1 and "NOPE" in result.output
    assert History(campaign.parent / "promo-history.sqlite").batches()[0].confirmed_at is None


def test_a_claw_back_lands_in_offsets_never_in_the_bank_file(campaign):
    settle_and_approve(campaign, "2026-07-31")
    payout(campaign, "b1")
    write_csv(campaign.parent / "purchases.csv", PURCHASE_HEADERS, JULY + AUGUST_RETURN)
    settle_and_approve(campaign, "2026-08-31")
    _, second = payout(campaign, "b2")
    assert [(l["customer_id"], l["amount"]) for l in second["lines"]] == [("00012", "-6.00")]
    assert bank_rows(campaign.parent / "b2")[1:] == []
    offsets = openpyxl.load_workbook(campaign.parent / "b2" / "payout.xlsx")["Offsets"]
    assert ("00012", -6) in [(r[0], r[2]) for r in offsets.iter_rows(values_only=True)]


def test_every_voucher_balances_and_the_accrual_equals_the_approved_rebate(campaign):
    settle_and_approve(campaign, "2026-07-31")
    payout(campaign, "b1")
    write_csv(campaign.parent / "purchases.csv", PURCHASE_HEADERS, JULY + AUGUST_RETURN)
    settle_and_approve(campaign, "2026-08-31")
    payout(campaign, "b2")
    accrued = Decimal(0)
    for folder in ("b1", "b2"):
        by_voucher = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for e in journal(campaign.parent / folder):
            by_voucher[e["voucher"]][0] += Decimal(e["debit"])
            by_voucher[e["voucher"]][1] += Decimal(e["credit"])
            if e["voucher"].endswith("-1") and e["account_name"] == "销售费用-返利":
                accrued += Decimal(e["debit"]) - Decimal(e["credit"])
        assert all(debit == credit for debit, credit in by_voucher.values()), (folder, dict(by_voucher))
    # approved to date after August: 4 + 4 + 3 + 2 + 1 + 0.50 = 14.50 (00012: 10 - 6)
    assert accrued == Decimal("14.50")


def test_a_statement_agrees_with_the_summary_row(campaign):
    settle_and_approve(campaign, "2026-07-31")
    payout(campaign, "b1")
    summary = json.loads((campaign.parent / "s-2026-07-31" / "summary.json").read_text(encoding="utf-8"))
    row = next(c for c in summary["customers"] if c["customer_id"] == "00012")
    sheet = openpyxl.load_workbook(campaign.parent / "b1" / "statements" / "00012.xlsx").active
    values = [r for r in sheet.iter_rows(values_only=True)]
    assert ("阶梯返利 (ladder)", Decimal(row["rebates"]["ladder"])) in [
        (r[0], Decimal(str(r[1]))) for r in values if isinstance(r[1], (int, float)) and r[0]]
    labels = {r[0]: r[1] for r in values if r[0]}
    assert Decimal(str(labels["This payout"])) == Decimal(row["total_rebate"]) and labels["Paid before"] == 0
    assert ("阶梯返利 (ladder)", 10, "tier 1 0.00 to ∞: 1,000.00 × 1%") in [r[:3] for r in values]  # its line


def test_an_unapproved_or_superseded_run_is_not_paid(campaign):
    result = cli("settle", str(campaign), "--out", str(campaign.parent / "s"), "--as-of", "2026-07-31")
    assert result.exit_code == 0
    result, _ = payout(campaign, "b1")
    assert result.exit_code == 5 and "not approved" in result.output
    assert cli("approve", "latest", "--by", "王五", "--campaign", str(campaign)).exit_code == 0
    settle_and_approve(campaign, "2026-08-31")
    result = cli("payout", "1", "--campaign", str(campaign), "--out", str(campaign.parent / "old"))
    assert result.exit_code == 5 and "latest approved" in result.output


@pytest.mark.parametrize("customer", ["../evil", "a/b", "c:d", "CON", "nul.txt", ".hidden", "..", "x\\y"])
def test_a_customer_id_is_never_trusted_as_a_file_name(tmp_path, customer):
    others = [] if customer == "CON" else ["CON"]         # and a second customer Windows reserves the name of
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS,
              [order(f"A{i}", c, "2026-07-05", "100") for i, c in enumerate([customer] + others)])
    write_csv(tmp_path / "customers.csv", MASTER, [{"customer_id": c, "payout_method": "账扣"}
                                                   for c in [customer] + others])
    campaign = write_campaign(tmp_path, POLICY, period=("2026-07-01", "2026-09-30"),
                              inputs="{purchases: purchases.csv, customers: customers.csv}")
    settle_and_approve(campaign, "2026-07-31")
    result, summary = payout(campaign, "out")
    assert result.exit_code == 0, result.output
    statements = sorted(p.name for p in (tmp_path / "out" / "statements").iterdir())
    assert len(statements) == len({customer, "CON"}) and all(p.endswith(".xlsx") for p in statements)
    assert not any(name.split(".")[0].upper() in ("CON", "NUL") for name in statements)
    inside = {p.resolve().parent for p in (tmp_path / "out" / "statements").iterdir()}
    assert inside == {(tmp_path / "out" / "statements").resolve()}
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".xlsx") == []   # nothing outside --out


def test_a_payout_that_dies_writes_and_records_nothing(campaign, monkeypatch):
    from promo_cli.io.writers import payout as payout_module
    settle_and_approve(campaign, "2026-07-31")

    def dies(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(payout_module, "write_journal", dies)
    result, _ = payout(campaign, "b1")
    assert result.exit_code == 4
    assert [p.name for p in (campaign.parent / "b1").iterdir()] == []        # temporary files removed
    assert History(campaign.parent / "promo-history.sqlite").batches() == []
    monkeypatch.undo()
    result, summary = payout(campaign, "b1")
    assert result.exit_code == 3 and summary["batch"] == 1                   # the next try pays it all
