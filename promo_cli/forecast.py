"""Forecast a campaign's cost before launch by replaying a past ledger through its policies.

The source plan estimates the rebate cost "from expected participants and purchase
amounts". Here a past purchase (and payment) ledger is shifted into the campaign period
(by whole years, or ``shift_days``), its amounts scaled by ``1 + growth``, and settled
by the same engine; the budget total follows with the estimated rebate in place of
``rebate_estimate``. Several campaign files can be compared on the same replay.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from promo_cli.budget import budget_figures, planned_costs, settled_cost
from promo_cli.engine import Loaded, load, settle
from promo_cli.io.inspect import Limits
from promo_cli.model import Finding, Ledger
from promo_cli.money import format_amount


def shift_offset(loaded: Loaded, shift_days: int | None) -> pd.DateOffset | pd.Timedelta:
    """Whole years that bring the ledger's first order date nearest the period start, or days."""
    if shift_days is not None:
        return pd.Timedelta(days=shift_days)
    first = loaded.ledgers.purchases.frame["order_date"].min()
    start = pd.Timestamp(loaded.campaign.campaign.period.start)
    years = round((start - first).days / 365.25) if pd.notna(first) else 0
    return pd.DateOffset(years=years)


def _scale(cents: pd.Series, factor: Decimal, rounding: str) -> pd.Series:
    return pd.array([None if pd.isna(c) else int((Decimal(int(c)) * factor).quantize(Decimal(1), rounding=rounding))
                     for c in cents], dtype="Int64")


def replay(loaded: Loaded, growth: Decimal, offset) -> Loaded:
    """The ledgers moved into the campaign period and grown.

    Purchase amounts are scaled half-up to the cent; payments are scaled up (ceiling), so
    an order paid in full before is still paid in full after scaling. Without a payment
    ledger every order is taken as paid in full on its due date: the highest cost.
    """
    factor = 1 + growth
    ledgers = loaded.ledgers
    p = ledgers.purchases.frame.copy()
    p["order_date"] = p["order_date"] + offset
    p["due_date"] = p["due_date"] + offset
    p["amount"] = _scale(p["amount"], factor, ROUND_HALF_UP)
    p["quantity"] = [None if q is None or q != q else q * factor for q in p["quantity"]]
    purchases = replace(ledgers.purchases, frame=p)
    payments = ledgers.payments
    if payments is None:
        paid = p[p["amount"] > 0]
        frame = pd.DataFrame({"payment_id": [f"assumed-{o}" for o in paid["order_id"]],
                              "order_id": paid["order_id"].to_numpy(), "customer_id": paid["customer_id"].to_numpy(),
                              "payment_date": paid["due_date"].fillna(paid["order_date"]).to_numpy(),
                              "amount": paid["amount"].to_numpy(), "_row": paid["_row"].to_numpy()})
        payments = Ledger("payments", Path("(assumed: paid in full on the due date)"), None, frame, "")
    else:
        q = payments.frame.copy()
        q["payment_date"] = q["payment_date"] + offset
        q["amount"] = _scale(q["amount"], factor, ROUND_CEILING)
        payments = replace(payments, frame=q)
    return replace(loaded, ledgers=replace(ledgers, purchases=purchases, payments=payments),
                   as_of=loaded.campaign.campaign.period.end)


def forecast(campaigns: list[Path], purchases: Path, payments: Path | None, customers: Path | None,
             growth: Decimal, shift_days: int | None, limits: Limits = Limits()
             ) -> tuple[list[dict] | None, list[Finding]]:
    """Replay the past ledgers through each campaign file; return one result per file."""
    results, findings = [], []
    for path in campaigns:
        loaded, problems = load(path, {"purchases": purchases, "payments": payments, "customers": customers},
                                limits=limits, campaign_inputs=False, optional=("payments",))
        findings += problems
        if loaded is None:
            return None, findings
        offset = shift_offset(loaded, shift_days)
        s = settle(replay(loaded, growth, offset))
        by_policy = s.total_by_policy()
        rebate = settled_cost(s)
        budget = loaded.campaign.budget
        figures = budget_figures(budget, 0, sum(planned_costs(loaded.campaign).values())) if budget else None
        # a forecast is a plan: its give-aways take the plan's place, with the reserve on top
        forecast = budget_figures(budget, 0, rebate) if budget else None
        results.append({
            "campaign_id": loaded.campaign.campaign.id, "file": str(path),
            "shift": f"{offset.days:+d} days" if isinstance(offset, pd.Timedelta) else f"{offset.years:+d} years",
            "payments": "given" if payments else "assumed paid in full on the due date",
            "participants": len(s.customers),
            "sales": format_amount(sum(c.purchase_amount for c in s.customers)),
            "by_policy": {pid: format_amount(cents) for pid, cents in by_policy.items()},
            "rebate": format_amount(rebate),
            "contingency": None if forecast is None else format_amount(forecast["planned_contingency"]),
            "budget_total": None if forecast is None else format_amount(forecast["planned_total"]),
            "planned_budget_total": None if figures is None else format_amount(figures["planned_total"]),
        })
    return results, findings

