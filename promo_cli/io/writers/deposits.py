"""Prepaid deposit sheets of ``rebate_detail.xlsx`` and the ``deposits`` part of summary.json."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from promo_cli.i18n import label
from promo_cli.io.writers.sheet import Cents, Col, Styles, cell, source_row_column, write_table
from promo_cli.money import round_cents
from promo_cli.policies.prepaid_deposit import (
    SIGN,
    DepositResult,
    deposit_costs,
    expiring_within,
)

MOVEMENTS = ("deposit", "bonus", "referral", "consume", "transfer_in", "transfer_out", "expire")


def account_rows(result: DepositResult, start: date) -> list[list]:
    """Per account: opening at period start, in-period movements, closing, expiring soon."""
    opening: dict[str, int] = defaultdict(int)
    moves: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MOVEMENTS, 0))
    customer: dict[str, str] = {}
    for e in result.events:
        customer.setdefault(e.account, e.customer)
        if e.day < start:
            opening[e.account] += SIGN[e.kind] * e.cents
        else:
            moves[e.account][e.kind] += e.cents
    soon = {days: expiring_within(result.lots, result.as_of, days) for days in (30, 60, 90)}
    points: dict[str, int] = defaultdict(int)
    for lot in result.lots:
        points[lot.account] += lot.points
    rows = []
    for account in sorted(customer):
        m = moves[account]
        closing = opening[account] + sum(SIGN[k] * v for k, v in m.items())
        rows.append([account, customer[account], opening[account], m["deposit"], m["bonus"] + m["referral"],
                     m["consume"], m["transfer_in"], m["transfer_out"], m["expire"], closing,
                     soon[30].get(account, 0), soon[60].get(account, 0), soon[90].get(account, 0), points[account]])
    return rows


def write_deposit_sheets(book, styles: Styles, result: DepositResult, start: date, lang: str,
                         suffix: str = "", ledger=None) -> None:
    """Accounts, Lots, Deposit issues, Deposit cost and Daily deposits (with a chart); rows of
    ``ledger`` (the deposit ledger) shown as :meth:`~promo_cli.model.Ledger.row_label` says."""
    where = ledger.row_label if ledger is not None else (lambda row: row)
    L = lambda key: label(key, lang)  # noqa: E731

    sheet = book.add_worksheet(f"Accounts{suffix}")
    columns = [Col(L("account"), "id"), Col(L("customer_id"), "id"), Col(L("opening"), "money", total=True),
               Col(L("deposited"), "money", total=True), Col(L("bonus"), "money", total=True),
               Col(L("consumed"), "money", total=True), Col(L("transfer_in"), "money", total=True),
               Col(L("transfer_out"), "money", total=True), Col(L("expired"), "money", total=True),
               Col(L("closing"), "formula", total=True), Col(L("expiring_30"), "money", total=True),
               Col(L("expiring_60"), "money", total=True), Col(L("expiring_90"), "money", total=True),
               Col(L("converted_points"), "int", total=True)]
    rows = account_rows(result, start)

    def closing(r: int, j: int):
        c = lambda j: cell(r, j)  # noqa: E731
        return (f"={c(2)}+{c(3)}+{c(4)}-{c(5)}+{c(6)}-{c(7)}-{c(8)}", Decimal(rows[r - 1][9]) / 100)

    write_table(sheet, styles, columns, rows, totals_label=L("total"), row_formula=closing)

    sheet = book.add_worksheet(f"Lots{suffix}")
    columns = [Col(L("lot"), "id"), Col(L("account"), "id"), Col(L("customer_id"), "id"), Col(L("opened"), "date"),
               Col(L("expires"), "date"), Col(L("origin"), "text"), Col(L("value"), "money", total=True),
               Col(L("remaining"), "money", total=True), Col(L("status"), "text"),
               Col(L("converted_points"), "int", total=True), source_row_column(L("source_row"), ledger)]
    write_table(sheet, styles, columns, [
        [lot.lot_id, lot.account, lot.customer, lot.opened, lot.expires, L(lot.origin), lot.value, lot.remaining,
         L("expired") if lot.expires and lot.expires <= result.as_of and lot.remaining
         else L("used_up") if not lot.remaining else L("usable"), lot.points, where(lot.source_row)]
        for lot in sorted(result.lots, key=lambda lot: (lot.account, lot.opened, lot.lot_id))],
        totals_label=L("total"))

    sheet = book.add_worksheet(f"Deposit issues{suffix}")
    columns = [Col(L("issue"), "text"), Col(L("txn_id"), "id"), Col(L("account"), "id"), Col(L("date"), "date"),
               Col(L("amount"), "money"), Col(L("bill"), "money"), Col(L("limit"), "money"),
               source_row_column(L("source_row"), ledger)]
    issues = [[L("cap-violation"), v["txn_id"], v["account"], v["day"], v["amount"], v["bill"], v["cap"], where(v["row"])]
              for v in result.cap_violations]
    issues += [[L("overdraft"), o["txn_id"], o["account"], o["day"], o["amount"], None, o["available"], where(o["row"])]
               for o in result.overdrafts]
    write_table(sheet, styles, columns, issues)

    sheet = book.add_worksheet(f"Deposit cost{suffix}")
    costs = deposit_costs(result)
    layout = write_table(sheet, styles, [Col(L("item"), "text"), Col(L("amount"), "money", total=True)],
                         [[L(key), cents] for key, cents in costs.items()], totals_label=L("total"))
    target = result.policy.target
    r0 = layout["totals_row"] + 2
    rows = [[L("deposited_in_period"), Cents(result.deposited_in_period),
             None if not target or target.deposited is None else Cents(round_cents(target.deposited)),
             None if not target or not target.deposited else Decimal(result.deposited_in_period) / 100 / target.deposited],
            [L("new_depositors"), result.new_depositors, None if not target else target.new_customers,
             None if not target or not target.new_customers else Decimal(result.new_depositors) / target.new_customers]]
    write_table(sheet, styles, [Col(L("target"), "text"), Col(L("actual"), "number"), Col(L("target_value"), "number"),
                                Col(L("achievement"), "rate")], rows, top=r0, secondary=True)

    sheet = book.add_worksheet(f"Daily deposits{suffix}")
    daily: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for e in result.events:
        if e.kind == "deposit":
            daily[e.day][0] += e.cents
            daily[e.day][1] += 1
    days = sorted(daily)
    layout = write_table(sheet, styles, [Col(L("date"), "date"), Col(L("deposited"), "money", total=True),
                                         Col(L("count"), "int")],
                         [[day, daily[day][0], daily[day][1]] for day in days], totals_label=L("total"))
    if days:
        chart = book.add_chart({"type": "column"})
        name = sheet.get_name()
        chart.add_series({"name": L("deposited"), "categories": [name, 1, 0, layout["last"], 0],
                          "values": [name, 1, 1, layout["last"], 1]})
        chart.set_title({"name": L("daily_deposits")})
        chart.set_legend({"none": True})
        chart.set_x_axis({"date_axis": True, "num_format": "mm-dd"})
        chart.set_size({"width": 720, "height": 360})
        sheet.insert_chart("E2", chart)
