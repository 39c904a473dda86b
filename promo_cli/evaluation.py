"""Campaign evaluation (source plans 000 §11, 001 §10–11): sales in the campaign window
against baselines, by product and by channel, participants new and returning, cost
against budget, and ROI.

Windows: the campaign window is ``[period.start, min(period.end, as_of)]``; the prior
baseline is the same number of days just before it; the year-ago baseline is the same
dates one year earlier. The history is the purchase ledger plus a ``--baseline`` ledger
when given; a baseline counts only when the history covers it: every calendar month of
the window has rows. ROI = (incremental sales × margin_rate − campaign
cost) / campaign cost, incremental against the year-ago baseline when there is one,
else the prior period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from promo_cli.money import format_amount, round_cents
from promo_cli.segmentation import new_customers


@dataclass(frozen=True, slots=True)
class Window:
    key: str
    start: date
    end: date


def _shift_year(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def windows(start: date, end: date) -> tuple[Window, Window, Window]:
    """The campaign window and its two baselines."""
    days = (end - start).days + 1
    return (Window("campaign", start, end),
            Window("prior_period", start - timedelta(days=days), start - timedelta(days=1)),
            Window("year_ago", _shift_year(start, -1), _shift_year(end, -1)))


def _sales(frame: pd.DataFrame, window: Window) -> pd.DataFrame:
    dates = frame["order_date"]
    return frame[(dates >= pd.Timestamp(window.start)) & (dates <= pd.Timestamp(window.end))]


def _growth(now: int, before: int | None) -> str | None:
    if not before:
        return None
    return str((Decimal(now - before) / Decimal(before)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class SalesFigures:
    """The evaluation's figures that come from the ledgers alone (not from the campaign's cost)."""

    window: dict
    sales: int
    baselines: dict
    by_product: list[dict]
    by_channel: list[dict]
    participants: dict
    incremental: int | None
    margin: int | None
    margin_rate: Decimal | None
    volume: str | None = None         # units sold in the window (None when the ledger has no quantities)


def _volume(frame: pd.DataFrame) -> Decimal | None:
    """Units in ``frame`` (returns count negative), or None when no row has a quantity."""
    quantities = [Decimal(q) for q in frame["quantity"] if q is not None and not pd.isna(q)] \
        if "quantity" in frame else []
    return sum(quantities, Decimal(0)) if quantities else None


def _volume_growth(now: Decimal | None, before: Decimal | None) -> str | None:
    if now is None or not before:
        return None
    return str(((now - before) / before).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def sales_figures(purchases: pd.DataFrame, history: pd.DataFrame, channels: dict[str, str],
                  first_purchase: dict[str, date], start: date, end: date,
                  margin_rate: Decimal | None) -> SalesFigures:
    """Sales in the window against the baselines, breakdowns and participants.

    ``purchases``: the purchase ledger up to as-of; ``history``: the same plus any baseline ledger.
    """
    campaign, prior, year_ago = windows(start, end)
    base = history
    months = base["order_date"].to_numpy(dtype="datetime64[M]")
    months_present = set(np.unique(months[~np.isnat(months)]).astype(str))
    dated = base["order_date"].dropna()
    first_day = dated.min().date() if len(dated) else None
    last_day = dated.max().date() if len(dated) else None
    in_window = _sales(purchases, campaign)
    sales = int(in_window["amount"].sum())
    volume = _volume(in_window)
    baselines = {}
    for window in (prior, year_ago):
        months = pd.period_range(window.start, window.end, freq="M").strftime("%Y-%m")
        # by days: every month has rows, and the rows reach within a week of both ends (a ledger
        # that starts 15 days into the window does not cover it)
        covered = set(months) <= months_present and first_day is not None \
            and first_day <= window.start + timedelta(days=6) and last_day >= window.end - timedelta(days=6)
        amount = int(_sales(base, window)["amount"].sum()) if covered else None
        units = _volume(_sales(base, window)) if covered else None
        baselines[window.key] = {"start": window.start.isoformat(), "end": window.end.isoformat(),
                                 "covered": covered,
                                 "sales": None if amount is None else format_amount(amount),
                                 "growth": _growth(sales, amount),
                                 "volume": None if units is None else f"{units.normalize():f}",
                                 "volume_growth": _volume_growth(volume, units)}

    def breakdown(column: str, keys_of) -> list[dict]:
        now = in_window.assign(_key=keys_of(in_window)).groupby("_key")["amount"].sum()
        rows = []
        ago = _sales(base, year_ago) if baselines["year_ago"]["covered"] else None
        before = ago.assign(_key=keys_of(ago)).groupby("_key")["amount"].sum() if ago is not None else None
        for key in sorted(set(now.index) | (set(before.index) if before is not None else set())):
            amount = int(now.get(key, 0))
            previous = None if before is None else int(before.get(key, 0))
            rows.append({column: key, "sales": format_amount(amount),
                         "year_ago": None if previous is None else format_amount(previous),
                         "growth": _growth(amount, previous)})
        return rows

    by_product = breakdown("product", lambda f: f["product"].fillna("—") if "product" in f
                           else pd.Series("—", index=f.index))
    by_channel = breakdown("channel", lambda f: f["customer_id"].map(channels).astype(object).fillna("—"))

    participants = sorted(set(in_window["customer_id"]))
    new = len(new_customers(participants, base, first_purchase, start))
    reference = baselines["year_ago"] if baselines["year_ago"]["covered"] else baselines["prior_period"]
    incremental = None if reference["sales"] is None else sales - round_cents(Decimal(reference["sales"]))
    margin = None if incremental is None or margin_rate is None else round_cents(margin_rate * incremental / 100)
    return SalesFigures({"start": campaign.start.isoformat(), "end": campaign.end.isoformat()}, sales, baselines,
                        by_product, by_channel,
                        {"total": len(participants), "new": int(new), "returning": len(participants) - int(new)},
                        incremental, margin, margin_rate, None if volume is None else f"{volume.normalize():f}")


def evaluation_json(f: SalesFigures, campaign_cost: int, budget_total: int | None) -> dict:
    """The evaluation as plain JSON data (amounts as two-decimal strings): the sales figures with
    the campaign's cost against its budget, and the ROI."""
    roi = None if f.margin is None or not campaign_cost else \
        str((Decimal(f.margin - campaign_cost) / Decimal(campaign_cost)).quantize(Decimal("0.0001"), ROUND_HALF_UP))
    return {
        "window": f.window,
        "sales": format_amount(f.sales),
        "volume": f.volume,
        "baselines": f.baselines,
        "by_product": f.by_product,
        "by_channel": f.by_channel,
        "participants": f.participants,
        "campaign_cost": format_amount(campaign_cost),
        "budget_total": None if budget_total is None else format_amount(budget_total),
        "cost_vs_budget": _growth(campaign_cost, budget_total) if budget_total else None,
        "margin_rate": None if f.margin_rate is None else str(f.margin_rate),
        "incremental_sales": None if f.incremental is None else format_amount(f.incremental),
        "incremental_margin": None if f.margin is None else format_amount(f.margin),
        "roi": roi,
    }


def monthly_sales(purchases: pd.DataFrame) -> list[tuple[str, int]]:
    """Net sales per calendar month over the whole ledger: [("2026-07", cents), …]."""
    if purchases.empty:
        return []
    months = purchases["order_date"].to_numpy(dtype="datetime64[M]")
    sums = purchases.groupby(months)["amount"].sum()        # NaT (no date) rows are left out
    return [(str(month)[:7], int(cents)) for month, cents in sums.items()]
