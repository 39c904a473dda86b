"""``summary.json``: the machine-readable result, exactly as CONTRACT.md section 4 pins it."""

from __future__ import annotations

import json
from typing import Any

from promo_cli.budget import COST_KINDS, campaign_costs, planned_costs
from promo_cli.lines import taken_at_payment
from promo_cli.messages import message
from promo_cli.model import Finding, Settlement
from promo_cli.money import format_amount
from promo_cli.policies.prepaid_deposit import deposits_json


def finding_json(f: Finding, lang: str) -> dict[str, Any]:
    return {"severity": f.severity, "code": f.code, "message": message(f, lang), "file": f.file,
            "sheet": f.sheet, "row": f.row, "column": f.column, "cell": f.cell, "value": f.value}


def summary_dict(s: Settlement, lang: str) -> dict[str, Any]:
    """Return the summary as plain JSON data (amounts as two-decimal strings)."""
    by_policy = s.total_by_policy()
    return add_delta({
        "campaign_id": s.campaign.campaign.id,
        "as_of": f"{s.as_of:%Y-%m-%d}",
        "currency": s.campaign.campaign.currency,
        "status": s.status,
        "totals": {
            "purchase_amount": format_amount(sum(c.purchase_amount for c in s.customers)),
            "rebate": format_amount(sum(by_policy.values())),
            "by_policy": {pid: format_amount(total) for pid, total in by_policy.items()},
            **pending_on_time(s),
            **({"taken_at_payment": {pid: format_amount(cents) for pid, cents in taken.items()}}
               if (taken := taken_at_payment(s.lines)) else {}),
        },
        "customers": [
            {"customer_id": c.customer_id, "customer_name": c.customer_name,
             "purchase_amount": format_amount(c.purchase_amount),
             "rebates": {pid: format_amount(c.rebates[pid]) for pid in s.policy_ids},
             "total_rebate": format_amount(c.total_rebate)}
            for c in s.customers
        ],
        **({"deposits": {pid: deposits_json(result) for pid, result in s.deposits.items()}}
           if s.deposits else {}),
        **({"loyalty": {pid: {"type": r.type, **r.totals} for pid, r in s.loyalty.items()}} if s.loyalty else {}),
        **campaign_cost(s),
        **({"segments": s.segments} if s.segments is not None else {}),
        **({"evaluation": s.evaluation} if s.evaluation is not None else {}),
        **({"run": s.run} if s.run else {}),
        "engine": s.engine,
        "findings": [finding_json(f, lang) for f in s.findings],
        "inputs": [{"role": l.role, "path": str(l.path), "sha256": l.sha256, "rows": l.rows,
                    "sheet": l.sheet} for l in s.ledgers.present()],
    }, s)


def campaign_cost(s: Settlement) -> dict[str, Any]:
    """``costs``: what the campaign gives away, by kind, planned and actual (see budget.xlsx)."""
    planned, actual = planned_costs(s.campaign), campaign_costs(s)
    kinds = [kind for kind in COST_KINDS if kind in planned or kind in actual]
    return {"costs": {kind: {"planned": format_amount(planned.get(kind, 0)), "actual": format_amount(actual.get(kind, 0))}
                      for kind in kinds}} if kinds else {}


def pending_on_time(s: Settlement) -> dict[str, Any]:
    """``pending``: per on-time policy, the orders not yet due at as-of and not yet paid in full
    (they earn nothing now and may in a later run), with their amount; absent when none."""
    lines = s.lines
    waiting = lines[lines["note"] == "not-yet-due"] if len(lines) else lines
    if not len(waiting):
        return {}
    grouped = waiting.groupby("policy_id", sort=False)["base"]
    return {"pending": {pid: {"orders": int(count), "amount": format_amount(int(total))}
                        for (pid, count), total in zip(grouped.count().items(), grouped.sum())}}


def add_delta(data: dict[str, Any], s: Settlement) -> dict[str, Any]:
    """Add what earlier approved runs settled and what is payable this run (issue: delta payouts).

    The pinned keys keep their meaning (amounts to date). Per customer: ``settled_before``,
    ``payable`` and ``by_policy``; in totals: ``settled_before``, ``payable`` and
    ``delta_by_policy`` (``totals.by_policy`` is pinned to amounts to date).
    """
    if s.settled_before is None:
        return data
    for entry, customer in zip(data["customers"], s.customers):
        by_policy = {pid: {"to_date": customer.rebates[pid], "settled_before": s.before(customer.customer_id, pid)}
                     for pid in s.policy_ids}
        before = sum(v["settled_before"] for v in by_policy.values())
        entry["settled_before"] = format_amount(before)
        entry["payable"] = format_amount(customer.total_rebate - before)
        entry["by_policy"] = {pid: {"to_date": format_amount(v["to_date"]),
                                    "settled_before": format_amount(v["settled_before"]),
                                    "payable": format_amount(v["to_date"] - v["settled_before"])}
                              for pid, v in by_policy.items()}
    before_by_policy = s.settled_before_by_policy()
    to_date = s.total_by_policy()
    data["totals"]["settled_before"] = format_amount(sum(before_by_policy.values()))
    data["totals"]["payable"] = format_amount(sum(to_date.values()) - sum(before_by_policy.values()))
    data["totals"]["delta_by_policy"] = {
        pid: {"to_date": format_amount(to_date[pid]), "settled_before": format_amount(before_by_policy[pid]),
              "payable": format_amount(to_date[pid] - before_by_policy[pid])} for pid in s.policy_ids}
    return data


def invalid_dict(findings: list[Finding], lang: str, campaign_id: str | None = None) -> dict[str, Any]:
    """The ``--json`` answer when the input is invalid and nothing was settled."""
    return {"campaign_id": campaign_id, "status": "invalid",
            "findings": [finding_json(f, lang) for f in findings]}


def dumps(data: dict[str, Any]) -> str:
    """Indented for people; compact past 2,000 customers (the indenting encoder is pure Python)."""
    big = len(data.get("customers", ())) > 2000
    return json.dumps(data, ensure_ascii=False, indent=None if big else 2) + "\n"
