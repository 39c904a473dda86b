"""Money and rates: the one place that parses, rounds, allocates and formats them.

Amounts travel through the program as integer cents (``int``). Exact intermediate
results (a rate times an amount) are ``Decimal`` yuan; they are rounded half-up
(四舍五入) to the cent exactly once, by :func:`round_cents`. Binary floats are never
used for arithmetic: a float read from a workbook is turned into cents at once via
its shortest decimal representation.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np


CENT = Decimal("0.01")
_HUNDRED = Decimal(100)

# Currency signs and words a till or ERP puts around an amount.
_CURRENCY = re.compile(r"[¥￥$]|CNY|RMB|人民币|元", re.IGNORECASE)
_SPACES = re.compile(r"[\s\u00a0\u2007\u202f\u3000]+")
_ACCOUNTING_NEGATIVE = re.compile(r"^\((.*)\)$")
# Digits grouped by thousands with one kind of separator (1,234,567.89 · 1 234.5 · 1'234), or plain.
_GROUPED = re.compile(r"^[+-]?(?:\d{1,3}(?P<sep>[,' ])\d{3}(?:(?P=sep)\d{3})*|\d+)(?:\.\d+)?$")
# What a decimal-comma locale writes: 1234,56 · 1.234,56 · 1 234,5
_DECIMAL_COMMA = re.compile(r"^[+-]?\d{1,3}(?:[. ]?\d{3})*,\d{1,2}$|^[+-]?\d+,\d{1,2}$")
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xFF0C: 0x2C}


def parse_decimal(value: object) -> Decimal:
    """Return ``value`` (a cell: str, int, float, Decimal) as an exact Decimal.

    Accepts ``¥1,234.50``, ``￥ 1 234.5``, ``(12.00)`` (accounting negative), ``12.00-`` and
    full-width digits. A separator must group thousands: ``1,2345`` is refused, and so is a
    decimal comma (``1.234,56``, ``1234,56``), never read as another number. Raises
    ``ValueError`` with a short reason otherwise.
    """
    if isinstance(value, bool):
        raise ValueError("a yes/no value, not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a finite number")
        # repr() is the shortest string that round-trips: 1234.5, not 1234.4999999…
        result = Decimal(repr(value))
    elif isinstance(value, str):
        result = Decimal(_plain_number_text(value))
    else:
        raise ValueError("not a number")
    if not result.is_finite():
        raise ValueError("not a finite number")
    return result


def _plain_number_text(value: str) -> str:
    """An amount's text reduced to what ``Decimal`` reads, or ValueError saying why not."""
    text = _CURRENCY.sub("", value.translate(_FULL_WIDTH)).strip()
    text = _SPACES.sub(" ", text)
    match = _ACCOUNTING_NEGATIVE.match(text)
    if match:
        text = "-" + match.group(1).strip()
    if text.endswith("-") and text.count("-") == 1:  # trailing minus: "12.00-"
        text = "-" + text[:-1].strip()
    text = re.sub(r"^([+-]) ", r"\1", text)
    if not text:
        raise ValueError("empty")
    if _DECIMAL_COMMA.match(text):
        raise ValueError("decimal-comma")
    match = _GROUPED.match(text)
    if not match:
        raise ValueError("not a number")
    return text.replace(match.group("sep"), "") if match.group("sep") else text


def to_cents(value: object) -> int:
    """Return a money cell as integer cents, rounded half-up to the cent."""
    return round_cents(parse_decimal(value))


def round_cents(amount: Decimal | Fraction) -> int:
    """Round an exact amount in yuan half-up (away from zero at .5) to integer cents."""
    if isinstance(amount, Fraction):
        amount = Decimal(amount.numerator) / Decimal(amount.denominator)
    with localcontext() as ctx:
        ctx.prec = 60
        return int((amount * _HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cents_to_decimal(cents: int) -> Decimal:
    """Return cents as a two-place Decimal in yuan (for workbooks and display)."""
    return (Decimal(cents) / _HUNDRED).quantize(CENT)


def format_amount(cents: int) -> str:
    """Return cents as the pinned JSON form: ``"-12.50"`` (no separators; integer arithmetic)."""
    cents = int(cents)
    whole, part = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole}.{part:02d}"


def format_display(cents: int) -> str:
    """Return cents for people: ``"1,234.50"``."""
    cents = int(cents)
    whole, part = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole:,}.{part:02d}"


