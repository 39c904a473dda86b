"""Marginal tiers on quantity (issue 20, item 3): units are taken in order-date order (then order
id); each slice of units earns its rate on the money of the units in it, each unit worth its
order's amount / quantity; each slice's money exact to the cent, the customer rounded once.

The peers' ladder: 15 and 50 units at 10%, 15% and 30%.
- C1 buys 20 units for 200.00 (10.00 each) on 1 July and 40 units for 480.00 (12.00 each) on 2 July:
  units 1-15 are 150.00 × 10% = 15.00; units 16-50 are 5 × 10.00 + 30 × 12.00 = 410.00 × 15% = 61.50;
  units 51-60 are 10 × 12.00 = 120.00 × 30% = 36.00. Rebate 112.50.
- C2 buys 30 units for 100.00 (3.333… each) then returns 10 units for −50.00 (5.00 each, its own
  price): units 1-15 are 15 × 100/30 = 50.00 × 10% = 5.00; units 16-30 are 50.00 − 10 × 5.00 = 0.00
  at 15%. Rebate 5.00.
- C3 buys 7 units for 10.00: 10.00 × 10% = 1.00.
"""

from __future__ import annotations

from datetime import date

from promo_cli.engine import load, settle
from promo_cli.policies.tiered import quantity_slice_money
from tests.conftest import PURCHASE_HEADERS, order, write_campaign, write_csv


def test_the_peers_quantity_ladder(tmp_path):
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [
        order("A2", "C1", "2026-07-02", "480", quantity="40"), order("A1", "C1", "2026-07-01", "200", quantity="20"),
        order("B1", "C2", "2026-07-01", "100", quantity="30"), order("B2", "C2", "2026-07-05", "-50", quantity="-10"),
        order("C1", "C3", "2026-07-01", "10", quantity="7")])
    campaign = write_campaign(tmp_path, "- {id: units, type: tiered, basis: quantity, mode: marginal, "
                                        "tiers: [{from: 0, rate: 10%}, {from: 15, rate: 15%}, {from: 50, rate: 30%}]}\n",
                              inputs="{purchases: purchases.csv}")
    s = settle(*load(campaign, {}, as_of=date(2026, 12, 31)))
    assert {c.customer_id: c.rebates["units"] for c in s.customers} == {"C1": 11250, "C2": 500, "C3": 100}
    c1 = s.lines[s.lines["customer_id"] == "C1"]
    assert list(c1["base"]) == [15000, 41000, 12000] and list(c1["rebate"]) == [1500, 6150, 3600]
    assert not [f.code for f in s.findings if f.code.startswith("recompute")]


def test_slice_money_is_exact_then_rounded_per_slice():
    # one order of 10 units for 10.00: 5 units each side of the bound, 5.00 and 5.00
    assert quantity_slice_money([(10, 1000)], [0, 5]) == [500, 500]
    # 3 units for 1.00: 1 unit below 1, 2 above: 0.333… → 0.33 and 0.666… → 0.67
    assert quantity_slice_money([(3, 100)], [0, 1]) == [33, 67]
    # a row without quantity puts its money where the ladder stands
    assert quantity_slice_money([(2, 200), (None, 50)], [0, 1, 10]) == [100, 150, 0]
