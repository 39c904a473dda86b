"""Shared helpers: write small ledgers and a campaign file, then run the real pipeline."""

from __future__ import annotations

import csv
import os
import textwrap
from datetime import date
from pathlib import Path

import pytest

# The CLI speaks the user's language (PROMO_LANG, else the locale): tests speak Chinese unless
# they ask otherwise, whatever the machine's locale is.
os.environ["PROMO_LANG"] = "zh"

from promo_cli.engine import load, settle
from promo_cli.model import Settlement

PURCHASE_HEADERS = ["order_id", "customer_id", "customer_name", "order_date", "amount", "quantity",
                    "due_date", "group_id", "group_proof"]
PAYMENT_HEADERS = ["payment_id", "order_id", "customer_id", "payment_date", "amount"]


def write_csv(path: Path, headers: list[str], rows: list[dict], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([row.get(h, "") for h in headers])
    return path


def order(order_id, customer, day, amount, **extra) -> dict:
    return {"order_id": order_id, "customer_id": customer, "order_date": day, "amount": amount, **extra}


def payment(payment_id, order_id, day, amount, **extra) -> dict:
    return {"payment_id": payment_id, "order_id": order_id, "payment_date": day, "amount": amount, **extra}


def write_campaign(folder: Path, policies: str, period=("2026-07-01", "2026-12-31"),
                   inputs: str = "{purchases: purchases.csv, payments: payments.csv}") -> Path:
    text = textwrap.dedent(f"""\
        campaign:
          id: test
          name: 测试活动
          period: {{start: {period[0]}, end: {period[1]}}}
        inputs: {inputs}
        policies:
        """) + textwrap.indent(textwrap.dedent(policies), "  ")
    path = folder / "campaign.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def run_campaign(tmp_path):
    """Return ``run(policies, purchases, payments=(), as_of=None, period=…) -> Settlement``."""

    def run(policies: str, purchases: list[dict], payments: list[dict] = (), as_of=None,
            period=("2026-07-01", "2026-12-31")) -> Settlement:
        write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, purchases)
        # a header-only ledger that a policy needs is refused (an empty export): a test without
        # payments gets one dated after every as-of, which nothing counts
        write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS,
                  list(payments) or [payment("UNUSED", "UNUSED", "2099-12-31", "1")])
        campaign = write_campaign(tmp_path, policies, period)
        loaded, findings = load(campaign, {}, as_of or date.fromisoformat(period[1]))
        assert loaded is not None, [f.code for f in findings]
        return settle(loaded, findings)

    return run


def rebates(s: Settlement, policy_id: str) -> dict[str, str]:
    """{customer: "12.34"} for one policy."""
    return {c.customer_id: f"{c.rebates[policy_id] / 100:.2f}" for c in s.customers}
