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

import pandas as pd

from promo_cli.model import Campaign, Finding
from promo_cli.policies import REGISTRY, PolicyContext
from promo_cli.recompute import recompute


@dataclass(frozen=True, slots=True)
class RebateWork:
    """What the rebate policies and their independent recomputation read."""

    campaign: Campaign
    contexts: dict[str, PolicyContext]    # per rebate policy: its context, its applies_to applied
    orders: dict[str, pd.DataFrame]       # per rebate policy: every purchase row of its keys (the
    payments: pd.DataFrame                # recomputation picks its own); payments known at as-of
    as_of: date
    master: pd.DataFrame | None = None
    products: pd.DataFrame | None = None
    agreements: pd.DataFrame | None = None

    @property
    def rows(self) -> int:
        return max((len(o) for o in self.orders.values()), default=0) + len(self.payments)


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
    lines, findings, second = [], [], {}
    for policy in work.campaign.rebate_policies:
        policy_lines, policy_findings = REGISTRY[policy.type](policy, work.contexts[policy.id])
        lines.append(policy_lines)
        findings.append(tuple(policy_findings))
        if recompute_too:
            alone = work.campaign.model_copy(update={"policies": [policy], "budget": None})
            second.update(recompute(alone, work.orders[policy.id], work.payments, work.as_of, work.master,
                                    work.products, work.agreements, caps=False))
    return RebateResult(tuple(lines), tuple(findings), second if recompute_too else None)
