"""``rebate_detail.xlsx``: Summary (per customer), Lines (every amount explained),
Orders (every purchase row and whether it counted) and Policy (the campaign as applied)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd
import pyarrow as pa
from pyarrow import compute as pc

from promo_cli import __version__
from promo_cli.i18n import label
from promo_cli.io.writers.deposits import write_deposit_sheets
from promo_cli.io.writers.loyalty import write_loyalty_sheet, write_segments_sheet
from promo_cli.io.writers import sheet as sheet_layout
from promo_cli.io.writers.sheet import (
    close_book,
    source_row_column,
    Col,
    Styles,
    cell,
    new_workbook,
    sheets_needed,
    write_detail,
    write_table,
    write_title,
)
from promo_cli.lines import NOTE_PREFIX, exact_texts, sheet_order, texts_of_distinct
from promo_cli.messages import notes
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


def write_rebate_detail(s: Settlement, path: Path, lang: str, generated_at: datetime, side=None,
                        detail_rows: int | None = None, detail_format: str = "csv") -> None:
    """Write the rebate detail workbook to ``path``."""
    book = new_workbook(path)
    styles = Styles(book)
    L = lambda key: label(key, lang)  # noqa: E731

    if s.campaign.rebate_policies:
        _write_rebate_sheets(book, styles, s, lang, generated_at, side, detail_rows, detail_format)
    for policy_id, result in s.deposits.items():
        write_deposit_sheets(book, styles, result, s.campaign.campaign.period.start, lang,
                             suffix=f" {policy_id}" if len(s.deposits) > 1 else "", ledger=s.ledgers.deposits)
    kinds = [r.type for r in s.loyalty.values()]
    for policy_id, result in s.loyalty.items():
        write_loyalty_sheet(book, styles, result, lang, suffix=f" {policy_id}" if kinds.count(result.type) > 1 else "",
                            ledger=s.ledgers.purchases, side=side, detail_rows=detail_rows,
                            detail_format=detail_format)
    if s.segments is not None:
        write_segments_sheet(book, styles, s.segments, lang)

    # --- Policy
    sheet = book.add_worksheet("Policy")
    columns = [Col(L("policy_id"), "id"), Col(L("policy_name"), "text"), Col(L("type"), "text"),
               Col(L("parameter"), "text"), Col(L("value"), "text")]
    write_table(sheet, styles, columns, policy_rows(s, lang))
    close_book(book)


def _write_rebate_sheets(book, styles: Styles, s: Settlement, lang: str, generated_at: datetime, side,
                         detail_rows: int | None, detail_format: str) -> None:
    """Summary (per customer), Lines (every amount explained) and Orders (every purchase row)."""
    L = lambda key: label(key, lang)  # noqa: E731
    # --- Summary
    sheet = book.add_worksheet("Summary")
    top = write_title(sheet, styles, L("campaign") + ": " + (s.campaign.campaign.name or s.campaign.campaign.id),
                      title_pairs(s, lang, generated_at) + _lines_where(s, side, detail_rows, lang, detail_format))
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

    before = {c.customer_id: sum(s.before(c.customer_id, p.id) for p in policies) for c in s.customers} \
        if s.settled_before else {}

    def row_formula(r: int, j: int):
        customer = by_customer[summary_rows[r - top - 1][0]]
        if j == total_col:
            return (f"=SUM({cell(r, first_policy)}:{cell(r, last_policy)})",
                    cents_to_decimal(customer.total_rebate))
        return (f"={cell(r, total_col)}-{cell(r, total_col + 1)}",
                cents_to_decimal(customer.total_rebate - before.get(customer.customer_id, 0)))

    summary_rows = [[c.customer_id, c.customer_name, c.purchase_amount,
                     *[c.rebates[p.id] for p in policies], None]
                    + ([before.get(c.customer_id, 0), None] if s.settled_before is not None else [])
                    for c in s.customers]
    write_table(sheet, styles, columns, summary_rows, top=top, totals_label=L("total"),
                row_formula=row_formula)

    # --- Lines
    columns = [Col(L("customer_id"), "id"), Col(L("customer_name"), "text"), Col(L("policy"), "text"),
               Col(L("kind"), "text"), Col(L("ref"), "id"), Col(L("lower"), "number"),
               Col(L("upper"), "number"), Col(L("base"), "money"), Col(L("rate"), "rate"),
               Col(L("exact"), "exact", total=True), Col(L("rebate"), "money", total=True),
               Col(L("due_date"), "date"), Col(L("paid_on"), "date"), Col(L("note"), "longtext", width=60),
               Col(L("source"), "text")]
    write_detail(book, styles, "Lines", columns, line_count(s), lines_rows(s, lang), side, "lines.csv",
                 L(f"detail_in_{detail_format}"), totals_label=L("total"), limit=detail_rows, fmt=detail_format)

    # --- Orders
    columns = [source_row_column(L("source_row"), s.ledgers.purchases), Col(L("order_id"), "id"), Col(L("customer_id"), "id"),
               Col(L("customer_name"), "text"), Col(L("order_date"), "date"), Col(L("amount"), "money"),
               Col(L("quantity"), "number"), Col(L("due_date"), "date"), Col(L("group_id"), "id"),
               Col(L("counted"), "text")]
    orders = s.orders
    scoped = "left_out" in orders and s.detail is None
    if scoped:
        columns.append(Col(L("left_out"), "longtext", width=40))
    status_label = {key: L("yes") if key == "counted" else L(key)
                    for key in ("counted", "before-start", "after-end", "after-as-of")}
    # settled out of core: every order is on disk, read back a chunk at a time
    order_rows = (lambda start, stop: s.detail.chunk("orders", start, stop)) if s.detail is not None \
        else (lambda start, stop: orders.iloc[start:stop])
    write_detail(book, styles, "Orders", columns, s.detail.order_count if s.detail is not None else len(orders),
                 lambda start, stop: _orders_table(order_rows(start, stop), status_label, s.ledgers.purchases,
                                                   lang if scoped else None),
                 side, "orders.csv", L(f"detail_in_{detail_format}"), limit=detail_rows, fmt=detail_format)


def _lines_where(s: Settlement, side, detail_rows: int | None, lang: str, detail_format: str = "csv"
                 ) -> list[tuple[str, str]]:
    """Where the Lines are, when not simply on the Lines sheet: a CSV beside the workbook, or the
    sheets they take past Excel's row limit. A title pair for the Summary, or none."""
    rows = line_count(s)
    limit = sheet_layout.DETAIL_ROWS_LIMIT if detail_rows is None else detail_rows
    count = f"{rows:,} {label('rows', lang).lower()}"
    if side is not None and limit and rows > limit:
        return [(label("lines_in", lang), f"{sheet_layout.detail_file('lines.csv', detail_format)} ({count})")]
    sheets = ["Lines"] + [f"Lines {n}" for n in range(2, sheets_needed(rows, totals=True) + 1)]
    return [(label("lines_in", lang), f"{', '.join(sheets)} ({count})")] if len(sheets) > 1 else []


