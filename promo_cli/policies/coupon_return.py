"""``coupon_return``: a purchase (``scope: order``) or a customer's net spend in the period
(``scope: customer``) reaching a threshold earns a coupon of the highest tier reached."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from promo_cli.model import CouponReturnPolicy, Finding
from promo_cli.money import format_amount, round_cents
from promo_cli.policies.context import LoyaltyResult, PolicyContext, net_spend


def _coupon(policy: CouponReturnPolicy, cents: int) -> int:
    value = 0
    for tier in policy.tiers:
        if Decimal(cents) / 100 >= tier.from_:
            value = round_cents(tier.coupon)
    return value


def apply_coupon_return(policy: CouponReturnPolicy, ctx: PolicyContext) -> tuple[LoyaltyResult, list[Finding]]:
    rows = []
    if policy.scope == "order":
        # each order's coupon at once: the tiers in their order, a later one reached replacing an earlier
        purchases = ctx.purchases
        cents = purchases["amount"].to_numpy(dtype=np.int64)
        value = np.zeros(len(cents), dtype=np.int64)
        for tier in policy.tiers:
            threshold = math.ceil(tier.from_ * 100)          # cents ≥ from × 100, in whole cents
            value = np.where(cents >= threshold, round_cents(tier.coupon), value)
        value = np.where(cents > 0, value, 0)
        earned = np.flatnonzero(value)
        rows = [list(row) for row in zip(purchases["customer_id"].to_numpy()[earned].tolist(),
                                         purchases["order_id"].to_numpy()[earned].tolist(), cents[earned].tolist(),
                                         value[earned].tolist(), purchases["_row"].to_numpy()[earned].tolist())]
        columns = [("customer_id", "id"), ("order_id", "id"), ("amount", "money"), ("coupon", "money"),
                   ("source_row", "int")]
    else:
        for customer, cents in net_spend(ctx.purchases).items():
            value = _coupon(policy, int(cents)) if cents > 0 else 0
            if value:
                rows.append([customer, None, int(cents), value, None])
        columns = [("customer_id", "id"), ("order_id", "id"), ("spend", "money"), ("coupon", "money"),
                   ("source_row", "int")]
    total = sum(row[3] for row in rows)
    return LoyaltyResult(policy.id, policy.type, columns, rows,
                         {"coupons": len(rows), "value": format_amount(total)}), []
