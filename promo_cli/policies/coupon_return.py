"""``coupon_return``: a purchase (``scope: order``) or a customer's net spend in the period
(``scope: customer``) reaching a threshold earns a coupon of the highest tier reached."""

from __future__ import annotations

from decimal import Decimal

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
        for customer, order_id, cents, row in zip(ctx.purchases["customer_id"], ctx.purchases["order_id"],
                                                  ctx.purchases["amount"], ctx.purchases["_row"]):
            value = _coupon(policy, int(cents)) if cents > 0 else 0
            if value:
                rows.append([customer, order_id, int(cents), value, int(row)])
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
