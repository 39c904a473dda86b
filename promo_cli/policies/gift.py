"""``gift``: a gift campaign such as mooncakes at Mid-Autumn. Customers are assigned to the
first class whose rule they match (channel, top N or top X% by spend in the period, a
minimum spend, bought in the period, returning: bought before the period and again in it, an
explicit list); each class has a grade, a unit price and gifts per recipient, every recipient
a greeting card. Output: a list a warehouse can ship (region, phone, address from the master)
and the budget by class."""

from __future__ import annotations

import math

from promo_cli.model import Finding, GiftPolicy, finding
from promo_cli.money import format_amount, round_cents
from promo_cli.policies.context import (
    LoyaltyResult,
    PolicyContext,
    master_column,
    net_spend,
)


def apply_gift(policy: GiftPolicy, ctx: PolicyContext) -> tuple[LoyaltyResult, list[Finding]]:
    spend = {c: int(v) for c, v in net_spend(ctx.purchases).items()}
    channels = master_column(ctx, "channel")
    names = master_column(ctx, "customer_name")
    contact = {column: master_column(ctx, column) for column in ("region", "phone", "address")}
    bought_before = ctx.bought_before          # in this ledger or the baseline ledger
    universe = sorted(set(spend) | (set(ctx.customers["customer_id"]) if ctx.customers is not None else set()))
    ranked = sorted(spend, key=lambda c: (-spend[c], c))         # by spend, ties by id
    rank = {c: i + 1 for i, c in enumerate(ranked)}
    card = round_cents(policy.card_cost)
    assigned: dict[str, str] = {}
    rows, by_class = [], {}
    findings: list[Finding] = []
    known = set(universe)
    for klass in policy.classes:       # a listed recipient nobody knows gets no gift: say so
        for customer in klass.rule.customers or []:
            if customer not in known:
                findings.append(finding("warning", "gift-unknown-recipient", policy=policy.id, gift_class=klass.name,
                                        customer=customer))
    for klass in policy.classes:
        rule = klass.rule
        limit = None
        if rule.top_n is not None:
            limit = rule.top_n
        if rule.top_percent is not None:
            limit = math.ceil(rule.top_percent * len(ranked))
        price = round_cents(klass.unit_price)
        count = 0
        for customer in sorted(universe, key=lambda c: (rank.get(c, 10**9), c)):
            if customer in assigned:
                continue
            if rule.channel and channels.get(customer) != rule.channel:
                continue
            if rule.min_spend is not None and spend.get(customer, 0) < round_cents(rule.min_spend):
                continue
            if rule.bought_in_period and customer not in spend:
                continue
            if rule.returning and not (customer in spend and customer in bought_before):
                continue
            if rule.customers is not None and customer not in rule.customers:
                continue
            if limit is not None and rank.get(customer, 10**9) > limit:
                continue
            assigned[customer] = klass.name
            count += 1
            gifts = klass.per_recipient * price
            rows.append([customer, names.get(customer, ""), spend.get(customer, 0), klass.name, klass.grade,
                         price, klass.per_recipient, card, gifts + card,
                         *(contact[column].get(customer, "") for column in ("region", "phone", "address"))])
        gifts = count * klass.per_recipient * price
        by_class[klass.name] = {"recipients": count, "gifts": format_amount(gifts),
                                "cards": format_amount(count * card), "total": format_amount(gifts + count * card)}
    columns = [("customer_id", "id"), ("customer_name", "text"), ("spend", "money"), ("class", "text"),
               ("grade", "text"), ("unit_price", "money"), ("per_recipient", "int"), ("card", "money"),
               ("cost", "money"), ("region", "text"), ("phone", "id"), ("address", "text")]
    totals = {"recipients": len(rows), "by_class": by_class, "total": format_amount(sum(r[8] for r in rows))}
    return LoyaltyResult(policy.id, policy.type, columns, rows, totals), findings
