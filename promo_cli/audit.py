"""Audit: checks on the ledgers' data, and reconciliations of the settlement's figures.

Checks are a tuple of plain functions, each returning findings. Reconciliations
return (key, expected, actual, unit) rows that the audit report shows side by side.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pandas as pd

from promo_cli.model import (
    CustomerResult,
    Finding,
    Ledgers,
    Settlement,
    finding,
)
from promo_cli.money import format_display, to_cents

MAX_PER_CHECK = 200  # past this many findings of one check, one summing-up finding


def check_data(ledgers: Ledgers, orders: pd.DataFrame, payments: pd.DataFrame,
               in_period: pd.DataFrame, by_check: bool = False) -> list:
    """Run every data check; return their findings (``by_check``: a list per check, uncapped,
    for a shard of a ledger settled out of core, capped over all shards by :func:`capped`)."""
    found = [check(ledgers, orders, payments, in_period) for check in CHECKS]
    return found if by_check else [f for check in found for f in capped(check)]


def capped(findings: list[Finding]) -> list[Finding]:
    if len(findings) <= MAX_PER_CHECK:
        return findings
    rest = findings[MAX_PER_CHECK:]
    return findings[:MAX_PER_CHECK] + [finding(rest[0].severity, "more-like-this", file=rest[0].file,
                                               sheet=rest[0].sheet, count=len(rest), like=rest[0].code)]


def _out_of_period(ledgers, orders, payments, in_period) -> list[Finding]:
    counts = Counter(orders.loc[orders["status"] != "counted", "status"])
    where = ledgers.purchases.at() if ledgers.purchases else {}
    return [finding("info", "out-of-period", **where, count=count, why=(why, ()))
            for why, count in sorted(counts.items())]


def _unknown_orders(ledgers, orders, payments, in_period) -> list[Finding]:
    if ledgers.payments is None:
        return []
    unknown = payments[payments["_order"].to_numpy() < 0]
    return [finding("warning", "payment-unknown-order", **ledgers.payments.at("order_id", int(row)),
                    value=order, order=order)
            for order, row in zip(unknown["order_id"], unknown["_row"])]


def _overpaid(ledgers, orders, payments, in_period) -> list[Finding]:
    if ledgers.payments is None or payments.empty:
        return []
    paid = payments[payments["_order"].to_numpy() >= 0].groupby("_order")["amount"].sum()
    frame = orders[["order_id", "amount", "_row"]].assign(paid=paid.reindex(orders["_order"]).array)
    over = frame[frame["paid"].notna() & (frame["paid"] > frame["amount"].clip(lower=0))]
    return [finding("warning", "order-overpaid", **ledgers.purchases.at("amount", int(row)),
                    order=order, amount=format_display(int(amount)), paid=format_display(int(p)),
                    over=format_display(int(p) - max(int(amount), 0)))
            for order, amount, row, p in over.itertuples(index=False)]


def _payment_customer(ledgers, orders, payments, in_period) -> list[Finding]:
    if ledgers.payments is None or payments["customer_id"].isna().all():
        return []
    frame = payments.dropna(subset=["customer_id"])
    order = frame["_order"].to_numpy()
    owner = np.full(len(frame), None, dtype=object)
    owner[order >= 0] = orders["customer_id"].to_numpy(dtype=object)[order[order >= 0]]
    frame = frame.assign(owner=owner)
    odd = frame[frame["owner"].notna() & (frame["owner"] != frame["customer_id"])]
    return [finding("warning", "payment-customer-mismatch", **ledgers.payments.at("customer_id", int(row)),
                    paid_by=paid_by, order=order, customer=customer)
            for paid_by, order, customer, row in
            odd[["customer_id", "order_id", "owner", "_row"]].itertuples(index=False)]


def _returns_without_purchase(ledgers, orders, payments, in_period) -> list[Finding]:
    first_buy = orders[orders["amount"] > 0].groupby("customer_id")["order_date"].min()
    returns = orders[orders["amount"] < 0].join(first_buy.rename("first_buy"), on="customer_id")
    orphan = returns[returns["first_buy"].isna() | (returns["first_buy"] > returns["order_date"])]
    return [finding("warning", "return-without-purchase", **ledgers.purchases.at("amount", int(row)),
                    customer=customer)
            for customer, row in zip(orphan["customer_id"], orphan["_row"])]


def _several_names(ledgers, orders, payments, in_period) -> list[Finding]:
    named = orders[["customer_id", "customer_name", "_row"]].dropna().drop_duplicates(["customer_id", "customer_name"])
    several = named[named.duplicated("customer_id", keep=False)]
    out = []
    for customer, group in several.groupby("customer_id", sort=True):
        out.append(finding("warning", "several-names", **ledgers.purchases.at("customer_name", int(group["_row"].iloc[1])),
                           customer=customer, names=" / ".join(group["customer_name"])))
    return out


def _odd_amounts(ledgers, orders, payments, in_period) -> list[Finding]:
    out = []
    for row in orders.loc[orders["amount"] == 0, "_row"]:
        out.append(finding("warning", "zero-amount", **ledgers.purchases.at("amount", int(row))))
    if ledgers.payments is not None:
        for row in payments.loc[payments["amount"] == 0, "_row"]:
            out.append(finding("warning", "zero-amount", **ledgers.payments.at("amount", int(row))))
    quantity = orders["quantity"]
    has_q = quantity.notna()
    if has_q.any():
        signs = orders[has_q]
        q = signs["quantity"].to_numpy(dtype=object)
        a = signs["amount"].to_numpy(dtype=np.int64)
        opposite = ((q > 0) & (a < 0)) | ((q < 0) & (a > 0))
        for row in signs.loc[opposite.astype(bool), "_row"]:
            out.append(finding("warning", "sign-mismatch", **ledgers.purchases.at("quantity", int(row))))
    return out


def _not_in_master(ledgers, orders, payments, in_period) -> list[Finding]:
    if ledgers.customers is None:
        return []
    known = set(ledgers.customers.frame["customer_id"])
    missing = in_period[~in_period["customer_id"].isin(known)].drop_duplicates("customer_id")
    return [finding("warning", "customer-not-in-master", **ledgers.purchases.at("customer_id", int(row)),
                    customer=customer)
            for customer, row in zip(missing["customer_id"], missing["_row"])]


CHECKS = (_out_of_period, _unknown_orders, _overpaid, _payment_customer, _returns_without_purchase,
          _several_names, _odd_amounts, _not_in_master)


def merge_checks(parts: list[list[list[Finding]]], purchases: str) -> list[Finding]:
    """The data checks' findings of the shards of a ledger settled out of core (each shard's
    ``check_data(by_check=True)``) as the checks give them on the whole ledger: counts added up,
    in the order each check makes them, each check capped. ``purchases``: the purchase ledger's name."""
    out = []
    for i, check in enumerate(CHECKS):
        found = [f for part in parts for f in part[i]]
        if check is _out_of_period:             # a count per reason
            totals: dict[str, Finding] = {}
            for f in found:
                params = dict(f.params)
                why = params["why"][0]
                if why in totals:
                    params["count"] += dict(totals[why].params)["count"]
                totals[why] = replace(f, params=tuple(params.items()))
            found = [totals[why] for why in sorted(totals)]
        elif check is _several_names:           # customer by customer
            found.sort(key=lambda f: str(dict(f.params)["customer"]))
        else:                                   # in ledger order, the purchases' first (and signs last)
            found.sort(key=lambda f: (f.code == "sign-mismatch", f.file != purchases, f.row or 0))
        out += capped(found)
    return out


