"""``rebate_detail.xlsx``: Summary (per customer), Lines (every amount explained),
Orders (every purchase row and whether it counted) and Policy (the campaign as applied)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from promo_cli import __version__
from promo_cli.i18n import label
from promo_cli.io.writers.deposits import write_deposit_sheets
from promo_cli.io.writers.loyalty import write_loyalty_sheet, write_segments_sheet
from promo_cli.io.writers.sheet import (
    Col,
    Styles,
    as_date,
    cell,
    new_workbook,
    write_detail,
    write_table,
    write_title,
)
from promo_cli.messages import note
from promo_cli.model import Settlement
from promo_cli.money import cents_to_decimal, format_rate


def title_pairs(s: Settlement, lang: str, generated_at: datetime) -> list[tuple[str, str]]:
    """The title block every summary sheet starts with."""
    info = s.campaign.campaign
    return [
        (label("campaign", lang), f"{info.name} ({info.id})" if info.name else info.id),
        (label("period", lang), f"{info.period.start:%Y-%m-%d} – {info.period.end:%Y-%m-%d}"),
        (label("as_of", lang), f"{s.as_of:%Y-%m-%d}"),
        (label("currency", lang), info.currency),
        (label("status", lang), label(s.status, lang)),
        (label("generated_at", lang), f"{generated_at:%Y-%m-%d %H:%M:%S}"),
        (label("tool_version", lang), f"promo {__version__}"),
    ]


def policy_header(policy, lang: str) -> str:
    return f"{policy.name} ({policy.id})" if policy.name else policy.id


def write_rebate_detail(s: Settlement, path: Path, lang: str, generated_at: datetime, side=None) -> None:
    """Write the rebate detail workbook to ``path``."""
    book = new_workbook(path)
    styles = Styles(book)
    L = lambda key: label(key, lang)  # noqa: E731

    if s.campaign.rebate_policies:
        _write_rebate_sheets(book, styles, s, lang, generated_at, side)
    for policy_id, result in s.deposits.items():
        write_deposit_sheets(book, styles, result, s.campaign.campaign.period.start, lang,
                             suffix=f" {policy_id}" if len(s.deposits) > 1 else "")
    kinds = [r.type for r in s.loyalty.values()]
    for policy_id, result in s.loyalty.items():
        write_loyalty_sheet(book, styles, result, lang, suffix=f" {policy_id}" if kinds.count(result.type) > 1 else "")
    if s.segments is not None:
        write_segments_sheet(book, styles, s.segments, lang)

    # --- Policy
    sheet = book.add_worksheet("Policy")
    columns = [Col(L("policy_id"), "id"), Col(L("policy_name"), "text"), Col(L("type"), "text"),
               Col(L("parameter"), "text"), Col(L("value"), "text")]
    write_table(sheet, styles, columns, policy_rows(s))
    book.close()


def _write_rebate_sheets(book, styles: Styles, s: Settlement, lang: str, generated_at: datetime, side) -> None:
    """Summary (per customer), Lines (every amount explained) and Orders (every purchase row)."""
    L = lambda key: label(key, lang)  # noqa: E731
    # --- Summary
    sheet = book.add_worksheet("Summary")
    top = write_title(sheet, styles, L("campaign") + ": " + (s.campaign.campaign.name or s.campaign.campaign.id),
                      title_pairs(s, lang, generated_at))
    policies = s.campaign.rebate_policies
    columns = [Col(L("customer_id"), "id"), Col(L("customer_name"), "text"),
               Col(L("purchase_amount"), "money", total=True)]
    columns += [Col(policy_header(p, lang), "money", total=True) for p in policies]
    columns += [Col(L("total_rebate"), "formula", total=True)]
    if s.settled_before is not None:
        columns += [Col(L("settled_before"), "money", total=True), Col(L("payable"), "formula", total=True)]
    first_policy, last_policy = 3, 2 + len(policies)
    by_customer = {c.customer_id: c for c in s.customers}

    total_col = last_policy + 1

    def row_formula(r: int, j: int):
        customer = by_customer[summary_rows[r - top - 1][0]]
        if j == total_col:
            return (f"=SUM({cell(r, first_policy)}:{cell(r, last_policy)})",
                    cents_to_decimal(customer.total_rebate))
        before = sum(s.before(customer.customer_id, p.id) for p in policies)
        return f"={cell(r, total_col)}-{cell(r, total_col + 1)}", cents_to_decimal(customer.total_rebate - before)

    summary_rows = [[c.customer_id, c.customer_name, c.purchase_amount,
                     *[c.rebates[p.id] for p in policies], None]
                    + ([sum(s.before(c.customer_id, p.id) for p in policies), None]
                       if s.settled_before is not None else [])
                    for c in s.customers]
    write_table(sheet, styles, columns, summary_rows, top=top, totals_label=L("total"),
                row_formula=row_formula)

    # --- Lines
    names = {c.customer_id: c.customer_name for c in s.customers}
    policy_names = {p.id: policy_header(p, lang) for p in policies}
    source = s.ledgers.purchases
    where = f"{source.label}[{source.sheet}]" if source and source.sheet else (source.label if source else "")
    columns = [Col(L("customer_id"), "id"), Col(L("customer_name"), "text"), Col(L("policy"), "text"),
               Col(L("kind"), "text"), Col(L("ref"), "id"), Col(L("lower"), "number"),
               Col(L("upper"), "number"), Col(L("base"), "number"), Col(L("rate"), "rate"),
               Col(L("exact"), "exact", total=True), Col(L("rebate"), "money", total=True),
               Col(L("due_date"), "date"), Col(L("paid_on"), "date"), Col(L("note"), "longtext", width=60),
               Col(L("source"), "text")]
    rows = []
    for line in sorted(s.lines, key=lambda l: (l.customer_id, policy_order(policies, l.policy_id))):
        code, params = line.note if line.note else (None, ())
        rows.append([line.customer_id, names.get(line.customer_id, ""), policy_names[line.policy_id],
                     L(line.kind), line.ref, line.lower, line.upper, line.base, line.rate, line.exact,
                     line.rebate, line.due_date, line.paid_on,
                     note(code, dict(params), lang) if code else None,
                     f"{where}!{line.source_row}" if line.source_row else
                     (f"{L('group_id')} {line.ref}" if line.kind == "group-share" else L("customer_id"))])
    write_detail(book, styles, "Lines", columns, rows, side, "lines.csv", L("detail_in_csv"),
                 totals_label=L("total"))

    # --- Orders
    columns = [Col(L("source_row"), "int"), Col(L("order_id"), "id"), Col(L("customer_id"), "id"),
               Col(L("customer_name"), "text"), Col(L("order_date"), "date"), Col(L("amount"), "money"),
               Col(L("quantity"), "number"), Col(L("due_date"), "date"), Col(L("group_id"), "id"),
               Col(L("counted"), "text")]
    orders = s.orders
    status_label = {key: L("yes") if key == "counted" else L(key)
                    for key in ("counted", "before-start", "after-end", "after-as-of")}
    rows = [[row, order, customer, name, as_date(day), amount, quantity, as_date(due), group, status_label[status]]
            for row, order, customer, name, day, amount, quantity, due, group, status in zip(
                orders["_row"], orders["order_id"], orders["customer_id"], orders["customer_name"],
                orders["order_date"], orders["amount"], orders["quantity"], orders["due_date"],
                orders["group_id"], orders["status"])]
    write_detail(book, styles, "Orders", columns, rows, side, "orders.csv", L("detail_in_csv"))



def policy_order(policies, policy_id: str) -> int:
    return next(i for i, p in enumerate(policies) if p.id == policy_id)


def policy_rows(s: Settlement) -> list[list[str]]:
    """Every policy parameter as (id, name, type, parameter, value) text rows."""
    rows = []
    for policy in s.campaign.policies:
        data = policy.model_dump(by_alias=True, exclude={"id", "name", "type"})
        for key, value in data.items():
            if key == "tiers":
                for i, tier in enumerate(value, start=1):
                    text = ", ".join(f"{k}={_show(k, v)}" for k, v in tier.items() if v is not None)
                    rows.append([policy.id, policy.name, policy.type, f"tiers[{i}]", text])
            elif isinstance(value, dict):
                for k, v in value.items():
                    rows.append([policy.id, policy.name, policy.type, f"{key}.{k}", _show(k, v)])
            elif value is not None:
                rows.append([policy.id, policy.name, policy.type, key, _show(key, value)])
    return rows


def _show(key: str, value) -> str:
    if isinstance(value, Decimal) and (key.endswith("rate") or key == "discount"):
        return format_rate(value)
    return str(value)
