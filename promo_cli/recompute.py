"""A second, deliberately simple implementation of every rebate policy, for the audit.

Plain Python loops over the ledger rows with Decimal yuan. It shares no calculation
code with the engine (not money.py, not policies/): its own period filter, tier maths,
payment matching, rounding and largest-remainder split. The audit compares its result
with the engine's for every customer and policy; any difference is an error finding.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from promo_cli.model import Campaign

ZERO = Decimal(0)


def _round(yuan: Decimal) -> int:
    return int((yuan * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _days(column: pd.Series) -> list[date | None]:
    """A date column as Python dates (None when empty), converted in one step."""
    return [None if d is pd.NaT or d != d else d for d in column.dt.date.tolist()]


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None


def recompute(campaign: Campaign, purchases: pd.DataFrame, payments: pd.DataFrame, as_of: date
              ) -> dict[tuple[str, str], int]:
    """Return {(customer_id, policy_id): cents} for every customer with an in-period row."""
    start, end = campaign.campaign.period.start, campaign.campaign.period.end
    last = min(end, as_of)
    rows = []
    for order_id, customer, day, cents, quantity, due, group, proof in zip(
            purchases["order_id"], purchases["customer_id"], _days(purchases["order_date"]), purchases["amount"],
            purchases["quantity"], _days(purchases["due_date"]), purchases["group_id"], purchases["group_proof"]):
        if start <= day <= last:
            rows.append({"order": order_id, "customer": customer, "amount": Decimal(int(cents)) / 100,
                         "quantity": Decimal(quantity) if isinstance(quantity, (int, Decimal)) else ZERO,
                         "due": due, "group": _text(group), "proof": _text(proof)})
    paid: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    for order_id, day, cents in zip(payments["order_id"], _days(payments["payment_date"]), payments["amount"]):
        if day <= as_of:
            paid[order_id].append((day, Decimal(int(cents)) / 100))

    def paid_until(order_id: str, deadline: date) -> Decimal:
        total = ZERO
        for day, amount in paid[order_id]:
            if day <= deadline:
                total += amount
        return total

    customers = sorted({row["customer"] for row in rows})
    result: dict[tuple[str, str], int] = {}
    for policy in campaign.rebate_policies:
        for customer in customers:
            result[(customer, policy.id)] = 0
        if policy.type == "tiered":
            amount: dict[str, Decimal] = defaultdict(lambda: ZERO)
            quantity: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for row in rows:
                amount[row["customer"]] += row["amount"]
                quantity[row["customer"]] += row["quantity"]
            for customer in customers:
                total = amount[customer]
                measure = quantity[customer] if policy.basis == "quantity" else total
                if total <= 0 or measure <= 0:
                    continue
                rebate = ZERO
                if policy.mode == "marginal":
                    for i, tier in enumerate(policy.tiers):
                        upper = policy.tiers[i + 1].from_ if i + 1 < len(policy.tiers) else None
                        if total > tier.from_:
                            top = total if upper is None or total < upper else upper
                            rebate += (top - tier.from_) * tier.rate
                else:
                    rate = ZERO
                    for tier in policy.tiers:
                        if measure >= tier.from_:
                            rate = tier.rate
                    rebate = total * rate
                result[(customer, policy.id)] = _round(rebate)
        elif policy.type == "on_time_payment":
            earned: dict[str, Decimal] = defaultdict(lambda: ZERO)
            all_on_time: dict[str, bool] = defaultdict(lambda: True)
            for row in rows:
                if row["amount"] <= 0:
                    continue
                on_time = row["due"] is not None and \
                    paid_until(row["order"], row["due"] + timedelta(days=policy.grace_days)) >= row["amount"]
                if on_time:
                    earned[row["customer"]] += row["amount"] * policy.rate
                else:
                    all_on_time[row["customer"]] = False
            for customer, rebate in earned.items():
                if policy.scope == "order" or all_on_time[customer]:
                    result[(customer, policy.id)] = _round(rebate)
        elif policy.type == "group_purchase":
            groups: dict[str, list[dict]] = defaultdict(list)
            for row in rows:
                if row["group"] is not None:
                    groups[row["group"]].append(row)
            for members in groups.values():
                group_amount = sum((m["amount"] for m in members), ZERO)
                basis = sum((m["quantity"] if policy.basis == "quantity" else m["amount"] for m in members), ZERO)
                rate = None
                for tier in policy.tiers:
                    if basis >= tier.from_:
                        rate = tier.rate
                if rate is None or group_amount <= 0:
                    continue
                if policy.require_proof and not any(m["proof"] for m in members):
                    continue
                if any(m["amount"] > 0 and paid_until(m["order"], last) < m["amount"] for m in members):
                    continue
                cents = _round(group_amount * rate)
                weight: dict[str, Decimal] = defaultdict(lambda: ZERO)
                for m in members:
                    weight[m["customer"]] += m["amount"]
                names = sorted(weight)
                weights = [max(weight[n], ZERO) for n in names]
                whole = sum(weights, ZERO)
                shares = [cents * w // whole for w in weights]           # floor of each exact share
                remainders = [cents * w % whole for w in weights]
                left = cents - int(sum(shares))
                by_remainder = sorted(range(len(names)), key=lambda i: (-remainders[i], names[i]))
                for i in by_remainder[:left]:
                    shares[i] += 1
                for name, share in zip(names, shares):
                    result[(name, policy.id)] += int(share)
    return result
