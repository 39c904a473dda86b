"""A rate table per product or category (issue 20, item 2): ``rates_by`` with ``tiers_by`` and
``tiers`` as the default, the way an agreement names a rate per product line.

C1 buys P01 for 1,500.00, P02 for 200.00 and P03 for 300.00; C2 buys P01 for 800.00, returns
300.00 of P01, and buys 100.00 with no product. The products without a table of their own
share the default table, as one pool.
- by product, P01 marginal 2% then 3% from 1,000, P02 5%, the rest 1%:
  C1 = 2% × 1,000 + 3% × 500 + 5% × 200 + 1% × 300 = 20.00 + 15.00 + 10.00 + 3.00 = 48.00;
  C2 = 2% × (800 − 300) + 1% × 100 = 10.00 + 1.00 = 11.00.
- by category (P01 and P02 are A; P03 has none), A 2%, the rest 1%:
  C1 = 2% × 1,700 + 1% × 300 = 34.00 + 3.00 = 37.00; C2 = 2% × 500 + 1% × 100 = 11.00.
"""

from __future__ import annotations

from datetime import date

import pytest

from promo_cli.engine import load, settle
from tests.conftest import write_campaign, write_csv

ROWS = [("A1", "C1", "1500", "P01"), ("A2", "C1", "200", "P02"), ("A3", "C1", "300", "P03"),
        ("B1", "C2", "800", "P01"), ("B2", "C2", "-300", "P01"), ("B3", "C2", "100", "")]


@pytest.mark.parametrize("policy, products, expected", [
    ("{id: lines, type: tiered, rates_by: product, tiers: [{from: 0, rate: 1%}], "
     "tiers_by: {P01: [{from: 0, rate: 2%}, {from: 1000, rate: 3%}], P02: [{from: 0, rate: 5%}]}}", False,
     {"C1": 4800, "C2": 1100}),
    ("{id: lines, type: tiered, rates_by: category, tiers: [{from: 0, rate: 1%}], "
     "tiers_by: {A: [{from: 0, rate: 2%}]}}", True, {"C1": 3700, "C2": 1100}),
])
def test_each_product_line_its_own_table(tmp_path, policy, products, expected):
    write_csv(tmp_path / "p.csv", ["订单号", "客户编号", "订单日期", "金额", "产品"],
              [{"订单号": o, "客户编号": c, "订单日期": "2026-07-01", "金额": a, "产品": p} for o, c, a, p in ROWS])
    write_csv(tmp_path / "products.csv", ["产品编号", "品类"], [{"产品编号": "P01", "品类": "A"}, {"产品编号": "P02", "品类": "A"}])
    inputs = "{purchases: p.csv, products: products.csv}" if products else "{purchases: p.csv}"
    s = settle(*load(write_campaign(tmp_path, f"- {policy}\n", inputs=inputs), {}, as_of=date(2026, 12, 31)))
    assert {c.customer_id: c.rebates["lines"] for c in s.customers} == expected
    assert not [f.code for f in s.findings if f.code.startswith("recompute")]
    # the lines name their table and add up to the Summary
    assert s.lines.groupby("customer_id")["rebate"].sum().to_dict() == expected
    assert any("·" in ref for ref in s.lines["ref"])


def test_tiers_by_needs_rates_by(tmp_path):
    from promo_cli.config import load_campaign
    path = write_campaign(tmp_path, "- {id: l, type: tiered, tiers: [{from: 0, rate: 1%}], "
                                    "tiers_by: {P01: [{from: 0, rate: 2%}]}}\n")
    campaign, _, findings = load_campaign(path)
    assert campaign is None and dict(findings[0].params)["reason"][0] == "tiers-by-without-rates-by"


def test_a_table_no_row_uses_is_a_warning(tmp_path):
    """``tiers_by: {001: …}`` read as 1 matches no product 001: said, not silently unused."""
    write_csv(tmp_path / "p.csv", ["订单号", "客户编号", "订单日期", "金额", "产品"],
              [{"订单号": "A1", "客户编号": "C1", "订单日期": "2026-07-01", "金额": "100", "产品": "001"}])
    policy = "- {id: lines, type: tiered, rates_by: product, tiers: [{from: 0, rate: 1%}], tiers_by: {001: [{from: 0, rate: 5%}]}}\n"
    s = settle(*load(write_campaign(tmp_path, policy, inputs="{purchases: p.csv}"), {}, as_of=date(2026, 12, 31)))
    assert [(f.severity, dict(f.params)["key"]) for f in s.findings if f.code == "tiers-by-unused"] == [("warning", "1")]
    assert s.customers[0].rebates["lines"] == 100                        # the default 1%, and now it says why
