"""The campaign budget as the source plan defines it, and what the campaign actually cost."""

from __future__ import annotations

from decimal import Decimal
from typing import get_args

from promo_cli.model import Budget, Campaign, GiveawayKind, Settlement
from promo_cli.lines import taken_at_payment
from promo_cli.money import round_cents, to_cents
from promo_cli.policies.prepaid_deposit import deposit_costs


def budget_figures(budget: Budget, settled: int, giveaways: int | None = None) -> dict[str, int]:
    """Return the budget totals in cents, planned and actual.

    Planned: contingency = contingency_rate × (promotion + service + other + the planned
    give-aways), rounded half-up to the cent; total = that sum + contingency (the source plan's
    formula). ``giveaways``: the planned give-aways in cents (default: the rebate estimate and
    the budget's ``giveaways`` lines; see :func:`planned_costs` for the gift classes' plans).
    Actual: the same lines with what the campaign gave away (``settled``) in place of the
    plan; the contingency is a reserve, planned and never spent, so it is 0 in the actual.
    """
    base = sum(round_cents(v) for section in (budget.promotion, budget.customer_service, budget.other)
               for v in section.values())
    if giveaways is None:
        giveaways = round_cents(budget.rebate_estimate) + sum(round_cents(v) for v in budget.giveaways.values())
    planned = base + giveaways
    contingency = round_cents(budget.contingency_rate * Decimal(planned) / 100)
    actual = base + settled
    return {"planned_subtotal": planned, "planned_contingency": contingency, "planned_total": planned + contingency,
            "actual_subtotal": actual, "actual_contingency": 0, "actual_total": actual}


def gift_plans(campaign: Campaign) -> list[tuple[str, str, int, int]]:
    """(policy id, class name, planned recipients, planned cents) of every gift class with a
    ``planned`` count: count × (gifts per recipient × unit price + card), as plan 002 §七 writes
    its budget (重点客户150家 × 元/份)."""
    return [(p.id, k.name, k.planned, k.planned * (k.per_recipient * round_cents(k.unit_price) + round_cents(p.card_cost)))
            for p in campaign.policies if p.type == "gift" for k in p.classes if k.planned is not None]


def planned_costs(campaign: Campaign) -> dict[str, int]:
    """{kind: cents} the campaign plans to give away: the rebate estimate, the budget's
    ``giveaways`` lines, and the gift classes' planned recipients."""
    budget = campaign.budget or Budget()
    planned = {"rebates": round_cents(budget.rebate_estimate),
               **{kind: round_cents(v) for kind, v in budget.giveaways.items()}}
    plans = gift_plans(campaign)
    if plans:
        planned["gift_recipients"] = planned.get("gift_recipients", 0) + sum(cents for *_, cents in plans)
    return {kind: cents for kind, cents in planned.items() if cents}


# What the campaign gives away, by kind, in the order budget.xlsx lists them.
COST_KINDS = ("rebates", *get_args(GiveawayKind))


def campaign_costs(s: Settlement) -> dict[str, int]:
    """{kind: cents} of everything the campaign actually gives away: rebates; for prepaid
    deposits the bonus, referral bonus, vouchers, gifts, discounts and referral gifts; for
    returning customers the coupons issued (face value), the gift recipients (gift + card), the
    member discounts and the points given (at ``yuan_per_point``). Kinds with nothing are left out."""
    costs = dict.fromkeys(COST_KINDS, 0)
    costs["rebates"] = sum(s.total_by_policy().values()) + sum(taken_at_payment(s.lines).values())
    for result in s.deposits.values():
        for kind, cents in deposit_costs(result).items():
            costs[kind] += cents
    for result in s.loyalty.values():
        kind, key = {"coupon_return": ("coupons", "value"), "gift": ("gift_recipients", "total"),
                     "membership": ("member_discounts", "discount_value"),
                     "points": ("points_given", "cost")}.get(result.type, (None, None))
        if kind is not None and result.totals.get(key) is not None:
            costs[kind] += to_cents(result.totals[key])
    return {kind: cents for kind, cents in costs.items() if cents}


def settled_cost(s: Settlement) -> int:
    """The campaign's actual give-aways, all kinds together (see :func:`campaign_costs`)."""
    return sum(campaign_costs(s).values())
