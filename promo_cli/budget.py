"""The campaign budget as the source plan defines it, and what the campaign actually cost."""

from __future__ import annotations

from decimal import Decimal

from promo_cli.model import Budget, Settlement
from promo_cli.money import round_cents, to_cents
from promo_cli.policies.prepaid_deposit import deposit_costs


def budget_figures(budget: Budget, settled: int) -> dict[str, int]:
    """Return the budget totals in cents, planned and actual.

    Planned: contingency = contingency_rate × (promotion + rebate estimate + service + other),
    rounded half-up to the cent; total = that sum + contingency (the source plan's formula).
    Actual: the same lines with what the campaign gave away (``settled``) in place of the
    estimate; the contingency is a reserve, planned and never spent, so it is 0 in the actual.
    """
    base = sum(round_cents(v) for section in (budget.promotion, budget.customer_service, budget.other)
               for v in section.values())
    planned = base + round_cents(budget.rebate_estimate)
    contingency = round_cents(budget.contingency_rate * Decimal(planned) / 100)
    actual = base + settled
    return {"planned_subtotal": planned, "planned_contingency": contingency, "planned_total": planned + contingency,
            "actual_subtotal": actual, "actual_contingency": 0, "actual_total": actual}


# What the campaign gives away, by kind, in the order budget.xlsx lists them.
COST_KINDS = ("rebates", "bonus", "referral_bonus", "vouchers", "gifts", "discounts", "referral_gifts", "coupons",
              "gift_recipients", "member_discounts")


def campaign_costs(s: Settlement) -> dict[str, int]:
    """{kind: cents} of everything the campaign actually gives away: rebates; for prepaid
    deposits the bonus, referral bonus, vouchers, gifts, discounts and referral gifts; for
    returning customers the coupons issued (face value), the gift recipients (gift + card) and
    the member discounts. Kinds with nothing are left out."""
    costs = dict.fromkeys(COST_KINDS, 0)
    costs["rebates"] = sum(s.total_by_policy().values())
    for result in s.deposits.values():
        for kind, cents in deposit_costs(result).items():
            costs[kind] += cents
    for result in s.loyalty.values():
        kind, key = {"coupon_return": ("coupons", "value"), "gift": ("gift_recipients", "total"),
                     "membership": ("member_discounts", "discount_value")}.get(result.type, (None, None))
        if kind is not None and result.totals.get(key) is not None:
            costs[kind] += to_cents(result.totals[key])
    return {kind: cents for kind, cents in costs.items() if cents}


def settled_cost(s: Settlement) -> int:
    """The campaign's actual give-aways, all kinds together (see :func:`campaign_costs`)."""
    return sum(campaign_costs(s).values())
