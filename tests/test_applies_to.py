"""``applies_to`` (issue 20, item 1; CONTRACT.md section 3): a policy counts only the rows it names,
by product, category (products ledger), channel and region (customer master), with exclude_
forms; the Orders sheet says why a row was left out, and the recomputation agrees.

Ledger (period 2026-07-01..12-31):
  A1 C1 P01 1,000.00   A2 C1 P02 500.00   A3 C2 P09 2,000.00   A4 C2 P01 300.00   A5 C3 (no product) 700.00
Products: P01, P02 category A; P09 category B. Master: C1 dealer 华南, C2 retailer 华东 (C3 unknown).

- ladder (1%, 2% from 1,000) on product P01: C1 1,000.00 → 1% × 1,000 = 10.00; C2 300.00 → 3.00.
- line_a (2%) on category A but not retailers: C1 1,500.00 → 30.00; C2 is a retailer; C3's row has
  no product, so no category: out.
- points (1 a yuan) on everything but category B: C1 1,500, C2 300 (P09 is B), C3 700 (an unknown
  category is not excluded by name).
"""

from __future__ import annotations

from datetime import date

import pytest

from promo_cli.engine import load, settle
from tests.conftest import write_campaign, write_csv

POLICIES = """\
- {id: ladder, type: tiered, applies_to: {product: [P01]}, tiers: [{from: 0, rate: 1%}, {from: 1000, rate: 2%}]}
- {id: line_a, type: tiered, applies_to: {category: [A], exclude_channel: [retailer]}, tiers: [{from: 0, rate: 2%}]}
- {id: points, type: points, points_per_yuan: 1, applies_to: {exclude_category: [B]}}
"""


def _files(folder, policies=POLICIES, inputs="{purchases: p.csv, customers: c.csv, products: products.csv}"):
    write_csv(folder / "p.csv", ["订单号", "客户编号", "订单日期", "金额", "产品"], [
        {"订单号": "A1", "客户编号": "C1", "订单日期": "2026-07-01", "金额": "1000", "产品": "P01"},
        {"订单号": "A2", "客户编号": "C1", "订单日期": "2026-07-02", "金额": "500", "产品": "P02"},
        {"订单号": "A3", "客户编号": "C2", "订单日期": "2026-07-03", "金额": "2000", "产品": "P09"},
        {"订单号": "A4", "客户编号": "C2", "订单日期": "2026-07-04", "金额": "300", "产品": "P01"},
        {"订单号": "A5", "客户编号": "C3", "订单日期": "2026-07-05", "金额": "700"}])
    write_csv(folder / "products.csv", ["产品编号", "品类"], [{"产品编号": "P01", "品类": "A"}, {"产品编号": "P02", "品类": "A"},
                                                            {"产品编号": "P09", "品类": "B"}])
    write_csv(folder / "c.csv", ["客户编号", "渠道", "地区"], [{"客户编号": "C1", "渠道": "经销商", "地区": "华南"},
                                                          {"客户编号": "C2", "渠道": "零售商", "地区": "华东"}])
    return write_campaign(folder, policies, inputs=inputs)


@pytest.fixture(scope="module")
def s(tmp_path_factory):
    loaded, findings = load(_files(tmp_path_factory.mktemp("scope")), {}, as_of=date(2026, 12, 31))
    assert loaded is not None, [f.code for f in findings]
    return settle(loaded, findings)


def test_each_policy_counts_the_rows_it_names(s):
    rebates = {c.customer_id: (c.rebates["ladder"], c.rebates["line_a"]) for c in s.customers}
    assert rebates == {"C1": (1000, 3000), "C2": (300, 0), "C3": (0, 0)}
    points = {row[0]: row[2] for row in s.loyalty["points"].rows}
    assert points == {"C1": 1500, "C2": 300, "C3": 700}


def test_the_recomputation_agrees(s):
    assert not [f.code for f in s.findings if f.code.startswith("recompute")]
    assert {(c, p): cents for c, p, cents, _ in s.recomputed if p != "points"} == {
        ("C1", "ladder"): 1000, ("C1", "line_a"): 3000, ("C2", "ladder"): 300, ("C2", "line_a"): 0,
        ("C3", "ladder"): 0, ("C3", "line_a"): 0}


def test_orders_say_why_a_row_was_left_out(s):
    left = dict(zip(s.orders["order_id"], s.orders["left_out"]))
    assert left == {"A1": None, "A2": "ladder|product|P02", "A3": "ladder|product|P09;line_a|category|B;points|category|B",
                    "A4": "line_a|channel|retailer", "A5": "ladder|product|;line_a|category|"}
    out = {dict(f.params)["policy"]: (dict(f.params)["rows"], dict(f.params)["amount"])
           for f in s.findings if f.code == "applies-to-left-out"}
    assert out == {"ladder": (3, "3,200.00"), "line_a": (3, "3,000.00"), "points": (1, "2,000.00")}


def test_the_orders_sheet_reads_in_words(s, tmp_path):
    from promo_cli.io.writers.rebate_detail import _left_out
    assert _left_out("ladder|product|P09;line_a|category|", "zh") == "ladder:产品 P09 不在适用范围; line_a:品类 (未知) 不在适用范围"


def test_a_category_needs_the_products_ledger(tmp_path):
    loaded, findings = load(_files(tmp_path, inputs="{purchases: p.csv, customers: c.csv}"), {}, as_of=date(2026, 12, 31))
    assert loaded is None and [(f.code, dict(f.params)["role"]) for f in findings if f.blocking] == [
        ("input-missing", "products")]


def test_a_deposit_policy_has_no_rows_to_scope(tmp_path):
    from promo_cli.config import load_campaign
    path = write_campaign(tmp_path, "- {id: d, type: prepaid_deposit, applies_to: {product: [P01]}, "
                                    "tiers: [{from: 1000, bonus_rate: 0%}]}\n", inputs="{deposits: d.csv}")
    campaign, _, findings = load_campaign(path)
    assert campaign is None and dict(findings[0].params)["reason"][0] == "applies-to-deposits"


def test_a_named_value_no_row_has_is_a_warning(tmp_path):
    policies = "- {id: ladder, type: tiered, applies_to: {product: [P0l, P01]}, tiers: [{from: 0, rate: 1%}]}\n"
    loaded, findings = load(_files(tmp_path, policies=policies), {}, as_of=date(2026, 12, 31))
    s = settle(loaded, findings)
    assert [f.value for f in s.findings if f.code == "applies-to-unused-value"] == ["P0l"]
