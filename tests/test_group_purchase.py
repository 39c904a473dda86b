"""Group purchase rebate, hand-computed. Tiers by quantity: 500 → 2%, 2000 → 3%."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promo_cli.money import allocate
from tests.conftest import order, payment, rebates

POLICY = """\
- id: group_buy
  type: group_purchase
  basis: quantity
  tiers: [{from: 500, rate: 2%}, {from: 2000, rate: 3%}]
  require_proof: true
"""


def group(rows, proof=True):
    purchases = []
    for i, (customer, qty, amount) in enumerate(rows):
        purchases.append(order(f"G{i}", customer, "2026-08-01", amount, quantity=qty, group_id="TG1",
                               group_proof="协议GP-1" if proof and i == 0 else ""))
    payments = [payment(f"P{i}", f"G{i}", "2026-08-05", amount) for i, (_, _, amount) in enumerate(rows)]
    return purchases, payments


def test_group_reaching_the_first_tier_splits_by_amount(run_campaign):
    purchases, payments = group([("C2", 300, "3000"), ("C1", 200, "2000")])
    s = run_campaign(POLICY, purchases, payments)
    assert rebates(s, "group_buy") == {"C1": "40.00", "C2": "60.00"}  # 2% × 5000 = 100.00


def test_highest_tier_and_largest_remainder_with_ties_by_customer_id(run_campaign):
    # 3% × 1000.00 = 30.00; three equal shares of 10.00 exactly; then 3% × 100.00 = 3.00 over 3
    purchases, payments = group([("C3", 700, "33.34"), ("C1", 700, "33.33"), ("C2", 700, "33.33")])
    s = run_campaign(POLICY, purchases, payments)
    # 3.00 × 33.33/100 = 0.9999 each for C1, C2; 1.0002 for C3: floors 0,0,1 → 2 cents left…
    assert rebates(s, "group_buy") == {"C1": "1.00", "C2": "1.00", "C3": "1.00"}
    purchases, payments = group([("C3", 700, "1"), ("C2", 700, "1"), ("C1", 700, "1")])
    s = run_campaign(POLICY, purchases, payments)
    # 3% × 3.00 = 0.09: 0.03 each. 2% would not apply: 2100 ≥ 2000 → 3%
    assert rebates(s, "group_buy") == {"C1": "0.03", "C2": "0.03", "C3": "0.03"}
    purchases, payments = group([("C3", 700, "0.50"), ("C2", 700, "0.50"), ("C1", 700, "0.50")])
    s = run_campaign(POLICY, purchases, payments)
    # 3% × 1.50 = 0.045 → 0.05; 5 cents over three: 2, 2, 1 — ties go to the lower customer id
    assert rebates(s, "group_buy") == {"C1": "0.02", "C2": "0.02", "C3": "0.01"}


def test_group_without_proof_does_not_qualify(run_campaign):
    purchases, payments = group([("C1", 600, "6000")], proof=False)
    s = run_campaign(POLICY, purchases, payments)
    assert rebates(s, "group_buy") == {"C1": "0.00"}
    [f] = [f for f in s.findings if f.code == "group-not-qualified"]
    assert (f.severity, dict(f.params)["why"][0], f.row, f.column) == ("info", "no-proof", 2, "group_id")


def test_group_with_an_unpaid_member_does_not_qualify(run_campaign):
    purchases, payments = group([("C1", 300, "3000"), ("C2", 300, "3000")])
    payments[1]["amount"] = "2999.99"
    s = run_campaign(POLICY, purchases, payments)
    assert rebates(s, "group_buy") == {"C1": "0.00", "C2": "0.00"}
    [f] = [f for f in s.findings if f.code == "group-not-qualified"]
    assert dict(f.params)["why"][0] == "unpaid"


def test_paid_after_the_period_end_is_unpaid(run_campaign):
    purchases, payments = group([("C1", 600, "6000")])
    payments[0]["payment_date"] = "2027-01-02"
    assert rebates(run_campaign(POLICY, purchases, payments), "group_buy") == {"C1": "0.00"}


def test_below_the_first_tier(run_campaign):
    purchases, payments = group([("C1", 499, "6000")])
    s = run_campaign(POLICY, purchases, payments)
    assert rebates(s, "group_buy") == {"C1": "0.00"}


@given(st.integers(min_value=0, max_value=10**7),
       st.lists(st.integers(min_value=1, max_value=10**8), min_size=1, max_size=12))
def test_group_shares_always_add_up(rebate, amounts):
    shares = allocate(rebate, amounts)
    assert sum(shares) == rebate and all(s >= 0 for s in shares)
    assert max(abs(Decimal(s) - Decimal(rebate) * a / sum(amounts)) for s, a in zip(shares, amounts)) < 1


def test_group_note_names_the_measure_in_the_note_language(run_campaign):
    from promo_cli.io.writers.rebate_detail import lines_table

    purchases, payments = group([("C2", 300, "3000"), ("C1", 200, "2000")])
    s = run_campaign(POLICY, purchases, payments)
    zh = lines_table(s, "zh")
    en = lines_table(s, "en")
    shares = zh[zh["kind"] == "团购分摊"]
    assert list(shares["customer_id"]) == ["C1", "C2"]
    assert shares["note"].iloc[0] == ("团购 TG1 合计 5,000.00(数量 500)× 2% = 100.00;"
                                      "本客户金额 2,000.00 按比例分摊")
    assert "(quantity 500)" in en[en["customer_id"] == "C1"]["note"].iloc[-1]


GROUP = """\
- id: group_buy
  type: group_purchase
  basis: amount
  tiers: [{{from: 1000, rate: 2%}}]
  require_proof: {proof}
{extra}"""
PAID = [payment("P1", "A1", "2026-08-20", "600"), payment("P2", "A2", "2026-09-20", "400")]


def _group(run_campaign, proof="false", extra="", second_day="2026-08-03"):
    s = run_campaign(GROUP.format(proof=proof, extra=extra),
                     [order("A1", "C1", "2026-08-01", "600", group_id="G1"),
                      order("A2", "C2", second_day, "400", group_id="G1")], PAID)
    assert "recompute-mismatch" not in [f.code for f in s.findings]          # the second implementation agrees
    return s, {c.customer_id: c.rebates["group_buy"] for c in s.customers}


def test_without_require_proof_a_group_qualifies_without_proof(run_campaign):
    _, shares = _group(run_campaign, proof="false")
    assert shares == {"C1": 1200, "C2": 800}            # 1,000.00 × 2% = 20.00, split 600 : 400


def test_with_require_proof_the_same_group_does_not(run_campaign):
    s, shares = _group(run_campaign, proof="true")
    assert shares == {"C1": 0, "C2": 0}
    assert [dict(f.params)["why"][0] for f in s.findings if f.code == "group-not-qualified"] == ["no-proof"]


@pytest.mark.parametrize("limit, qualifies", [(1, False), (2, True)])
def test_a_one_time_group_purchase_lies_within_days(run_campaign, limit, qualifies):
    s, shares = _group(run_campaign, extra=f"  within_days: {limit}\n")     # rows two days apart
    assert shares == ({"C1": 1200, "C2": 800} if qualifies else {"C1": 0, "C2": 0})
    if not qualifies:
        [f] = [f for f in s.findings if f.code == "group-not-qualified"]
        assert dict(f.params)["why"] == ("spread-out", (("days", 2), ("limit", 1)))


def test_a_group_spread_over_months_qualifies_but_is_noted(run_campaign):
    s, shares = _group(run_campaign, second_day="2026-09-15")            # 45 days later
    assert shares == {"C1": 1200, "C2": 800}
    assert [(f.code, dict(f.params)["days"]) for f in s.findings if f.code == "group-spread"] == [("group-spread", 45)]
