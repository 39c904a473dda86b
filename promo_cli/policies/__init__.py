"""Policy implementations, one module per campaign ``type``, and their registry.

Each ``apply_<type>(policy, ctx)`` returns ``(lines, findings)``: lines carry exact
amounts; the engine rounds each customer's total once and spreads the cents.
"""

from __future__ import annotations

from promo_cli.policies.context import PolicyContext
from promo_cli.policies.group_purchase import apply_group_purchase
from promo_cli.policies.on_time_payment import apply_on_time_payment
from promo_cli.policies.prepaid_deposit import apply_prepaid_deposit
from promo_cli.policies.tiered import apply_tiered

# Rebate policies: (policy, PolicyContext) -> (lines, findings)
REGISTRY = {
    "tiered": apply_tiered,
    "on_time_payment": apply_on_time_payment,
    "group_purchase": apply_group_purchase,
}
# Stored-value policies: (policy, deposits, customers, start, end, as_of) -> (result, findings)
DEPOSIT_REGISTRY = {"prepaid_deposit": apply_prepaid_deposit}

__all__ = ["DEPOSIT_REGISTRY", "REGISTRY", "PolicyContext"]
