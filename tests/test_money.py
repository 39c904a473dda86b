from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promo_cli.lines import make_lines, round_lines
from promo_cli.money import (
    allocate,
    exact_times,
    format_amount,
    parse_rate,
    round_cents,
    to_cents,
)


@pytest.mark.parametrize("raw, cents", [
    ("¥1,234.50", 123450), ("￥ 1 234.5", 123450), (" 1234.5 ", 123450), ("-12.5", -1250),
    ("(12.00)", -1200), ("12.00-", -1200), ("1,234", 123400), ("RMB 7.1", 710), ("3元", 300),
    (1234.5, 123450), (0.1 + 0.2, 30), (1234, 123400), (Decimal("2.675"), 268),
    (2.675, 268),  # the float 2.675 is 2.67499999…; its shortest repr is 2.675 → half-up 2.68
    ("0.005", 1), ("-0.005", -1), ("1,234.505", 123451),
])
def test_to_cents(raw, cents):
    assert to_cents(raw) == cents


@pytest.mark.parametrize("raw", ["abc", "", "1.2.3", "¥", True, None, float("nan"), "1e400x"])
def test_to_cents_rejects(raw):
    with pytest.raises(ValueError):
        to_cents(raw)


@pytest.mark.parametrize("raw, rate", [("2%", "0.02"), ("0.5%", "0.005"), ("0.02", "0.02"),
                                       (0, "0"), ("12.5 %", "0.125")])
def test_parse_rate(raw, rate):
    assert parse_rate(raw) == Decimal(rate)


def test_half_up_of_a_rebate():
    # 1001.00 × 0.5% = 5.005 → 5.01 (half-up), where banker's rounding would give 5.00
    assert round_cents(exact_times(Decimal("0.005"), 100100)) == 501
    assert round_cents(Decimal("-5.005")) == -501
    assert format_amount(-1250) == "-12.50"
    assert format_amount(5) == "0.05"


def test_allocate_largest_remainder_ties_go_first():
    # 1.00 over three equal weights: 0.34 to the first (tie broken by order), 0.33, 0.33
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(1001, [Decimal("2"), Decimal("1")]) == [667, 334]
    assert allocate(0, [5, 5]) == [0, 0]
    assert allocate(7, [0, 0]) == [7, 0]


def _round_lines(values: list[Decimal]) -> list[int]:
    """The engine's rounding of one customer's lines (amounts in yuan, five decimals)."""
    units = [int(v.scaleb(5)) for v in values]
    lines = make_lines("p", "order", ["C1"] * len(values), [str(i) for i in range(len(values))], [0] * len(values),
                       Decimal(0), units, 5, "on-time")
    return [int(c) for c in round_lines(lines)["rebate"]]


def test_round_lines_rounds_the_sum_once():
    parts = _round_lines([Decimal("0.005"), Decimal("0.005"), Decimal("0.005")])
    assert sum(parts) == 2  # 0.015 → 0.02, while rounding each line would give 0.03
    assert parts == [1, 1, 0]   # a tie goes to the earlier line


@given(st.integers(min_value=0, max_value=10**9),
       st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30))
def test_allocate_adds_up_and_stays_within_a_cent(total, weights):
    shares = allocate(total, weights)
    assert sum(shares) == total
    whole = sum(weights)
    if whole:
        for share, weight in zip(shares, weights):
            exact = Fraction(total * weight, whole)
            assert exact - 1 < share < exact + 1


@given(st.lists(st.decimals(min_value=-10**6, max_value=10**6, places=5, allow_nan=False), max_size=30))
def test_round_lines_parts_add_up(values):
    parts = _round_lines(values)
    assert sum(parts) == round_cents(sum(values, Decimal(0)))
    for part, value in zip(parts, values):
        assert value * 100 - 1 < part < value * 100 + 1