def _lookup(keys: pd.Series, table: dict, default: str | None = None) -> pd.arrays.ArrowExtensionArray:
    """``table[key]`` (text) for every key, looking each distinct key up once."""
    return pd.arrays.ArrowExtensionArray(texts_of_distinct(keys, lambda key: table.get(key, default)))


def _orders_table(orders: pd.DataFrame, status_label: dict[str, str], source=None, scoped: str | None = None
                  ) -> pd.DataFrame:
    """The Orders sheet's columns: every purchase row and whether it counted (and, with
    ``applies_to`` somewhere, in ``scoped``'s language, which policies left it out and why)."""
    table = orders[["_row", "order_id", "customer_id", "customer_name", "order_date", "amount", "quantity",
                    "due_date", "group_id"]].assign(status=_lookup(orders["status"], status_label))
    if source is not None and source.sheets:    # several sheets: the row says which sheet it is on
        table["_row"] = source.row_labels(table["_row"], file=False).to_numpy()
    if scoped is not None:
        table["left_out"] = orders["left_out"].map(lambda text: _left_out(text, scoped), na_action="ignore")
    return table


def _left_out(text: str, lang: str) -> str:
    """``ladder|product|P09;…`` as a clerk reads it: ``ladder: 产品 P09 不在适用范围``."""
    parts = []
    for item in text.split(";"):
        policy, what, value = item.split("|", 2)
        value = label(value, lang) if what == "channel" and value else value     # dealer → 经销商
        parts.append(label("left_out_because", lang).format(policy=policy, what=label(f"criterion_{what}", lang),
                                                            value=value or label("unknown_value", lang)))
    return "; ".join(parts)


def lines_table(s: Settlement, lang: str) -> pd.DataFrame:
    """The whole Lines sheet (see :func:`lines_rows`)."""
    return lines_rows(s, lang)(0, line_count(s))


