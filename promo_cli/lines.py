"""Rebate lines: every explained piece of a customer's rebate under a policy, as one frame.

A line's exact amount is an integer of ``units`` in 10**-``scale`` yuan (a rate with four
decimals times cents needs scale 6), so a million lines are summed and rounded exactly
with integer arithmetic, never through binary floats. Columns:

- ``policy_id``, ``customer_id``, ``kind`` (tier-slice | whole | order | group-share),
  ``ref`` (tier number, order id or group id), ``source_row`` (Excel row in the purchase
  ledger, or <NA> for a line that sums several rows);
- ``base`` (cents the rate applies to), ``rate`` (Decimal), ``units``, ``scale``,
  ``rebate`` (cents once the customer's policy total was rounded once and spread over
  its lines, see :func:`round_lines`);
- ``lower``/``upper`` (tier bounds, Decimal or None), ``due_date``/``paid_on`` (datetime64);
- ``note`` (a message code of :mod:`promo_cli.messages`) and its parameters as Arrow text
  columns ``n_<name>``, ready to fill the note's template in either language.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import compute as pc

from promo_cli.money import decimal_texts

NOTE_PREFIX = "n_"


def rate_units(rates: Sequence[Decimal]) -> tuple[list[int], int]:
    """Return each rate as an integer number of 10**-places and the common ``places``.

    A rate × cents is then ``int × cents`` units of 10**-(places + 2) yuan, exactly."""
    places = max([0] + [max(0, -r.normalize().as_tuple().exponent) for r in rates])
    return [int(r.scaleb(places)) for r in rates], places


def make_lines(policy_id: str, kind: str, customer_id, ref, base, rate, units, scale: int,
               note, source_row=None, lower=None, upper=None, due_date=None, paid_on=None,
               **note_params) -> pd.DataFrame:
    """Build a policy's lines; scalars are repeated over every line."""
    n = len(customer_id)

    def column(value, dtype=object):
        if value is None:
            return np.full(n, None, dtype=object) if dtype is object else np.full(n, np.datetime64("NaT"), dtype=dtype)
        if np.ndim(value) == 0 and not isinstance(value, (list, tuple)):
            return np.full(n, value, dtype=dtype)
        return np.asarray(value, dtype=dtype) if dtype is not object else _objects(value)

    def text(value) -> pd.Series:
        return pd.Series(texts(value, n), dtype="str")

    frame = pd.DataFrame({
        "policy_id": text(policy_id), "customer_id": text(customer_id), "kind": text(kind),
        "ref": text(ref), "base": column(base, np.int64), "rate": column(rate),
        "units": column(units, np.int64), "scale": np.full(n, scale, dtype=np.int64),
        "rebate": np.zeros(n, dtype=np.int64), "lower": column(lower), "upper": column(upper),
        "due_date": column(due_date, "datetime64[s]"), "paid_on": column(paid_on, "datetime64[s]"),
        "note": text(note),
        "source_row": pd.array(np.full(n, pd.NA) if source_row is None else source_row, dtype="Int64"),
    })
    for name, value in note_params.items():   # n_due=…, n_rate=…: the note's parameters
        assert name.startswith(NOTE_PREFIX), name
        frame[name] = texts(value, n)
    return frame


def texts(value, n: int) -> pd.arrays.ArrowExtensionArray:
    """A text column of lines as Arrow text (a scalar repeated; null where there is none): a
    million lines' ids and note parameters take a few bytes each, not a Python string each."""
    if value is None:
        array = pa.nulls(n, type=pa.string())
    elif isinstance(value, str):
        array = pa.repeat(value, n)
    elif isinstance(value, (pa.Array, pa.ChunkedArray)):
        array = value
    elif isinstance(value, pd.Series) and value.dtype == "str":
        array = pa.array(value, type=pa.string(), from_pandas=True)
    else:
        array = pa.array(_objects(value), type=pa.string(), from_pandas=True)
    return pd.arrays.ArrowExtensionArray(array)


