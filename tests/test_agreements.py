"""Per-customer agreements (issue 20, item 6): an ``agreements`` ledger for customers whose contract
differs from the campaign's default, each with a validity window.

Campaign: ladder marginal 1% then 2% from 1,000; on_time 0.5%. Agreements:
- C1, ladder, tiers 0:3%;500:4% (the whole period);
- C2, ladder, 2.5% from 1 August; C2, on_time, 1%.
Purchases: C1 800.00 (1 Jul, paid on time) and 400.00 (1 Aug, unpaid); C2 600.00 (15 Jul) and
1,000.00 (15 Aug), both paid on time; C3 1,500.00 (unpaid).

ladder: C1 3% × 500 + 4% × 700 = 15.00 + 28.00 = 43.00; C2 600.00 before its agreement at 1% = 6.00,
plus 2.5% × 1,000.00 = 25.00: 31.00; C3 1% × 1,000 + 2% × 500 = 20.00.
on_time: C1 0.5% × 800.00 = 4.00; C2 1% × 600.00 + 1% × 1,000.00 = 16.00; C3 nothing paid: 0.00.
"""

from __future__ import annotations

from datetime import date

from promo_cli.engine import load, settle
from tests.conftest import PAYMENT_HEADERS, PURCHASE_HEADERS, order, payment, write_campaign, write_csv

POLICIES = """\
- {id: ladder, type: tiered, tiers: [{from: 0, rate: 1%}, {from: 1000, rate: 2%}]}
- {id: on_time, type: on_time_payment, rate: 0.5%}
- {id: group_buy, type: group_purchase, tiers: [{from: 100, rate: 1%}], require_proof: false}
"""
HEADERS = ["客户编号", "政策", "比例", "档位", "生效日期", "失效日期"]


def _campaign(folder, agreements):
    write_csv(folder / "purchases.csv", PURCHASE_HEADERS, [
        order("A1", "C1", "2026-07-01", "800", due_date="2026-07-31"),
        order("A2", "C1", "2026-08-01", "400", due_date="2026-08-31"),
        order("B1", "C2", "2026-07-15", "600", due_date="2026-07-31"),
        order("B2", "C2", "2026-08-15", "1000", due_date="2026-08-31"),
        order("D1", "C3", "2026-07-01", "1500", due_date="2026-07-31")])
    write_csv(folder / "payments.csv", PAYMENT_HEADERS, [
        payment("P1", "A1", "2026-07-10", "800"), payment("P2", "B1", "2026-07-20", "600"),
        payment("P3", "B2", "2026-08-20", "1000")])
    write_csv(folder / "agreements.csv", HEADERS, agreements)
    return write_campaign(folder, POLICIES,
                          inputs="{purchases: purchases.csv, payments: payments.csv, agreements: agreements.csv}")


GOOD = [{"客户编号": "C1", "政策": "ladder", "档位": "0:3%;500:4%"},
        {"客户编号": "C2", "政策": "ladder", "比例": "2.5%", "生效日期": "2026-08-01"},
        {"客户编号": "C2", "政策": "on_time", "比例": "1%"}]


def test_a_customer_settled_by_its_own_agreement(tmp_path):
    s = settle(*load(_campaign(tmp_path, GOOD), {}, as_of=date(2026, 12, 31)))
    assert {c.customer_id: (c.rebates["ladder"], c.rebates["on_time"]) for c in s.customers} == {
        "C1": (4300, 400), "C2": (3100, 1600), "C3": (2000, 0)}
    assert not [f.code for f in s.findings if f.code.startswith("recompute")]
    assert s.lines.groupby(["customer_id", "policy_id"])["rebate"].sum().to_dict()[("C2", "ladder")] == 3100
    assert any(ref.startswith("协议@") for ref in s.lines["ref"])      # the lines name the agreement's table


def test_agreements_that_cannot_be_applied_are_refused(tmp_path):
    bad = [{"客户编号": "C1", "政策": "nope", "比例": "1%"},
           {"客户编号": "C1", "政策": "group_buy", "比例": "1%"},
           {"客户编号": "C1", "政策": "ladder", "比例": "1%", "档位": "0:1%"},
           {"客户编号": "C2", "政策": "ladder", "档位": "100:1%"},
           {"客户编号": "C2", "政策": "on_time", "比例": "1%", "失效日期": "2026-09-30"},
           {"客户编号": "C2", "政策": "on_time", "比例": "2%", "生效日期": "2026-09-01"}]
    loaded, findings = load(_campaign(tmp_path, bad), {}, as_of=date(2026, 12, 31))
    assert loaded is None
    assert [(f.code, f.row) for f in findings if f.blocking] == [
        ("agreement-unknown-policy", 2), ("agreement-policy-type", 3), ("agreement-rate-or-tiers", 4),
        ("agreement-bad-table", 5), ("agreement-overlap", 7)]


def test_an_agreement_rate_above_20_percent_is_a_warning(tmp_path):
    loaded, findings = load(_campaign(tmp_path, [{"客户编号": "C1", "政策": "on_time", "比例": "0.5"}]), {},
                            as_of=date(2026, 12, 31))
    assert loaded is not None
    assert [(f.code, f.row) for f in findings if f.severity == "warning"] == [("agreement-rate-implausible", 2)]


def test_an_agreement_for_a_customer_who_never_bought_is_a_warning(tmp_path):
    """A mistyped id (C01 for C1) must not leave C1 on the default terms without a word."""
    loaded, findings = load(_campaign(tmp_path, [{"客户编号": "C01", "政策": "ladder", "比例": "3%"}]), {},
                            as_of=date(2026, 12, 31))
    assert loaded is not None
    assert [(f.code, f.row, f.column) for f in findings if f.severity == "warning"] == [
        ("agreement-unknown-customer", 2, "客户编号")]