def format_display_many(cents) -> "np.ndarray":
    """:func:`format_display` over many amounts (an object array of text), each distinct
    amount formatted once."""
    import numpy as np
    distinct, where = np.unique(np.asarray(cents, dtype=np.int64), return_inverse=True)
    shown = np.empty(len(distinct), dtype=object)
    shown[:] = [format_display(c) for c in distinct.tolist()]
    return shown[where.reshape(-1)]


def decimal_texts(units, places: int):
    """Integers of 10**-places as decimal text, all at once: ``-1250, 2 → "-12.50"``.

    Returns an Arrow string array (integer arithmetic, then Arrow's string kernels)."""
    import numpy as np
    import pyarrow as pa
    from pyarrow import compute as pc
    units = np.asarray(units, dtype=np.int64)
    power = 10 ** places
    magnitude = np.abs(units)
    whole = pc.cast(pa.array(magnitude // power), pa.string())
    sign = pa.array(np.where(units < 0, "-", ""), type=pa.string())
    if not places:
        return pc.binary_join_element_wise(sign, whole, "")
    fraction = pc.utf8_lpad(pc.cast(pa.array(magnitude % power), pa.string()), width=places, padding="0")
    return pc.binary_join_element_wise(sign, whole, ".", fraction, "")


def parse_rate(value: object) -> Decimal:
    """Return a rate written ``2%``, ``"0.02"`` or ``0.02`` as an exact Decimal fraction."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return parse_decimal(value.strip()[:-1]) / _HUNDRED
    return parse_decimal(value)


def format_rate(rate: Decimal) -> str:
    """Return a rate for people: ``Decimal("0.005")`` → ``"0.5%"``."""
    percent = (rate * _HUNDRED).normalize()
    text = f"{percent:f}"
    return f"{text}%"


def exact_times(rate: Decimal, cents: int | Decimal) -> Decimal:
    """Return ``rate`` × an amount in cents, as exact yuan (no rounding)."""
    with localcontext() as ctx:
        ctx.prec = 60
        return rate * Decimal(cents) / _HUNDRED


def allocate(total_cents: int, weights: Sequence[Fraction | Decimal | int]) -> list[int]:
    """Split ``total_cents`` in proportion to ``weights`` by largest remainder.

    Every share is the floor of its exact share or one cent more; the shares add up
    to ``total_cents`` exactly. Ties go to the earlier weight, so callers order the
    weights by their tie-break key (e.g. customer_id ascending). Weights must be
    non-negative; if they are all zero, every share is zero except that a non-zero
    total goes to the first weight.
    """
    fractions = [Fraction(w) for w in weights]
    if any(w < 0 for w in fractions):
        raise ValueError("allocation weights must not be negative")
    whole = sum(fractions)
    if not fractions:
        return []
    if whole == 0:
        return [total_cents] + [0] * (len(fractions) - 1)
    exact = [Fraction(total_cents) * w / whole for w in fractions]
    return _round_to_total(total_cents, exact)


def _round_to_total(total: int, exact: list[Fraction]) -> list[int]:
    floors = [int(value // 1) for value in exact]
    short = total - sum(floors)
    # Largest fractional remainder first; Python's sort is stable, so ties keep order.
    order = sorted(range(len(exact)), key=lambda i: exact[i] - floors[i], reverse=True)
    if short < 0 or short > len(exact):  # impossible for consistent inputs
        raise ValueError("cannot distribute the rounding over these parts")
    for i in order[:short]:
        floors[i] += 1
    return floors
