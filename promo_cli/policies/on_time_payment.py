"""``on_time_payment``: an extra rate on orders paid in full by their due date.

An in-period order with a positive amount qualifies when the payments on its
order id dated on or before ``due_date + grace_days`` (and on or before as-of) add
up to at least its amount. With ``scope: customer`` a customer earns it only if all
of its positive in-period orders qualify. Every positive order gets a line, with a
note saying why it earned the rate or not.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from promo_cli.model import Finding, OnTimePaymentPolicy, RebateLine, finding
from promo_cli.money import exact_times, format_display
from promo_cli.policies.context import PolicyContext, paid_by


def apply_on_time_payment(policy: OnTimePaymentPolicy, ctx: PolicyContext
                          ) -> tuple[list[RebateLine], list[Finding]]:
    """Return one line per positive in-period order, zero where it does not qualify."""
    orders = ctx.purchases[ctx.purchases["amount"] > 0]
    deadline = orders["due_date"] + pd.Timedelta(days=policy.grace_days)
    paid = paid_by(orders, ctx.payments, deadline)
    has_due = orders["due_date"].notna()
    qualifies = has_due & (paid["paid"] >= orders["amount"].astype("int64"))
    if policy.scope == "customer":
        all_ok = qualifies.groupby(orders["customer_id"]).transform("all")
    else:
        all_ok = qualifies

    findings = [
        finding("error", "missing-due-date", **ctx.source.at("due_date", int(row)),
                order=order, policy=policy.id)
        for order, row in zip(orders.loc[~has_due, "order_id"], orders.loc[~has_due, "_row"])
    ]
    as_of = pd.Timestamp(ctx.as_of)
    grace = policy.grace_days
    late = paid["full_on"].notna().to_numpy()
    not_yet_due = (deadline > as_of).to_numpy()
    lines = []
    for customer, order_id, row, cents, due, ok, customer_ok, paid_on, full_on, paid_cents, paid_total, \
            is_late, pending in zip(
            orders["customer_id"], orders["order_id"], orders["_row"], orders["amount"].astype("int64"),
            orders["due_date"], qualifies, all_ok, paid["paid_on"], paid["full_on"], paid["paid"],
            paid["paid_total"], late, not_yet_due):
        due = None if pd.isna(due) else due.date()
        common = (("due", due), ("grace", grace))
        if ok and customer_ok:
            exact = exact_times(policy.rate, cents)
            note = ("on-time", common + (("paid_on", paid_on.date()),))
        else:
            exact = Decimal(0)
            if due is None:
                note = ("no-due-date", ())
            elif ok:
                note = ("scope-customer", ())
            elif is_late:
                note = ("late", common + (("paid_on", full_on.date()),))
            elif pending:
                note = ("not-yet-due", common + (("paid", format_display(int(paid_total))),))
            else:
                note = ("partial", common + (("paid", format_display(int(paid_cents))),))
        lines.append(RebateLine(
            policy.id, customer, "order", order_id, Decimal(int(cents)) / 100, policy.rate, exact,
            due_date=due, paid_on=None if pd.isna(paid_on) else paid_on.date(), note=note,
            source_row=int(row)))
    return lines, findings
