"""What every policy sees: the in-period purchases and the payments known at as-of."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import compute as pc

from promo_cli.model import Ledger


@dataclass(frozen=True, slots=True)
class PolicyContext:
    purchases: pd.DataFrame   # in-period rows only, canonical columns + _row
    payments: pd.DataFrame    # rows dated on or before as_of
    period_start: date
    period_end: date
    as_of: date
    source: Ledger            # the purchases ledger, to point findings at its cells
    customers: pd.DataFrame | None = None   # the customer master, when given
    # customers who bought before the period (this ledger or the baseline ledger)
    bought_before: frozenset[str] = frozenset()
    products: pd.DataFrame | None = None    # the products ledger (product, category), when given
    agreements: dict = field(default_factory=dict)   # {policy id: [Agreement]} (policies/agreements.py)
    # expired deposits turned into points, {customer: [(day, points)]} (prepaid policies)
    conversions: dict[str, list[tuple[date, int]]] = field(default_factory=dict)


@dataclass(slots=True)
class LoyaltyResult:
    """What a loyalty policy gives: a table (one row per customer, order or recipient) and totals.

    ``columns`` are (label key, cell kind) pairs; ``totals`` is ready for summary.json.
    """

    policy_id: str
    type: str
    columns: list[tuple[str, str]]
    rows: list[list]
    totals: dict


def net_spend(purchases: pd.DataFrame) -> pd.Series:
    """Net in-period amount (cents) per customer, ascending customer id."""
    return purchases.groupby("customer_id", sort=True)["amount"].sum().astype("int64")


def master_column(ctx: "PolicyContext", column: str) -> dict[str, str]:
    if ctx.customers is None or column not in ctx.customers:
        return {}
    return dict(ctx.customers[["customer_id", column]].dropna().to_numpy())


def link_orders(purchases: pd.DataFrame, payments: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both ledgers with an ``_order`` column: a purchase row's position in ``purchases``, and
    for a payment the position of the purchase row of its order (−1 when there is none).

    Every match of payments to orders (policies, checks, reconciliation) uses these integers,
    so the order ids of a large ledger are hashed once per run, not once per use."""
    # Arrow's hash lookup (order ids are Arrow text from the readers): a purchase row's order id
    # is found at its first row, which is the row a payment belongs to.
    found = pc.index_in(_as_arrow(payments["order_id"]), value_set=_as_arrow(purchases["order_id"]),
                        skip_nulls=True)
    order = pc.fill_null(found, -1).to_numpy(zero_copy_only=False)
    return (purchases.assign(_order=np.arange(len(purchases), dtype=np.int64)),
            payments.assign(_order=order.astype(np.int64)))


def paid_by(orders: pd.DataFrame, payments: pd.DataFrame, deadline: pd.Series) -> pd.DataFrame:
    """For each order (index aligned with ``orders``) return how much was paid by its deadline.

    Both frames carry ``_order`` (see :func:`link_orders`). ``deadline`` is a datetime Series
    aligned with ``orders``. Returns a frame with the columns ``paid`` (cents paid on or before
    the deadline), ``paid_on`` (the date the running total of timely payments first reached
    the order amount, else NaT), ``paid_total`` (cents paid at all up to as-of) and
    ``full_on`` (the date all payments up to as-of first reached the amount, timely or not).
    Payments of an order count in date order (ledger order on the same day); integer cents.
    """
    n = len(orders)
    positions = orders["_order"].to_numpy(dtype=np.int64)
    linked = payments["_order"].to_numpy(dtype=np.int64)        # −1: a payment of no known order
    # ledger position → row of ``orders``; the last slot stays −1, which is where −1 looks
    slot = np.full(max(positions.max(initial=-1), linked.max(initial=-1)) + 2, -1, dtype=np.int64)
    slot[positions] = np.arange(n)
    which = slot[linked]
    mine = which >= 0
    which = which[mine]
    day = payments["payment_date"].to_numpy(dtype="datetime64[s]")[mine]
    cents = payments["amount"].to_numpy(dtype=np.int64, na_value=0)[mine]
    by_order = np.lexsort((day, which))                 # stable: ledger order within a day
    which, day, cents = which[by_order], day[by_order], cents[by_order]
    due = orders["amount"].to_numpy(dtype=np.int64, na_value=0)
    limit = deadline.to_numpy(dtype="datetime64[s]")

    def totals(keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cents per order of the payments kept, and the date their running total reached
        the order's amount (NaT where it never did)."""
        w, d, c = which[keep], day[keep], cents[keep]
        total = np.zeros(n, dtype=np.int64)
        np.add.at(total, w, c)
        running = np.cumsum(c)
        starts = np.flatnonzero(np.r_[True, w[1:] != w[:-1]]) if len(w) else np.zeros(0, dtype=np.int64)
        before = np.repeat(running[starts] - c[starts], np.diff(np.r_[starts, len(w)]))
        reached = (running - before) >= due[w]
        when = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
        first_rows = np.unique(w[reached], return_index=True)
        when[first_rows[0]] = d[reached][first_rows[1]]
        return total, when

    paid_total, full_on = totals(np.ones(len(which), dtype=bool))
    paid, paid_on = totals(day <= limit[which])
    return pd.DataFrame({"paid": paid, "paid_on": paid_on, "paid_total": paid_total, "full_on": full_on},
                        index=orders.index)


def _as_arrow(values: pd.Series) -> pa.Array:
    """An id column as Arrow text (without a copy when it is Arrow text already)."""
    return pa.array(values, type=pa.string(), from_pandas=True)
