"""Customer segmentation (source plan 002): new vs returning, purchase frequency, repurchase
rate and the Pareto table (the share of sales the top 10/20/50% of customers bring)."""

from __future__ import annotations

import math
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from promo_cli.money import format_amount

BANDS = (("1", 1, 1), ("2-3", 2, 3), ("4-9", 4, 9), ("10+", 10, None))


def _share(part: int, whole: int) -> str | None:
    if not whole:
        return None
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def new_customers(customers, history: pd.DataFrame, first_purchase: dict[str, date], start: date) -> set[str]:
    """The one definition of a new customer, for the segments and the evaluation alike: its
    first purchase (the master's ``first_purchase_date`` where given, else its earliest row in
    the ledgers) is on or after the period start."""
    earliest = history.groupby("customer_id")["order_date"].min()
    out = set()
    for customer in customers:
        first = first_purchase.get(customer)
        if first is None and customer in earliest.index and not pd.isna(earliest[customer]):
            first = earliest[customer].date()
        if first is not None and first >= start:
            out.add(customer)
    return out


def segment(history: pd.DataFrame, in_period: pd.DataFrame, start: date, targets: set[str] | None = None,
            first_purchase: dict[str, date] | None = None) -> dict:
    """Return the segmentation as JSON data. ``history``: every purchase row up to as-of.

    With ``targets`` (the customers the campaign addressed), the response rate is the share
    of targets who bought in the period; the natural repurchase rate is the same share among
    the other customers who had bought before the period.
    """
    buyers = sorted(set(in_period["customer_id"]))
    new = len(new_customers(buyers, history, first_purchase or {}, start))
    bought = in_period[in_period["amount"] > 0]      # rows summed out of core say how many they are (n)
    orders = bought.groupby("customer_id")["n"].sum() if "n" in bought else bought.groupby("customer_id").size()
    bands = []
    for name, low, high in BANDS:
        count = int(((orders >= low) & ((orders <= high) if high else True)).sum())
        bands.append({"orders": name, "customers": count, "share": _share(count, len(buyers))})
    repeat = int((orders >= 2).sum())
    spend = in_period.groupby("customer_id")["amount"].sum().sort_values(ascending=False, kind="stable")
    total = int(spend.clip(lower=0).sum())
    pareto = []
    for percent in (10, 20, 50):
        top = math.ceil(len(spend) * percent / 100)
        part = int(spend.iloc[:top].clip(lower=0).sum())
        pareto.append({"top_percent": percent, "customers": top, "sales": format_amount(part),
                       "share": _share(part, total)})
    result = {"customers": len(buyers), "new": new, "returning": len(buyers) - new,
              "frequency": bands, "repurchase_rate": _share(repeat, len(buyers)), "pareto": pareto}
    if targets is not None:
        bought = set(buyers)
        earlier = set(history.loc[history["order_date"] < pd.Timestamp(start), "customer_id"])
        others = earlier - targets
        responded = len(targets & bought)
        natural = len(others & bought)
        result["targets"] = {"targeted": len(targets), "responded": responded,
                             "response_rate": _share(responded, len(targets)),
                             "non_targets": len(others), "non_targets_bought": natural,
                             "natural_repurchase_rate": _share(natural, len(others))}
    return result
