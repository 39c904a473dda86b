"""``budget.xlsx``: the plan's budget lines, contingency and total, planned and with the
settled rebate, as live formulas with their values cached."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from promo_cli.budget import COST_KINDS, budget_figures, campaign_costs, gift_plans, planned_costs
from promo_cli.evaluation import monthly_sales
from promo_cli.i18n import label
from promo_cli.io.writers.rebate_detail import policy_header, title_pairs
from promo_cli.io.writers.sheet import (
    close_book,
    Col,
    Styles,
    cell,
    new_workbook,
    write_table,
    write_title,
)
from promo_cli.model import Budget, Settlement
from promo_cli.money import cents_to_decimal, round_cents, to_cents


def write_budget(s: Settlement, path: Path, lang: str, generated_at: datetime, side=None,
                 detail_rows: int | None = None, detail_format: str = "csv") -> None:
    """Write the budget workbook to ``path``."""
    budget = s.campaign.budget or Budget()
    book = new_workbook(path)
    styles = Styles(book)
    L = lambda key: label(key, lang)  # noqa: E731
    sheet = book.add_worksheet("Budget")
    top = write_title(sheet, styles, L("budget_total"), title_pairs(s, lang, generated_at))
    by_policy = s.total_by_policy()
    costs = campaign_costs(s)
    settled = sum(costs.values())
    rows: list[list] = []
    for section in ("promotion", "customer_service", "other"):
        for item, amount in getattr(budget, section).items():
            cents = round_cents(amount)
            rows.append([L(section), L(item), cents, cents])
    rows += giveaway_rows(s, costs, lang)
    columns = [Col(L("category"), "text"), Col(L("item"), "text"), Col(L("planned"), "money", total=True),
               Col(L("actual_cost"), "money", total=True), Col(L("variance"), "formula"),
               Col(L("variance_pct"), "rate")]
    first = top + 1
    figures = budget_figures(budget, settled, sum(planned_costs(s.campaign).values()))
    for r, row in enumerate(rows):
        excel_row = first + r
        variance = row[3] - row[2]
        row += [(f"={cell(excel_row, 3)}-{cell(excel_row, 2)}", cents_to_decimal(variance)),
                None if row[2] == 0 else Decimal(variance) / Decimal(row[2])]
    layout = write_table(sheet, styles, columns, rows, top=top, totals_label=L("subtotal"),
                         row_formula=lambda r, j: rows[r - first][4])
    sub = layout["totals_row"]
    rate = budget.contingency_rate
    sheet.write_string(sub + 1, 0, L("contingency"), styles.total_label)
    sheet.write_number(sub + 1, 1, rate, styles.rate)
    sheet.write_string(sub + 2, 0, L("budget_total"), styles.total_label)
    sheet.write_formula(sub + 1, 2, f"=ROUND({cell(sub, 2)}*{cell(sub + 1, 1)},2)", styles.total_money,
                        cents_to_decimal(figures["planned_contingency"]))
    sheet.write_number(sub + 1, 3, 0, styles.total_money)          # a reserve: planned, never spent
    sheet.write_string(sub + 1, 5, L("contingency_not_spent"), styles.text)
    for j, key in ((2, "planned"), (3, "actual")):
        sheet.write_formula(sub + 2, j, f"={cell(sub, j)}+{cell(sub + 1, j)}", styles.total_money,
                            cents_to_decimal(figures[f"{key}_total"]))
    sheet.write_formula(sub + 2, 4, f"={cell(sub + 2, 3)}-{cell(sub + 2, 2)}", styles.total_money,
                        cents_to_decimal(figures["actual_total"] - figures["planned_total"]))

    # Rebate by policy, as settled (a campaign without rebate policies has no such table).
    if s.campaign.rebate_policies:
        policy_columns = [Col(L("policy"), "text"), Col(L("rebate"), "money", total=True)]
        write_table(sheet, styles, policy_columns,
                    [[policy_header(p, lang), by_policy[p.id]] for p in s.campaign.rebate_policies],
                    top=sub + 4, totals_label=L("total"), secondary=True)

    chart = book.add_chart({"type": "bar"})
    for col, key in ((2, "planned"), (3, "actual_cost")):
        chart.add_series({"name": L(key), "categories": ["Budget", first, 1, first + len(rows) - 1, 1],
                          "values": ["Budget", first, col, first + len(rows) - 1, col]})
    chart.set_title({"name": f"{L('planned')} / {L('actual_cost')}"})
    chart.set_size({"width": 640, "height": 320})
    sheet.insert_chart(cell(top, 7), chart)

    if s.evaluation is not None and "sales" in s.evaluation:
        _write_evaluation(book, styles, s, lang)
    close_book(book)


def giveaway_rows(s: Settlement, costs: dict[str, int], lang: str) -> list[list]:
    """[category, item, planned cents, actual cents] of what the campaign gives away, by kind as
    planned (rebate estimate, ``budget.giveaways``) and as settled; gifts to recipients by class
    (planned recipients × (gifts × unit price + card) against the class's actual)."""
    L = lambda key: label(key, lang)  # noqa: E731
    planned = planned_costs(s.campaign)
    plans = {(policy, name): cents for policy, name, _, cents in gift_plans(s.campaign)}
    rows = []
    for kind in COST_KINDS:
        if kind == "gift_recipients":
            for policy in (p for p in s.campaign.policies if p.type == "gift"):
                by_class = s.loyalty[policy.id].totals["by_class"] if policy.id in s.loyalty else {}
                for klass in policy.classes:
                    actual = to_cents(by_class[klass.name]["total"]) if klass.name in by_class else 0
                    plan = plans.get((policy.id, klass.name), 0)
                    if plan or actual:
                        rows.append([L("rebate_cost"), f"{L(kind)}: {policy.name or policy.id} · {klass.name}",
                                     plan, actual])
            unallocated = planned.get(kind, 0) - sum(plans.values())
            if unallocated:
                rows.append([L("rebate_cost"), L(kind), unallocated, 0])
        elif (kind == "rebates" and s.campaign.rebate_policies) or planned.get(kind) or costs.get(kind):
            rows.append([L("rebate_cost"), L(kind), planned.get(kind, 0), costs.get(kind, 0)])
    return rows


def _write_evaluation(book, styles: Styles, s: Settlement, lang: str) -> None:
    """Campaign against its baselines, by product and channel; participants; cost and ROI; charts."""
    L = lambda key: label(key, lang)  # noqa: E731
    ev = s.evaluation
    sheet = book.add_worksheet("Evaluation")
    pct = lambda text: None if text is None else Decimal(text)  # noqa: E731
    money = lambda text: None if text is None else round_cents(Decimal(text))  # noqa: E731
    units = lambda text: None if text is None else Decimal(text)  # noqa: E731
    windows = [[L("campaign_window"), ev["window"]["start"], ev["window"]["end"], money(ev["sales"]), None,
                units(ev.get("volume")), None]]
    for key, base in ev["baselines"].items():
        windows.append([L(key), base["start"], base["end"], money(base["sales"]), pct(base["growth"]),
                        units(base.get("volume")), pct(base.get("volume_growth"))])
    columns = [Col(L("window"), "text"), Col(L("from"), "text"), Col(L("to"), "text"),
               Col(L("sales"), "money"), Col(L("growth"), "rate"), Col(L("volume"), "number"),
               Col(L("volume_growth"), "rate")]
    layout = write_table(sheet, styles, columns, windows)
    r = layout["last"] + 2
    facts = [[L("participants"), ev["participants"]["total"], None], [L("new_customers"), ev["participants"]["new"], None],
             [L("returning_customers"), ev["participants"]["returning"], None],
             [L("campaign_cost"), None, money(ev["campaign_cost"])], [L("budget_total"), None, money(ev["budget_total"])],
             [L("incremental_sales"), None, money(ev["incremental_sales"])],
             [L("incremental_margin"), None, money(ev["incremental_margin"])]]
    layout = write_table(sheet, styles, [Col(L("item"), "text"), Col(L("count"), "int"), Col(L("amount"), "money")],
                         facts, top=r, secondary=True)
    r = layout["last"] + 1
    sheet.write_string(r, 0, "ROI", styles.label)
    if ev["roi"] is not None:
        sheet.write_number(r, 2, Decimal(ev["roi"]), styles.rate)
    r += 2
    for key, name in (("by_product", "product"), ("by_channel", "channel")):
        rows = [[item[name] if key == "by_product" else L(item[name]), money(item["sales"]), money(item["year_ago"]),
                 pct(item["growth"])] for item in ev[key]]
        layout = write_table(sheet, styles, [Col(L(name), "text"), Col(L("sales"), "money", total=True),
                                             Col(L("year_ago"), "money", total=True), Col(L("growth"), "rate")],
                             rows, top=r, totals_label=L("total"), secondary=True)
        r = layout["totals_row"] + 2
    months = dict(monthly_sales(s.orders))
    if s.ledgers.baseline is not None:
        months = {**dict(monthly_sales(s.ledgers.baseline.frame)), **months}
    months = sorted(months.items())
    start, end = ev["window"]["start"][:7], ev["window"]["end"][:7]
    layout = write_table(sheet, styles, [Col(L("month"), "text"), Col(L("sales"), "money"),
                                         Col(L("in_campaign"), "text")],
                         [[m, cents, L("yes") if start <= m <= end else L("no")] for m, cents in months], top=r,
                         secondary=True)
    if months:
        chart = book.add_chart({"type": "column"})
        chart.add_series({"name": L("sales"), "categories": ["Evaluation", layout["first"], 0, layout["last"], 0],
                          "values": ["Evaluation", layout["first"], 1, layout["last"], 1]})
        chart.set_title({"name": L("sales_by_month")})
        chart.set_y_axis({"min": 0})
        chart.set_legend({"none": True})
        chart.set_size({"width": 640, "height": 300})
        sheet.insert_chart("G2", chart)
    compare = book.add_chart({"type": "column"})
    compare.add_series({"name": L("sales"), "categories": ["Evaluation", 1, 0, len(windows), 0],
                        "values": ["Evaluation", 1, 3, len(windows), 3]})
    compare.set_title({"name": L("baseline_vs_campaign")})
    compare.set_legend({"none": True})
    compare.set_y_axis({"min": 0})
    compare.set_size({"width": 640, "height": 300})
    sheet.insert_chart("G18", compare)
