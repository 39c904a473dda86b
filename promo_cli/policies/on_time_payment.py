"""``on_time_payment``: an extra rate on orders paid in full by their due date.

An in-period order with a positive amount qualifies when the payments on its
order id dated on or before ``due_date + grace_days`` (and on or before as-of) add
up to at least its amount. With ``scope: customer`` a customer earns it only if all
of its positive in-period orders qualify. Every positive order gets a line, with a
note saying why it earned the rate or not. Computed over all orders at once.

With ``deducted_at_payment`` (票扣/现扣) an order also qualifies when its timely payments
plus its rebate reach its amount: the customer paid it less the rebate. What it did not pay
is rebate already taken: a ``taken-at-payment`` line takes it off what is payable (236.00 at
10% paid as 212.40 earns 23.60, all of it taken at payment).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from promo_cli.lines import concat_lines, iso_dates, make_lines, rate_units
from promo_cli.model import Finding, OnTimePaymentPolicy, finding
from promo_cli.money import format_display, format_display_many
from promo_cli.policies.agreements import agreement_keys
from promo_cli.policies.context import PolicyContext, paid_by


def apply_on_time_payment(policy: OnTimePaymentPolicy, ctx: PolicyContext
                          ) -> tuple[pd.DataFrame, list[Finding]]:
    """Return one line per positive in-period order, zero where it does not qualify."""
    orders = ctx.purchases[ctx.purchases["amount"] > 0]
    deadline = orders["due_date"] + pd.Timedelta(days=policy.grace_days)
    paid = paid_by(orders, ctx.payments, deadline)
    cents = orders["amount"].to_numpy(dtype=np.int64)
    has_due = orders["due_date"].notna().to_numpy()
    agreements = ctx.agreements.get(policy.id, [])
    _, places = rate_units([policy.rate] + [a.tiers[0].rate for a in agreements])
    integer = np.full(len(orders), int(policy.rate.scaleb(places)), dtype=np.int64)
    rates = policy.rate
    if agreements:          # a customer's agreement sets the rate of its orders in its window
        own = {a.key: a.tiers[0].rate for a in agreements}
        covered = agreement_keys(agreements, orders).to_numpy()
        rates = np.array([own.get(key, policy.rate) for key in covered], dtype=object)
        integer = np.array([int(r.scaleb(places)) for r in rates], dtype=np.int64)
    short = np.maximum(cents - paid["paid"].to_numpy(), 0)       # what the timely payments left unpaid
    covered = short == 0
    if policy.deducted_at_payment:      # the rebate (cents × rate, exact) may cover the rest
        covered |= short * 10 ** places <= cents * integer
    qualifies = has_due & covered
    if policy.scope == "customer":
        all_ok = pd.Series(qualifies, index=orders.index).groupby(orders["customer_id"]).transform("all").to_numpy()
    else:
        all_ok = qualifies
    earns = qualifies & all_ok

    missing = orders[~has_due]
    findings = [finding("error", "missing-due-date", **ctx.source.at("due_date", int(row)),
                        order=order, policy=policy.id)
                for order, row in zip(missing["order_id"], missing["_row"])]
    late = paid["full_on"].notna().to_numpy()
    pending = (deadline > pd.Timestamp(ctx.as_of)).to_numpy()
    taken = np.where(earns, short, 0)
    note = np.select([earns & (taken > 0), earns, ~has_due, qualifies, late, pending],
                     ["on-time-deducted", "on-time", "no-due-date", "scope-customer", "late", "not-yet-due"],
                     "partial").astype(object)
    paid_on = paid["paid_on"].to_numpy(dtype="datetime64[s]")
    full_on = paid["full_on"].to_numpy(dtype="datetime64[s]")
    due = orders["due_date"].to_numpy(dtype="datetime64[s]")
    shown_paid = np.where(note == "not-yet-due", paid["paid_total"].to_numpy(), paid["paid"].to_numpy())
    needs_paid = (note == "not-yet-due") | (note == "partial") | (note == "on-time-deducted")
    paid_text = np.full(len(orders), None, dtype=object)
    paid_text[needs_paid] = format_display_many(shown_paid[needs_paid])
    lines = make_lines(
        policy.id, "order", orders["customer_id"], orders["order_id"], cents, rates,
        np.where(earns, cents * integer, 0), places + 2, note,
        source_row=orders["_row"].to_numpy(), due_date=due, paid_on=paid_on,
        n_due=iso_dates(due), n_grace=str(policy.grace_days),
        n_paid_on=iso_dates(np.where(note == "late", full_on, paid_on)), n_paid=paid_text)
    if not (taken > 0).any():
        return lines, findings
    # rebate the customer took when paying: a line of its own per order, off what is payable
    kept = taken > 0
    took = make_lines(
        policy.id, "taken-at-payment", orders["customer_id"].to_numpy()[kept], orders["order_id"].to_numpy()[kept],
        -taken[kept], Decimal(1), -taken[kept] * 10 ** places, places + 2, "taken-at-payment",
        source_row=orders["_row"].to_numpy()[kept], n_taken=format_display_many(taken[kept]))
    return concat_lines([lines, took]), findings


def remarks_on_time_payment(policy: OnTimePaymentPolicy, ctx: PolicyContext, lines: pd.DataFrame) -> list[Finding]:
    """Once over every line of the policy (all partitions together): how many orders are not yet
    due and not yet paid in full; not a "no", they may still earn the rate in a later run."""
    mine = lines[(lines["policy_id"] == policy.id).to_numpy() & (lines["note"] == "not-yet-due").to_numpy()] \
        if len(lines) else lines
    if not len(mine):
        return []
    return [finding("info", "on-time-pending", **ctx.source.at(), policy=policy.id, count=len(mine),
                    amount=format_display(int(mine["base"].sum())), as_of=ctx.as_of.isoformat())]
