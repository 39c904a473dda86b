"""Caps. ``cap: {per_customer: X}`` on a rebate policy: no customer earns more than X under it.
``budget.rebate_cap: {amount: X, rule: prorate | first_come}``: the campaign pays at most X in
rebates: ``prorate`` cuts every positive rebate in proportion (whole cents by largest
remainder, ties by customer id), ``first_come`` pays customers in the order of their first
in-period order (then customer id) until X is spent.

Either way a customer's exact rebate under a policy is brought to its capped figure by a line
of its own (its exact amount the difference, at the policy's scale), so that rounding once
gives that figure and the Lines still add up to the Summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from promo_cli.lines import concat_lines, make_lines
from promo_cli.money import format_display, round_cents


def apply_cap(policy, lines: pd.DataFrame) -> pd.DataFrame:
    """``lines`` of ``policy`` with a ``cap`` line for every customer above its cap."""
    if getattr(policy, "cap", None) is None or lines.empty:
        return lines
    cap = round_cents(policy.cap.per_customer)
    scale = int(lines["scale"].max())
    units = lines["units"].to_numpy(dtype=np.int64) * 10 ** (scale - lines["scale"].to_numpy(dtype=np.int64))
    totals = pd.Series(units).groupby(lines["customer_id"].to_numpy(), sort=True).sum()
    limit = cap * 10 ** (scale - 2)
    over = totals[totals > limit]
    if over.empty:
        return lines
    lines = lines.assign(units=units, scale=scale)
    excess = over.to_numpy(dtype=np.int64) - limit
    capped = make_lines(policy.id, "cap", over.index.to_numpy(dtype=object), "cap", 0, None, -excess, scale, "cap",
                        n_cap=format_display(cap), n_total=[format_display((int(t) * 2 + 10 ** (scale - 2)) // (2 * 10 ** (scale - 2))) for t in over])
    return concat_lines([lines, capped])


def _group_totals(lines: pd.DataFrame) -> pd.DataFrame:
    """Per (policy, customer): the exact units at the group's scale and the cents they round to."""
    scale = lines["scale"].to_numpy(dtype=np.int64)
    frame = pd.DataFrame({"policy_id": lines["policy_id"].to_numpy(dtype=object),
                          "customer_id": lines["customer_id"].to_numpy(dtype=object),
                          "units": lines["units"].to_numpy(dtype=np.int64), "scale": scale})
    groups = frame.groupby(["policy_id", "customer_id"], sort=False).agg(units=("units", "sum"), scale=("scale", "max"))
    unit = 10 ** (groups["scale"].to_numpy(dtype=np.int64) - 2)
    units = groups["units"].to_numpy(dtype=np.int64)
    cents = np.where(units < 0, -((-units * 2 + unit) // (2 * unit)), (units * 2 + unit) // (2 * unit))
    return groups.assign(cents=cents)


def budget_cap(policies, cap, lines: pd.DataFrame, first_days) -> tuple[pd.DataFrame, int]:
    """``lines`` with a ``budget-cap`` line for every (customer, policy) the campaign's cap cuts,
    and how much it cut (cents); claw-backs (negative rebates) are left as they are.
    ``first_days()`` gives {customer: first in-period order date} (for ``first_come``)."""
    if cap is None or lines.empty:
        return lines, 0
    groups = _group_totals(lines)
    limit = round_cents(cap.amount)
    positive = groups[groups["cents"] > 0]
    total = int(positive["cents"].sum())
    if total <= limit:
        return lines, 0
    order = {p.id: i for i, p in enumerate(policies)}
    keys = list(positive.index)
    if cap.rule == "prorate":
        exact = [int(c) * limit for c in positive["cents"]]
        new = [e // total for e in exact]
        left = limit - sum(new)
        ranked = sorted(range(len(keys)), key=lambda i: (-(exact[i] % total), keys[i][1], order[keys[i][0]]))
        for i in ranked[:left]:
            new[i] += 1
    else:       # first come: the customer's first in-period order, then id; policies in campaign order
        first_day = first_days()
        ranked = sorted(range(len(keys)), key=lambda i: (first_day[keys[i][1]], keys[i][1], order[keys[i][0]]))
        new, left = [0] * len(keys), limit
        for i in ranked:
            new[i] = min(int(positive["cents"].iloc[i]), left)
            left -= new[i]
    cut = [(key, int(positive["cents"].iloc[i]), new[i]) for i, key in enumerate(keys) if new[i] != positive["cents"].iloc[i]]
    if not cut:
        return lines, 0
    rows = []
    for (policy_id, customer), before, after in cut:
        scale = int(positive.loc[(policy_id, customer), "scale"])
        units = after * 10 ** (scale - 2) - int(positive.loc[(policy_id, customer), "units"])
        rows.append(make_lines(policy_id, "budget-cap", [customer], "budget", 0, None, np.array([units]), scale,
                               "budget-cap", n_cap=format_display(limit), n_before=format_display(before),
                               n_after=format_display(after), n_rule=cap.rule))
    return concat_lines([lines] + rows), total - limit
