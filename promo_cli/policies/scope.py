"""``applies_to``: the purchase rows a policy counts (CONTRACT.md section 3).

A row is in scope when its product, its product's category (from the products ledger), its
customer's channel and region (from the customer master) are each in the list that names them
(when there is one) and in none of the ``exclude_`` lists. A row whose value is unknown is out
of a list that names what is in, and never excluded by name. The reason a row is out is the
first criterion it fails, for the Orders sheet and the audit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from promo_cli.model import AppliesTo

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
