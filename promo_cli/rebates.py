"""The rebate policies (tiered, on-time, group) over one set of ledger rows: the whole ledger, or
one partition of it when an engine splits the work (:mod:`promo_cli.engines`).

A policy's figures are per customer or per group (``policies.PARTITION_KEY``): a partition holds
whole customers for one policy and whole groups for another, with the payments of their orders,
so every policy gives on each partition the figures it gives for those keys on the whole ledger.
What is about all of a customer's figures or the whole ledger is made once, over every
partition together, by the pipeline: the per-customer caps, the campaign's budget cap and the
policies' remarks (``policies.REMARKS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from promo_cli.model import Campaign, Finding
from promo_cli.policies import REGISTRY, PolicyContext
from promo_cli.recompute import recompute


@dataclass(frozen=True, slots=True)
class RebateWork:
    """What the rebate policies and their independent recomputation read."""

    campaign: Campaign
    contexts: dict[str, PolicyContext]    # per rebate policy: its context, its applies_to applied
    orders: pd.DataFrame                  # every purchase row (the recomputation picks its own)
    payments: pd.DataFrame                # the payments known at as-of, with ``_order``
    as_of: date
    master: pd.DataFrame | None = None
    products: pd.DataFrame | None = None
    agreements: pd.DataFrame | None = None
    # per rebate policy, a mask over ``orders``: the rows of its keys in this partition (None: all)
    keep: dict[str, np.ndarray] | None = None

    @property
    def rows(self) -> int:
        return len(self.orders) + len(self.payments)


@dataclass(frozen=True, slots=True)
class RebateResult:
    """Per rebate policy (campaign order) its lines and its findings, and the independent
    recomputation {(customer, policy): cents} before any cap (None when it was not made here: the
    audit makes it)."""

    lines: tuple[pd.DataFrame, ...]
    findings: tuple[tuple[Finding, ...], ...]
    recomputed: dict[tuple[str, str], int] | None = None
    partitions: int = 1


def apply_rebates(work: RebateWork, recompute_too: bool = False) -> RebateResult:
    """Apply every rebate policy of the campaign to ``work``'s rows; with ``recompute_too`` the
    independent recomputation of the same rows as well (an engine that splits the ledger
    recomputes each partition where it settled it)."""
    lines, findings = [], []
    for policy in work.campaign.rebate_policies:
        policy_lines, policy_findings = REGISTRY[policy.type](policy, work.contexts[policy.id])
        lines.append(policy_lines)
        findings.append(tuple(policy_findings))
    if not recompute_too:
        return RebateResult(tuple(lines), tuple(findings))
    second, together = {}, {}
    for policy in work.campaign.rebate_policies:        # policies that read the same rows: recomputed at once
        together.setdefault(id(work.keep[policy.id]) if work.keep else None, []).append(policy)
    for policies in together.values():
        alone = work.campaign.model_copy(update={"policies": policies, "budget": None})
        second.update(recompute(alone, work.orders, work.payments, work.as_of, work.master, work.products,
                                work.agreements, caps=False, only=work.keep[policies[0].id] if work.keep else None))
    return RebateResult(tuple(lines), tuple(findings), second)