def texts_of_distinct(values, show) -> pa.Array:
    """``show(value)`` (text or None) for every value as Arrow text, each distinct value shown
    once; a missing value is null. For labels, names and Decimal rates over a million lines."""
    codes, distinct = pd.factorize(pd.Series(values) if not isinstance(values, pd.Series) else values)
    shown = pa.array([show(v) for v in distinct] + [None], type=pa.string())
    return shown.take(pa.array(np.where(codes < 0, len(distinct), codes)))


def iso_dates(days) -> pa.Array:
    """Dates (datetime64) as ``2026-11-03`` Arrow text, null where there is none."""
    return pc.cast(pa.array(np.asarray(days, dtype="datetime64[D]"), from_pandas=True), pa.string())


def _objects(values) -> np.ndarray:
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy(dtype=object)
    out = np.empty(len(values), dtype=object)
    out[:] = list(values) if not isinstance(values, np.ndarray) else values
    return out


def empty_lines() -> pd.DataFrame:
    return make_lines("", "", [], [], [], [], [], 2, [])


def concat_lines(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_lines()
    names = list(dict.fromkeys(c for p in parts for c in p.columns if c.startswith(NOTE_PREFIX)))
    parts = [p.assign(**{name: texts(None, len(p)) for name in names if name not in p}) for p in parts]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)


def sheet_order(lines: pd.DataFrame, policy_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The order of the Lines sheet: customer by customer (by id), then policy by policy as the
    campaign lists them, each customer's lines of a policy as they come. Returns the positions in
    that order and each line's policy rank."""
    position = {pid: i for i, pid in enumerate(policy_ids)}
    policy_codes, found = pd.factorize(lines["policy_id"])
    rank = np.array([position[pid] for pid in found], dtype=np.int64)[policy_codes]
    return np.lexsort((rank, pd.factorize(lines["customer_id"], sort=True)[0])), rank


def round_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Round each customer's total under each policy half-up once; spread its cents over its lines.

    Every line gets the floor of its exact amount in cents or one cent more (largest
    remainder first, the earlier line on a tie), so the lines add up to the rounded total.
    """
    if lines.empty:
        return lines
    units = lines["units"].to_numpy(dtype=np.int64)
    per_cent = 10 ** (lines["scale"].to_numpy(dtype=np.int64) - 2)
    group = lines.groupby(["policy_id", "customer_id"], sort=False).ngroup().to_numpy()
    groups = group.max() + 1
    total_units = np.zeros(groups, dtype=np.int64)
    np.add.at(total_units, group, units)
    unit = np.zeros(groups, dtype=np.int64)
    unit[group] = per_cent
    magnitude = (np.abs(total_units) * 2 + unit) // (2 * unit)          # half-up, away from zero
    total_cents = np.where(total_units < 0, -magnitude, magnitude)
    floors = units // per_cent
    floor_sum = np.zeros(groups, dtype=np.int64)
    np.add.at(floor_sum, group, floors)
    short = total_cents - floor_sum
    remainder = units - floors * per_cent
    order = np.lexsort((np.arange(len(units)), -remainder, group))
    starts = np.searchsorted(group[order], np.arange(groups))
    rank = np.empty(len(units), dtype=np.int64)
    rank[order] = np.arange(len(units)) - starts[group[order]]
    return lines.assign(rebate=floors + (rank < short[group]))


def exact_texts(lines: pd.DataFrame, finest: int | None = None) -> pd.Series:
    """Every line's exact amount as decimal text at the finest scale of all lines (``12.34500``);
    ``finest`` gives that scale when ``lines`` are only some of them."""
    if lines.empty:
        return pd.Series([], dtype=object)
    scale = lines["scale"].to_numpy(dtype=np.int64)
    finest = int(scale.max()) if finest is None else finest
    units = lines["units"].to_numpy(dtype=np.int64) * 10 ** (finest - scale)
    return pd.Series(pd.arrays.ArrowExtensionArray(decimal_texts(units, finest)), index=lines.index)


def taken_at_payment(lines: pd.DataFrame) -> dict[str, int]:
    """{policy: cents} of rebate customers deducted when paying (票扣), already taken: off the
    payable rebate, still part of what the campaign gave away."""
    if not len(lines):
        return {}
    taken = lines[lines["kind"] == "taken-at-payment"]
    return {str(pid): -int(cents) for pid, cents in taken.groupby("policy_id", sort=False)["base"].sum().items()}
