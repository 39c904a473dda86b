"""Policy implementations, one module per campaign ``type``, and their registry.

Each ``apply_<type>(policy, ctx)`` returns ``(lines, findings)``: lines carry exact
amounts; the engine rounds each customer's total once and spreads the cents.
"""

from __future__ import annotations

from promo_cli.policies.context import PolicyContext
from promo_cli.policies.group_purchase import apply_group_purchase
from promo_cli.policies.on_time_payment import apply_on_time_payment
from promo_cli.policies.tiered import apply_tiered

REGISTRY = {
    "tiered": apply_tiered,
    "on_time_payment": apply_on_time_payment,
    "group_purchase": apply_group_purchase,
}

__all__ = ["REGISTRY", "PolicyContext"]
