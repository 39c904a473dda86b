"""``applies_to``: the purchase rows a policy counts (CONTRACT.md section 3).

A row is in scope when its product, its product's category (from the products ledger), its
customer's channel and region (from the customer master) are each in the list that names them
(when there is one) and in none of the ``exclude_`` lists. A row whose value is unknown is out
of a list that names what is in, and never excluded by name. The reason a row is out is the
first criterion it fails, for the Orders sheet and the audit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from promo_cli.model import AppliesTo, Campaign, Finding, Ledger, finding
from promo_cli.money import format_display
from promo_cli.policies.context import PolicyContext

CRITERIA = ("product", "category", "channel", "region")


def row_values(purchases: pd.DataFrame, master: pd.DataFrame | None, products: pd.DataFrame | None
               ) -> dict[str, pd.Series]:
    """Per purchase row, its product, category, channel and region (None where unknown)."""
    def mapped(keys: pd.Series, frame: pd.DataFrame | None, key: str, column: str) -> pd.Series:
        if frame is None or column not in frame:
            return pd.Series([None] * len(keys), index=keys.index, dtype=object)
        lookup = frame.dropna(subset=[key]).drop_duplicates(key).set_index(key)[column]
        return keys.map(lookup).astype(object).where(lambda v: v.notna(), None)

    product = purchases["product"] if "product" in purchases else pd.Series(None, index=purchases.index, dtype=object)
    product = product.astype(object).where(product.notna(), None)
    return {"product": product, "category": mapped(product, products, "product", "category"),
            "channel": mapped(purchases["customer_id"], master, "customer_id", "channel"),
            "region": mapped(purchases["customer_id"], master, "customer_id", "region")}


def out_of_scope(applies: AppliesTo, values: dict[str, pd.Series]) -> pd.Series:
    """Per row: None when the policy counts it, else the criterion it fails (``product``, …)."""
    n = len(next(iter(values.values())))
    index = next(iter(values.values())).index
    reason = np.full(n, None, dtype=object)
    for what in CRITERIA:
        named, excluded = getattr(applies, what), getattr(applies, f"exclude_{what}")
        column = values[what]
        fails = np.zeros(n, dtype=bool)
        if named is not None:
            fails |= ~column.isin(set(named)).to_numpy()
        if excluded is not None:
            fails |= column.isin(set(excluded)).to_numpy()
        reason[fails & pd.isna(reason)] = what
    return pd.Series(reason, index=index, dtype=object)


class Scopes:
    """The rows each policy with ``applies_to`` counts, the reasons for the others, and what
    the Orders sheet and the audit say about them."""

    def __init__(self, campaign: Campaign, in_period: pd.DataFrame, master, products) -> None:
        self.in_period = in_period
        self.out: dict[str, pd.Series] = {}
        policies = [p for p in campaign.policies if getattr(p, "applies_to", None) is not None]
        self.policies = policies
        self.values = row_values(in_period, master, products) if policies else {}
        for policy in policies:
            self.out[policy.id] = out_of_scope(policy.applies_to, self.values)

    def context(self, policy, ctx: PolicyContext) -> PolicyContext:
        if policy.id not in self.out:
            return ctx
        return replace(ctx, purchases=ctx.purchases[self.out[policy.id].isna().to_numpy()])

    def findings(self, source: Ledger | None) -> list[Finding]:
        """An info finding per policy: how many in-period rows it leaves out, and their amount; a
        warning for every value its applies_to names that no in-period row has (a mistyped
        product id would otherwise leave its rows out without a word)."""
        out = []
        for policy in self.policies:
            for what in CRITERIA:
                present = set(self.values[what].dropna())
                for key in (f"{what}", f"exclude_{what}"):
                    for value in getattr(policy.applies_to, key) or []:
                        if value not in present:
                            out.append(finding("warning", "applies-to-unused-value",
                                               file=source.label if source else None, policy=policy.id,
                                               key=f"applies_to.{key}", value=value))
        for policy_id, reason in self.out.items():
            left = reason.notna().to_numpy()
            if left.any():
                out.append(finding("info", "applies-to-left-out", file=source.label if source else None,
                                   policy=policy_id, rows=int(left.sum()),
                                   amount=format_display(int(self.in_period["amount"].to_numpy()[left].sum()))))
        return out

    def mark(self, orders: pd.DataFrame) -> pd.DataFrame:
        """``orders`` with ``left_out``: per row the policies that do not count it, as
        ``policy|criterion|value`` joined by ``;`` (None where every policy counts it)."""
        if not self.out:
            return orders
        notes = pd.Series(None, index=self.in_period.index, dtype=object)
        for policy_id, reason in self.out.items():
            value = pd.Series("", index=reason.index, dtype=object)
            for what in CRITERIA:
                mine = (reason == what).to_numpy()
                value[mine] = self.values[what][mine].map(lambda v: "" if v is None else str(v))
            text = (policy_id + "|" + reason.fillna("") + "|" + value).where(reason.notna(), None)
            notes = pd.Series(np.where(notes.isna(), text, np.where(text.isna(), notes, notes + ";" + text.fillna(""))),
                              index=notes.index, dtype=object)
        left = pd.Series(None, index=orders.index, dtype=object)
        left[notes.index] = notes
        return orders.assign(left_out=left.where(left.notna(), None))
