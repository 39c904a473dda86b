"""The campaign's rebate cap (issue 20, item 6): ``budget.rebate_cap: {amount, rule}``.

ladder 10% flat. C1 buys 600.00 on 3 July (60.00), C2 300.00 on 1 July (30.00), C3 100.00 on
2 July (10.00): 100.00 in all, against a cap of 50.00.
- prorate: 60 × 50/100 = 30.00, 30 × 50/100 = 15.00, 10 × 50/100 = 5.00.
- first_come (by first order): C2 30.00, then C3 10.00, then C1 the 10.00 left.
With a cap of 33.33 prorated, the exact shares are 19.998, 9.999 and 3.333: floors 19.99, 9.99 and
3.33 make 33.31; the 2 cents left go to the largest remainders (C2's 0.9 cent, then C1's 0.8):
20.00, 10.00, 3.33.
"""

from __future__ import annotations

from datetime import date

import pytest

from promo_cli.engine import load, settle
from tests.conftest import PURCHASE_HEADERS, order, write_campaign, write_csv


@pytest.mark.parametrize("cap, rule, expected", [
    ("50", "prorate", {"C1": 3000, "C2": 1500, "C3": 500}),
    ("50", "first_come", {"C1": 1000, "C2": 3000, "C3": 1000}),
    ("33.33", "prorate", {"C1": 2000, "C2": 1000, "C3": 333}),
    ("150", "prorate", {"C1": 6000, "C2": 3000, "C3": 1000}),          # under the cap: nothing changes
])
def test_the_campaign_pays_at_most_its_cap(tmp_path, cap, rule, expected):
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [
        order("A1", "C1", "2026-07-03", "600"), order("B1", "C2", "2026-07-01", "300"),
        order("C1", "C3", "2026-07-02", "100")])
    path = write_campaign(tmp_path, "- {id: ladder, type: tiered, tiers: [{from: 0, rate: 10%}]}\n",
                          inputs="{purchases: purchases.csv}")
    path.write_text(path.read_text(encoding="utf-8") + f"budget: {{rebate_cap: {{amount: {cap}, rule: {rule}}}}}\n",
                    encoding="utf-8")
    s = settle(*load(path, {}, as_of=date(2026, 12, 31)))
    assert {c.customer_id: c.rebates["ladder"] for c in s.customers} == expected
    assert s.lines.groupby("customer_id")["rebate"].sum().to_dict() == expected
    assert not [f.code for f in s.findings if f.code.startswith("recompute")]
    assert ("budget-cap-applied" in [f.code for f in s.findings]) == (cap != "150")
