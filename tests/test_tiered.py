"""Tiered rebates, hand-computed. Tiers: 0 → 1%, 100,000 → 2%, 500,000 → 3%."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import numpy as np

from promo_cli.policies.tiered import marginal_parts, reached_tier
from tests.conftest import order, rebates

MARGINAL = """\
- id: ladder
  type: tiered
  mode: marginal
  tiers: [{from: 0, rate: 1%}, {from: 100000, rate: 2%}, {from: 500000, rate: 3%}]
"""
WHOLE = MARGINAL.replace("marginal", "whole")


@pytest.mark.parametrize("amount, marginal, whole", [
    ("50000", "500.00", "500.00"),
    ("99999.99", "1000.00", "1000.00"),          # 999.9999 → 1000.00
    ("100000", "1000.00", "2000.00"),            # a tier is reached when B >= from
    ("100000.01", "1000.00", "2000.00"),         # 1000 + 0.0002 → 1000.00; whole 2000.0002
    ("350000", "6000.00", "7000.00"),            # 1000 + 2% × 250,000
    ("500000", "9000.00", "15000.00"),
    ("750000", "16500.00", "22500.00"),          # 1000 + 8000 + 3% × 250,000
    ("1001.50", "10.02", "10.02"),               # 10.015 → 10.02 half-up
])
def test_one_customer(run_campaign, amount, marginal, whole):
    purchases = [order("A1", "C1", "2026-08-01", amount)]
    assert rebates(run_campaign(MARGINAL, purchases), "ladder") == {"C1": marginal}
    assert rebates(run_campaign(WHOLE, purchases), "ladder") == {"C1": whole}


def test_returns_net_against_purchases_and_out_of_period_rows_do_not_count(run_campaign):
    purchases = [
        order("A1", "C1", "2026-07-05", "120000"),
        order("A2", "C1", "2026-09-01", "-30000"),        # a return in period
        order("A3", "C1", "2026-06-30", "500000"),        # before the start
        order("A4", "C1", "2027-01-01", "500000"),        # after the end
        order("B1", "C2", "2026-08-01", "20000"),
        order("B2", "C2", "2026-08-09", "-25000"),        # net negative
    ]
    s = run_campaign(MARGINAL, purchases)
    assert rebates(s, "ladder") == {"C1": "900.00", "C2": "0.00"}
    assert {c.customer_id: c.purchase_amount for c in s.customers} == {"C1": 9000000, "C2": -500000}
    assert any(f.code == "net-not-positive" and ("customer", "C2") in f.params for f in s.findings)


def test_lines_explain_each_slice_and_add_up(run_campaign):
    s = run_campaign(MARGINAL, [order("A1", "C1", "2026-08-01", "600000.50")])
    lines = [(l.ref, l.lower, l.upper, l.base, Decimal(int(l.units)).scaleb(-int(l.scale)), l.rebate)
             for l in s.lines.itertuples()]
    assert lines == [
        ("1", Decimal(0), Decimal(100000), 10_000_000, Decimal("1000.00"), 100000),
        ("2", Decimal(100000), Decimal(500000), 40_000_000, Decimal("8000.00"), 800000),
        ("3", Decimal(500000), None, 10_000_050, Decimal("3000.0150"), 300002),
    ]
    assert s.lines["rebate"].sum() == s.customers[0].rebates["ladder"] == 1_200_002


def test_as_of_settles_mid_period(run_campaign):
    purchases = [order("A1", "C1", "2026-07-05", "80000"), order("A2", "C1", "2026-10-01", "80000")]
    s = run_campaign(MARGINAL, purchases, as_of=__import__("datetime").date(2026, 9, 30))
    assert rebates(s, "ladder") == {"C1": "800.00"}
    assert s.as_of.isoformat() == "2026-09-30"


def test_quantity_basis_whole_mode(run_campaign):
    policy = """\
    - id: qty
      type: tiered
      basis: quantity
      mode: whole
      tiers: [{from: 0, rate: 0%}, {from: 100, rate: 2%}, {from: 1000, rate: 5%}]
    """
    purchases = [order("A1", "C1", "2026-08-01", "5000", quantity="60"),
                 order("A2", "C1", "2026-08-02", "4000.10", quantity="40"),
                 order("B1", "C2", "2026-08-01", "9000", quantity="99")]
    assert rebates(run_campaign(policy, purchases), "qty") == {"C1": "180.00", "C2": "0.00"}


BOUNDS = [(Decimal(0), Decimal("0.01")), (Decimal(100000), Decimal("0.02")), (Decimal(500000), Decimal("0.03"))]
amounts = st.decimals(min_value=0, max_value=10**8, places=2, allow_nan=False, allow_infinity=False)


def _slices(total):
    """The engine's slices of one amount in yuan, as yuan."""
    cents = marginal_parts(np.array([int(total * 100)]), [int(b * 100) for b, _ in BOUNDS])[:, 0]
    return [Decimal(int(c)) / 100 for c in cents]


def _marginal(total):
    return sum((rate * part for (_, rate), part in zip(BOUNDS, _slices(total))), Decimal(0))


@given(amounts, amounts)
def test_marginal_never_decreases_as_the_amount_grows(a, b):
    low, high = sorted((a, b))
    assert _marginal(low) <= _marginal(high)


@given(st.sampled_from([b for b, _ in BOUNDS[1:]]))
def test_marginal_is_continuous_at_every_bound(bound):
    cent = Decimal("0.01")
    assert _marginal(bound) - _marginal(bound - cent) <= Decimal("0.01") * cent * 3
    assert _marginal(bound + cent) - _marginal(bound) <= Decimal("0.03") * cent


@given(amounts)
def test_slices_cover_the_amount(total):
    assert sum(_slices(total), Decimal(0)) == total
    assert reached_tier(total, BOUNDS) >= 1
