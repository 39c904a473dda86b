"""What every policy sees: the in-period purchases and the payments known at as-of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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


def paid_by(orders: pd.DataFrame, payments: pd.DataFrame, deadline: pd.Series) -> pd.DataFrame:
    """For each order (index aligned with ``orders``) return how much was paid by its deadline.

    ``deadline`` is a datetime Series aligned with ``orders``. Returns a frame with the
    columns ``paid`` (cents paid on or before the deadline), ``paid_on`` (the date the
    running total of timely payments first reached the order amount, else NaT),
    ``paid_total`` (cents paid at all up to as-of) and ``full_on`` (the date all
    payments up to as-of first reached the amount, timely or not).
    """
    key = pd.DataFrame({"order_id": orders["order_id"].to_numpy(),
                        "deadline": deadline.to_numpy(),
                        "order_amount": orders["amount"].to_numpy(dtype="int64"),
                        "_pos": range(len(orders))})
    pay = payments[["order_id", "payment_date", "amount"]].dropna(subset=["order_id"])
    merged = key.merge(pay, on="order_id", how="inner").sort_values(["_pos", "payment_date"],
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
