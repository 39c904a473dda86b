"""Loyalty sheets of ``rebate_detail.xlsx`` (Members, Points, Coupons, Gifts) and Segments."""

from __future__ import annotations

from decimal import Decimal

from promo_cli.i18n import label
import pandas as pd

from promo_cli.io.writers.sheet import Col, Styles, source_row_column, write_detail, write_table
from promo_cli.money import round_cents
from promo_cli.policies.context import LoyaltyResult

SHEETS = {"membership": "Members", "points": "Points", "coupon_return": "Coupons", "gift": "Gifts"}
TOTALS = {"money", "int"}


def write_loyalty_sheet(book, styles: Styles, result: LoyaltyResult, lang: str, suffix: str = "",
                        ledger=None, side=None, detail_rows: int | None = None, detail_format: str = "csv") -> None:
    """One sheet per loyalty policy, with totals of its money and count columns; rows of
    ``ledger`` (the purchase ledger) shown as :meth:`~promo_cli.model.Ledger.row_label` says.
    A list longer than the detail limit (coupons order by order) goes to a CSV beside the
    workbook, as the rebate detail does (see :func:`write_detail`)."""
    name = SHEETS[result.type] + suffix
    columns = [source_row_column(label(key, lang), ledger) if key == "source_row" else
               Col(label(key, lang), kind, total=kind in TOTALS and key != "unit_price")
               for key, kind in result.columns]
    keys = [key for key, _ in result.columns]
    frame = pd.DataFrame(result.rows, columns=keys) if result.rows else pd.DataFrame(columns=keys)
    if "grade" in frame:
        frame["grade"] = [label(v, lang) for v in frame["grade"]]
    if "source_row" in frame and ledger is not None and ledger.sheets:
        frame["source_row"] = [ledger.row_label(row) for row in frame["source_row"]]
    write_detail(book, styles, name, columns, len(frame), lambda start, stop: frame.iloc[start:stop], side,
                 f"{name.lower().replace(' ', '_')}.csv", label(f"detail_in_{detail_format}", lang),
                 totals_label=label("total", lang), limit=detail_rows, fmt=detail_format)


def write_segments_sheet(book, styles: Styles, segments: dict, lang: str) -> None:
    """New vs returning, frequency bands, repurchase rate and the Pareto table with a chart."""
    L = lambda key: label(key, lang)  # noqa: E731
    sheet = book.add_worksheet("Segments")
    rate = lambda text: None if text is None else Decimal(text)  # noqa: E731
    layout = write_table(sheet, styles, [Col(L("item"), "text"), Col(L("customer_count"), "int"), Col(L("share"), "rate")], [
        [L("participants"), segments["customers"], None],
        [L("new_customers"), segments["new"], rate(None if not segments["customers"] else
                                                  str(Decimal(segments["new"]) / segments["customers"]))],
        [L("returning_customers"), segments["returning"], None],
        [L("repurchase_rate"), None, rate(segments["repurchase_rate"])]])
    r = layout["last"] + 2
    layout = write_table(sheet, styles, [Col(L("orders_in_period"), "text"), Col(L("customer_count"), "int"),
                                         Col(L("share"), "rate")],
                         [[band["orders"], band["customers"], rate(band["share"])] for band in segments["frequency"]],
                         top=r, secondary=True)
    r = layout["last"] + 2
    layout = write_table(sheet, styles, [Col(L("top_percent"), "text"), Col(L("customer_count"), "int"),
                                         Col(L("sales"), "money"), Col(L("share"), "rate")],
                         [[f"{p['top_percent']}%", p["customers"], round_cents(Decimal(p["sales"])), rate(p["share"])]
                          for p in segments["pareto"]], top=r, secondary=True)
    if "targets" in segments:
        t = segments["targets"]
        write_table(sheet, styles, [Col(L("item"), "text"), Col(L("customer_count"), "int"),
                                    Col(L("share"), "rate")],
                    [[L("targeted_responded"), t["responded"], rate(t["response_rate"])],
                     [L("non_targets_bought"), t["non_targets_bought"], rate(t["natural_repurchase_rate"])]],
                    top=layout["last"] + 2, secondary=True)
    chart = book.add_chart({"type": "column"})
    chart.add_series({"name": L("share"), "categories": ["Segments", layout["first"], 0, layout["last"], 0],
                      "values": ["Segments", layout["first"], 3, layout["last"], 3]})
    chart.set_title({"name": L("pareto")})
    chart.set_legend({"none": True})
    chart.set_y_axis({"min": 0, "max": 1, "num_format": "0%"})
    chart.set_size({"width": 480, "height": 280})
    sheet.insert_chart("F2", chart)
