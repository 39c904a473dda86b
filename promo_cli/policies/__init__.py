"""Policy implementations, one module per campaign ``type``, and their registry.

Each ``apply_<type>(policy, ctx)`` returns ``(lines, findings)``: lines carry exact
amounts; the engine rounds each customer's total once and spreads the cents.
"""

from __future__ import annotations

from promo_cli.policies.context import LoyaltyResult, PolicyContext
from promo_cli.policies.coupon_return import apply_coupon_return
from promo_cli.policies.gift import apply_gift
from promo_cli.policies.group_purchase import apply_group_purchase
from promo_cli.policies.membership import apply_membership
from promo_cli.policies.on_time_payment import apply_on_time_payment, remarks_on_time_payment
from promo_cli.policies.points import apply_points
from promo_cli.policies.prepaid_deposit import apply_prepaid_deposit
from promo_cli.policies.tiered import apply_tiered, remarks_tiered

# Rebate policies: (policy, PolicyContext) -> (lines, findings)
REGISTRY = {
    "tiered": apply_tiered,
    "on_time_payment": apply_on_time_payment,
    "group_purchase": apply_group_purchase,
}
# What a rebate policy's figures are per: its rows can be split by this column and settled apart
# (whole customers; whole groups), see promo_cli.engines.
PARTITION_KEY = {"tiered": "customer_id", "on_time_payment": "customer_id", "group_purchase": "group_id"}
# A rebate policy's remarks on the whole ledger, made once after its lines of every partition are
# together: (policy, PolicyContext, all lines) -> findings
REMARKS = {"tiered": remarks_tiered, "on_time_payment": remarks_on_time_payment}
# Stored-value policies: (policy, deposits, customers, start, end, as_of) -> (result, findings)
DEPOSIT_REGISTRY = {"prepaid_deposit": apply_prepaid_deposit}
# Loyalty policies: (policy, PolicyContext) -> (LoyaltyResult, findings)
LOYALTY_REGISTRY = {"membership": apply_membership, "points": apply_points,
                    "coupon_return": apply_coupon_return, "gift": apply_gift}

__all__ = ["DEPOSIT_REGISTRY", "LOYALTY_REGISTRY", "PARTITION_KEY", "REGISTRY", "REMARKS", "LoyaltyResult", "PolicyContext"]