def lines_by_customer(s: Settlement, lang: str) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each customer's rows of the Lines sheet, customer by customer, built CSV_CHUNK_ROWS rows at
    a time (a settlement out of core keeps its lines on disk: never all of them in memory)."""
    rows, total = lines_rows(s, lang), line_count(s)
    carry = None
    for start in range(0, total, sheet_layout.CSV_CHUNK_ROWS):
        part = rows(start, min(start + sheet_layout.CSV_CHUNK_ROWS, total))
        part = pd.concat([carry, part], ignore_index=True) if carry is not None else part
        last = part["customer_id"].iloc[-1]
        ends = (part["customer_id"] == last).to_numpy()        # the last customer may go on in the next chunk
        for customer, frame in part[~ends].groupby("customer_id", sort=False):
            yield customer, frame.reset_index(drop=True)
        carry = part[ends]
    if carry is not None and len(carry):
        yield str(carry["customer_id"].iloc[0]), carry.reset_index(drop=True)


def line_count(s: Settlement) -> int:
    """How many rebate lines the settlement has (on disk, when settled out of core)."""
    return s.detail.line_count if s.detail is not None else len(s.lines)


def lines_rows(s: Settlement, lang: str, finest: int | None = None) -> Callable[[int, int], pd.DataFrame]:
    """``rows(start, stop)``: rows ``start`` to ``stop`` of the Lines sheet, customer by customer
    and policy by policy (that order is worked out once), built column-wise as Arrow text. Settled
    out of core, the lines are on disk in that order already: read back a chunk at a time."""
    if s.detail is not None:
        def from_disk(start: int, stop: int) -> pd.DataFrame:
            part = s.detail.chunk("lines", start, stop)
            return lines_rows(replace(s, lines=part, detail=None), lang, s.detail.finest)(0, len(part))
        return from_disk
    L = lambda key: label(key, lang)  # noqa: E731
    lines = s.lines
    policies = s.campaign.rebate_policies
    order, _ = sheet_order(lines, [p.id for p in policies])
    names = {c.customer_id: c.customer_name for c in s.customers}
    headers = {p.id: policy_header(p, lang) for p in policies}
    kinds = {k: L(k) for k in pd.unique(lines["kind"])}
    source = s.ledgers.purchases
    finest = finest or (int(lines["scale"].max()) if len(lines) else 2)

    def rows(start: int, stop: int) -> pd.DataFrame:
        part = lines.take(order[start:stop]).reset_index(drop=True)
        source_rows = part["source_row"]
        ref = pa.array(part["ref"], type=pa.string(), from_pandas=True)
        kind = part["kind"].to_numpy(dtype=object)
        origin = pc.if_else(pa.array(kind == "group-share"),
                            pc.binary_join_element_wise(L("group_rows") + " ", ref, ""),
                            pc.if_else(pa.array((kind == "cap") | (kind == "budget-cap")), L("cap_rows"),
                                       L("customer_rows")))
        if source is not None:
            where = pa.array(source.row_labels(source_rows.fillna(0)), type=pa.string(), from_pandas=True)
            origin = pc.if_else(pa.array(source_rows.notna().to_numpy()), where, origin)
        params = {name[len(NOTE_PREFIX):]: part[name].array for name in part.columns if name.startswith(NOTE_PREFIX)}
        return pd.DataFrame({
            "customer_id": part["customer_id"], "customer_name": _lookup(part["customer_id"], names, ""),
            "policy": _lookup(part["policy_id"], headers), "kind": _lookup(part["kind"], kinds), "ref": part["ref"],
            "lower": part["lower"], "upper": part["upper"], "base": part["base"], "rate": part["rate"],
            "exact": exact_texts(part, finest), "rebate": part["rebate"], "due_date": part["due_date"],
            "paid_on": part["paid_on"],
            "note": pd.arrays.ArrowExtensionArray(notes(part["note"], params, lang)),
            "source": pd.arrays.ArrowExtensionArray(origin)})
    return rows


def policy_rows(s: Settlement, lang: str) -> list[list[str]]:
    """Every policy parameter as (id, name, type, parameter, value) rows, written the way the
    campaign file writes them: ``2%``, ``from: 100000, rate: 2%``, 是/否, a blank for nothing."""
    rows = []
    for policy in s.campaign.policies:
        data = policy.model_dump(by_alias=True, exclude={"id", "name", "type"})
        for key, value in data.items():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                for i, item in enumerate(value, start=1):
                    rows.append([policy.id, policy.name, policy.type, f"{key}[{i}]", _show(key, item, lang)])
            elif isinstance(value, dict):
                for k, v in value.items():
                    if v is not None:
                        rows.append([policy.id, policy.name, policy.type, f"{key}.{k}", _show(k, v, lang)])
            elif value is not None:         # a parameter left out of the file is left out here too
                rows.append([policy.id, policy.name, policy.type, key, _show(key, value, lang)])
    budget = s.campaign.budget
    if budget is not None and budget.rebate_cap is not None:    # the campaign's own cap, as applied to them all
        rows.append(["", label("campaign", lang), "budget", "rebate_cap",
                     _show("rebate_cap", budget.rebate_cap.model_dump(), lang)])
    return rows


RATE_KEYS = ("rate", "discount", "top_percent")


def _show(key: str, value, lang: str, nested: bool = False) -> str:
    """A parameter's value as a person writes it in the campaign file (YAML flow style inside)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return label("yes" if value else "no", lang)
    if isinstance(value, Decimal):
        return format_rate(value) if key.endswith(RATE_KEYS) else f"{value.normalize():f}"
    if isinstance(value, dict):
        inner = ", ".join(f"{k}: {_show(k, v, lang, True)}" for k, v in value.items() if v is not None)
        return f"{{{inner}}}" if nested else inner
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_show(key, v, lang, True) for v in value)
        return f"[{inner}]" if nested else inner
    return str(value)
