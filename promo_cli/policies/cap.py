"""``cap: {per_customer: X}`` on a rebate policy: no customer earns more than X under it.

The customer's exact rebate under the policy is brought down to X by a ``cap`` line of its own
(its exact amount the difference, at the policy's scale), so that rounding once still gives X
and the Lines still add up to the Summary.
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