def compare(customers: list[CustomerResult], second: dict[tuple[str, str], int]
            ) -> tuple[list[tuple[str, str, int, int]], list[Finding]]:
    """Compare the engine with the independent recomputation (``second``, see
    :func:`promo_cli.recompute.recompute`), customer by customer.

    Returns the compared rows (customer, policy, engine, recomputed) and an ``error``
    finding for every difference, and for a customer only one side knows.
    """
    rows, problems = [], []
    engine = {(c.customer_id, pid): cents for c in customers for pid, cents in c.rebates.items()}
    for key in sorted(set(engine) | set(second)):
        ours, theirs = engine.get(key), second.get(key)
        rows.append((key[0], key[1], ours, theirs))
        if ours != theirs:
            problems.append(finding("error", "recompute-mismatch", customer=key[0], policy=key[1],
                                    engine="—" if ours is None else format_display(ours),
                                    recomputed="—" if theirs is None else format_display(theirs)))
    return rows, problems


def compare_deposits(policy_id: str, result, second: dict) -> tuple[list[tuple[str, int, int, str]], list[Finding]]:
    """Compare a prepaid policy's figures with the independent recomputation
    (:func:`promo_cli.recompute_deposits.recompute_deposits`): every total, every cost, the cap
    violations and each account's closing balance. Returns reconciliation rows and an error
    finding for each difference."""
    totals = result.totals()
    engine = {**{k: totals[k] for k in ("deposited", "bonus", "consumed", "expired", "closing_balance")},
              **{k: result.costs.get(k, 0) for k in ("vouchers", "gifts", "discounts", "referral_gifts")},
              "cap_violations": len(result.cap_violations), "points_converted": result.points.get("converted", 0)}
    rows, problems = [], []
    for figure, ours in engine.items():
        theirs = second[figure]
        count = figure in ("cap_violations", "points_converted")
        rows.append((f"recompute-deposits:{policy_id} {figure}", ours, theirs, "count" if count else "money"))
        if ours != theirs:
            problems.append(finding("error", "recompute-deposit-mismatch", policy=policy_id, what=figure,
                                    engine=ours if count else format_display(ours),
                                    recomputed=theirs if count else format_display(theirs)))
    closing: dict[str, int] = {}
    for lot in result.lots:
        if lot.remaining and not (lot.expires and lot.expires <= result.as_of):
            closing[lot.account] = closing.get(lot.account, 0) + lot.remaining
    differ = sorted(a for a in set(closing) | set(second["accounts"]) if closing.get(a, 0) != second["accounts"].get(a, 0))
    rows.append((f"recompute-deposits:{policy_id} accounts", len(set(closing) | set(second["accounts"])),
                 len(set(closing) | set(second["accounts"])) - len(differ), "count"))
    for account in differ[:MAX_PER_CHECK]:
        problems.append(finding("error", "recompute-deposit-mismatch", policy=policy_id, what=f"account {account}",
                                engine=format_display(closing.get(account, 0)),
                                recomputed=format_display(second["accounts"].get(account, 0))))
    return rows, problems


