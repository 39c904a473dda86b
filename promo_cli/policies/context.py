"""What every policy sees: the in-period purchases and the payments known at as-of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

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
    ids = purchases["order_id"]
    known = ids.notna().to_numpy() & ~ids.duplicated().to_numpy()
    positions = np.flatnonzero(known)
    found = pd.Index(ids[known].to_numpy(dtype=object)).get_indexer(payments["order_id"].to_numpy(dtype=object))
    found[payments["order_id"].isna().to_numpy()] = -1
    order = np.where(found >= 0, positions[np.maximum(found, 0)] if len(positions) else -1, -1)
    return (purchases.assign(_order=np.arange(len(purchases), dtype=np.int64)),
            payments.assign(_order=order.astype(np.int64)))


def paid_by(orders: pd.DataFrame, payments: pd.DataFrame, deadline: pd.Series) -> pd.DataFrame:
    """For each order (index aligned with ``orders``) return how much was paid by its deadline.

    Both frames carry ``_order`` (see :func:`link_orders`). ``deadline`` is a datetime Series
    aligned with ``orders``. Returns a frame with the columns ``paid`` (cents paid on or before
    the deadline), ``paid_on`` (the date the running total of timely payments first reached
    the order amount, else NaT), ``paid_total`` (cents paid at all up to as-of) and
    ``full_on`` (the date all payments up to as-of first reached the amount, timely or not).
    """
    key = pd.DataFrame({"_order": orders["_order"].to_numpy(),
                        "deadline": deadline.to_numpy(),
                        "order_amount": orders["amount"].to_numpy(dtype="int64"),
                        "_pos": np.arange(len(orders))})
    pay = payments.loc[payments["_order"].to_numpy() >= 0, ["_order", "payment_date", "amount"]]
    merged = key.merge(pay, on="_order", how="inner").sort_values(["_pos", "payment_date"],
                                                                   kind="stable")
    merged["amount"] = merged["amount"].astype("int64")
    result = pd.DataFrame({"paid": 0, "paid_on": pd.NaT, "paid_total": 0, "full_on": pd.NaT},
                          index=range(len(orders)))
    result[["paid_on", "full_on"]] = result[["paid_on", "full_on"]].apply(pd.to_datetime)
    if not merged.empty:
        result["paid_total"] = merged.groupby("_pos")["amount"].sum().reindex(result.index, fill_value=0)
        merged["running"] = merged.groupby("_pos")["amount"].cumsum()
        full = merged[merged["running"] >= merged["order_amount"]]
        result["full_on"] = full.groupby("_pos")["payment_date"].first().reindex(result.index)
        timely = merged[merged["payment_date"] <= merged["deadline"]].copy()
        result["paid"] = timely.groupby("_pos")["amount"].sum().reindex(result.index, fill_value=0)
        timely["running"] = timely.groupby("_pos")["amount"].cumsum()
        reached = timely[timely["running"] >= timely["order_amount"]]
        result["paid_on"] = reached.groupby("_pos")["payment_date"].first().reindex(result.index)
    result.index = orders.index
    return result
