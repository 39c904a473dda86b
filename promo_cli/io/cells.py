"""Parsing of single ledger cells other than money (money lives in :mod:`promo_cli.money`).

Each parser takes a raw cell (what calamine or the CSV reader gave) and returns the
typed value, or raises ``ValueError`` with a short reason.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from promo_cli.io.columns import (
    BOOLEANS,
    CHANNELS,
    DEPOSIT_KINDS,
    PAYOUT_METHODS,
    enum_index,
    normalise_header,
)
from promo_cli.money import parse_decimal

_EXCEL_EPOCH = date(1899, 12, 30)
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL_TEXT = re.compile(r"^\d{1,7}(?:\.\d+)?$")
_SERIAL_RANGE = (1, 2958465)  # 1900-01-01 .. 9999-12-31 in Excel's serial days


def is_blank(value: object) -> bool:
    """True for an empty cell: None, NaN, or text of only spaces."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


# What hides in ids copied from web pages, chats and PDFs: zero-width characters and odd spaces.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")
_ODD_SPACE = re.compile(r"[\u00a0\u2007\u202f\u3000]")
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_TEXT_GUARD = re.compile(r'^="(.*)"$', re.DOTALL)
# Any of these in a text cell means :func:`normalise_id` may change it (a fast pre-check). The
# characters themselves, not \u escapes: Arrow's regex engine (RE2) runs it over whole columns.
ODD_ID_PATTERN = '[\u200b-\u200f\u2060\ufeff\u00ad\u00a0\u2007\u202f\u3000\uff01-\uff5e]|^="'
_EARLIEST = date(1900, 1, 1)


def normalise_id(text: str) -> str:
    """An id as a person reads it: Excel's ``="…"`` text guard removed, zero-width characters
    dropped, odd spaces made plain and stripped, full-width letters and digits as ASCII."""
    text = text.strip()
    guarded = _TEXT_GUARD.match(text)
    if guarded:
        text = guarded.group(1).replace('""', '"')
    text = _INVISIBLE.sub("", text)
    text = _ODD_SPACE.sub(" ", text).translate(_FULL_WIDTH)
    return text.strip()


def parse_id(value: object) -> str:
    """Return an id as text. A number cell 12345.0 becomes ``"12345"``; text is normalised
    by :func:`normalise_id`."""
    if isinstance(value, bool):
        raise ValueError("a yes/no value, not an id")
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, (datetime, date, time)):
        raise ValueError("a date, not an id")
    text = normalise_id(str(value))
    if not text:
        raise ValueError("only invisible characters")
    return text


def parse_text(value: object) -> str:
    """Return a text cell stripped; numbers are shown without a spurious ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_date(value: object) -> date:
    """Return a date from an Excel date, an Excel serial number or text such as
    ``2026-11-03``, ``2026/11/3``, ``2026.11.3``, ``2026年11月3日`` or ``20261103``."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        if value < _EARLIEST:   # serial 0 shows as 1900-01-00; a bare time of day sits on it
            raise ValueError("zero-date")
        return value
    if isinstance(value, time):
        raise ValueError("time-without-date")
    if isinstance(value, bool):
        raise ValueError("not a date")
    text = str(value).strip()
    if isinstance(value, (int, float)) or _SERIAL_TEXT.match(text):
        # an Excel serial, or one shown as text (in a column mixing dates and text)
        try:
            serial = int(float(value))  # a fraction is the time of day
        except (OverflowError, ValueError):
            raise ValueError("not a date") from None
        if _SERIAL_RANGE[0] <= serial <= _SERIAL_RANGE[1] and serial < 1_000_000:
            return _EXCEL_EPOCH + timedelta(days=serial)
        text = str(serial)
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if not match:
        raise ValueError("not a date")
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError("no such day") from None


def parse_number(value: object) -> Decimal:
    """Return a quantity as an exact Decimal."""
    return parse_decimal(value)


def _enum_parser(values: dict, what: str):
    index = enum_index(values)

    def parse(value: object) -> object:
        key = normalise_header(parse_text(value))
        if key not in index:
            raise ValueError(f"not a known {what}")
        return index[key]

    return parse


parse_deposit_kind = _enum_parser(DEPOSIT_KINDS, "kind")
parse_channel = _enum_parser(CHANNELS, "channel")
parse_payout_method = _enum_parser(PAYOUT_METHODS, "payout method (银行转账, 支票, 电子钱包, 账扣, 货补)")
parse_bool = _enum_parser(BOOLEANS, "yes/no value")