_MONEY_TOTALS = {"discount_value", "value", "total", "cost"}


def compare_loyalty(policy_id: str, result, second: dict) -> tuple[list[tuple[str, int, int, str]], list[Finding]]:
    """Compare a loyalty policy's totals with the independent recomputation
    (:func:`promo_cli.recompute_loyalty.recompute_loyalty`); an error finding for each difference."""
    rows, problems = [], []
    for figure, theirs in second.items():
        ours = result.totals.get(figure)
        if isinstance(theirs, dict):            # members by level
            pairs = [(f"{figure} {name}", ours.get(name), count) for name, count in theirs.items()]
        else:
            pairs = [(figure, to_cents(ours) if figure in _MONEY_TOTALS else ours, theirs)]
        for name, engine, recomputed in pairs:
            money = figure in _MONEY_TOTALS
            rows.append((f"recompute-loyalty:{policy_id} {name}", engine, recomputed, "money" if money else "count"))
            if engine != recomputed:
                problems.append(finding("error", "recompute-loyalty-mismatch", policy=policy_id, what=name,
                                        engine=format_display(engine) if money else engine,
                                        recomputed=format_display(recomputed) if money else recomputed))
    return rows, problems


def reconcile(s: Settlement, payments: pd.DataFrame) -> list[tuple[str, int, int, str]]:
    """Return (key, expected, actual, unit) rows; a row reconciles when both agree."""
    rows: list[tuple[str, int, int, str]] = []
    counted = s.orders[s.orders["status"] == "counted"]
    rows.append(("purchases-in-period", int(counted["amount"].sum()),
                 sum(c.purchase_amount for c in s.customers), "money"))
    rows.append(("purchase-rows", len(s.orders),
                 len(counted) + int((s.orders["status"] != "counted").sum()), "count"))
    by_pair = {key: int(cents) for key, cents in
               s.lines.groupby(["customer_id", "policy_id"], sort=False)["rebate"].sum().items()}
    rows += line_rows(s, by_pair)
    if s.ledgers.payments is not None:
        matched = payments["_order"] >= 0
        rows.append(("payments-until-as-of", int(payments["amount"].sum()),
                     int(payments.loc[matched, "amount"].sum()) + int(payments.loc[~matched, "amount"].sum()),
                     "money"))
        all_payments = s.ledgers.payments.frame
        rows.append(("payment-rows", len(all_payments), len(payments) + int(
            (all_payments["payment_date"] > pd.Timestamp(s.as_of)).sum()), "count"))
    return rows


# the reconciliation rows of the lines and the recomputation (the others are of the ledgers' rows)
LINE_ROWS = ("lines-per-customer", "lines:", "deposits:", "recompute-agrees")


def line_rows(s: Settlement, by_pair: dict[tuple[str, str], int]) -> list[tuple[str, int, int, str]]:
    """The lines against the customers' totals (``by_pair``: the lines' cents per (customer,
    policy)), the deposits' balances, and the recomputation's agreement."""
    rows = []
    pairs = [(c.customer_id, pid, cents) for c in s.customers for pid, cents in c.rebates.items()]
    rows.append(("lines-per-customer", len(pairs),
                 sum(1 for customer, pid, cents in pairs if by_pair.get((customer, pid), 0) == cents), "count"))
    for policy_id, total in s.total_by_policy().items():
        lines_total = sum(cents for (_, pid), cents in by_pair.items() if pid == policy_id)
        rows.append((f"lines:{policy_id}", lines_total, total, "money"))
    for policy_id, result in s.deposits.items():
        t = result.totals()
        rows.append((f"deposits:{policy_id}", t["deposited"] + t["bonus"] - t["consumed"] - t["expired"],
                     t["closing_balance"], "money"))
    rows.append(("recompute-agrees", len(s.recomputed),
                 sum(1 for _, _, ours, theirs in s.recomputed if ours == theirs), "count"))
    return rows
