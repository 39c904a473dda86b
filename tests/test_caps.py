"""``cap: {per_customer: X}`` (issue 20, item 6): no customer earns more than X under a policy.

ladder 10% on everything, capped at 50,000.00: C1 buys 600,000.00 → 60,000.00, capped to 50,000.00;
C2 buys 100,000.00 → 10,000.00. on_time 10%, capped at 5.00: C1's order A1 paid on time → 60,000.00,
capped to 5.00; C2's 10,000.00 → 5.00."""

from __future__ import annotations

from datetime import date

from promo_cli.engine import load, settle
from tests.conftest import PAYMENT_HEADERS, PURCHASE_HEADERS, order, payment, write_campaign, write_csv


def test_a_customer_is_capped_and_the_lines_still_add_up(tmp_path):
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [
        order("A1", "C1", "2026-07-01", "600000", due_date="2026-07-31"),
        order("B1", "C2", "2026-07-02", "100000", due_date="2026-07-31")])
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [payment("P1", "A1", "2026-07-20", "600000"),
                                                           payment("P2", "B1", "2026-07-20", "100000")])
    campaign = write_campaign(tmp_path, """\
- {id: ladder, type: tiered, tiers: [{from: 0, rate: 10%}], cap: {per_customer: 50000}}
- {id: on_time, type: on_time_payment, rate: 10%, cap: {per_customer: 5}}
""")
    s = settle(*load(campaign, {}, as_of=date(2026, 12, 31)))
    assert {c.customer_id: (c.rebates["ladder"], c.rebates["on_time"]) for c in s.customers} == {
        "C1": (5_000_000, 500), "C2": (1_000_000, 500)}
    caps = s.lines[s.lines["kind"] == "cap"]
    assert sorted(zip(caps["customer_id"], caps["policy_id"], caps["rebate"])) == [
        ("C1", "ladder", -1_000_000), ("C1", "on_time", -5_999_500), ("C2", "on_time", -999_500)]
    by_pair = s.lines.groupby(["customer_id", "policy_id"])["rebate"].sum().to_dict()
    assert by_pair == {("C1", "ladder"): 5_000_000, ("C1", "on_time"): 500, ("C2", "ladder"): 1_000_000,
                       ("C2", "on_time"): 500}
    assert not [f.code for f in s.findings if f.code.startswith("recompute")]
