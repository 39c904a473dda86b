"""``on_time_payment``: an extra rate on orders paid in full by their due date.

An in-period order with a positive amount qualifies when the payments on its
order id dated on or before ``due_date + grace_days`` (and on or before as-of) add
up to at least its amount. With ``scope: customer`` a customer earns it only if all
of its positive in-period orders qualify. Every positive order gets a line, with a
note saying why it earned the rate or not. Computed over all orders at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from promo_cli.lines import iso_dates, make_lines, rate_units
from promo_cli.model import Finding, OnTimePaymentPolicy, finding
from promo_cli.money import format_display, format_display_many
from promo_cli.policies.context import PolicyContext, paid_by


def apply_on_time_payment(policy: OnTimePaymentPolicy, ctx: PolicyContext
                          ) -> tuple[pd.DataFrame, list[Finding]]:
    """Return one line per positive in-period order, zero where it does not qualify."""
    orders = ctx.purchases[ctx.purchases["amount"] > 0]
    deadline = orders["due_date"] + pd.Timedelta(days=policy.grace_days)
    paid = paid_by(orders, ctx.payments, deadline)
    cents = orders["amount"].to_numpy(dtype=np.int64)
    has_due = orders["due_date"].notna().to_numpy()
    qualifies = has_due & (paid["paid"].to_numpy() >= cents)
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
    note = np.select([earns, ~has_due, qualifies, late, pending],
                     ["on-time", "no-due-date", "scope-customer", "late", "not-yet-due"], "partial").astype(object)
    waiting = note == "not-yet-due"
    if waiting.any():      # not a "no": these may still earn the rate in a later run
        findings.append(finding("info", "on-time-pending", **ctx.source.at(), policy=policy.id,
                                count=int(waiting.sum()), amount=format_display(int(cents[waiting].sum())),
                                as_of=ctx.as_of.isoformat()))
    paid_on = paid["paid_on"].to_numpy(dtype="datetime64[s]")
    full_on = paid["full_on"].to_numpy(dtype="datetime64[s]")
    due = orders["due_date"].to_numpy(dtype="datetime64[s]")
    shown_paid = np.where(note == "not-yet-due", paid["paid_total"].to_numpy(), paid["paid"].to_numpy())
    needs_paid = (note == "not-yet-due") | (note == "partial")
    paid_text = np.full(len(orders), None, dtype=object)
    paid_text[needs_paid] = format_display_many(shown_paid[needs_paid])
    [integer], places = rate_units([policy.rate])
    return make_lines(
        policy.id, "order", orders["customer_id"], orders["order_id"], cents, policy.rate,
        np.where(earns, cents * integer, 0), places + 2, note,
        source_row=orders["_row"].to_numpy(), due_date=due, paid_on=paid_on,
        n_due=iso_dates(due), n_grace=str(policy.grace_days),
        n_paid_on=iso_dates(np.where(note == "late", full_on, paid_on)), n_paid=paid_text), findings
