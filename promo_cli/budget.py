"""The campaign budget as the source plan defines it, and what the campaign actually cost."""

from __future__ import annotations

from decimal import Decimal

from promo_cli.model import Budget, Settlement
from promo_cli.money import round_cents
from promo_cli.policies.prepaid_deposit import deposit_costs


def budget_figures(budget: Budget, settled_rebate: int) -> dict[str, int]:
    """Return the budget totals in cents: planned and with the settled rebate.

    contingency = contingency_rate × (promotion + rebate + service + other), rounded
    half-up to the cent; total = that sum + contingency (the source plan's formula).
    """
    base = sum(round_cents(v) for section in (budget.promotion, budget.customer_service, budget.other)
               for v in section.values())
    out = {}
    for key, rebate in (("planned", round_cents(budget.rebate_estimate)), ("actual", settled_rebate)):
        subtotal = base + rebate
        contingency = round_cents(budget.contingency_rate * Decimal(subtotal) / 100)
        out[f"{key}_subtotal"], out[f"{key}_contingency"] = subtotal, contingency
        out[f"{key}_total"] = subtotal + contingency
    return out


def settled_cost(s: Settlement) -> int:
    """The settled rebate plus what prepaid campaigns gave away (bonus, vouchers, gifts, discounts)."""
    return sum(s.total_by_policy().values()) + sum(sum(deposit_costs(r).values()) for r in s.deposits.values())
