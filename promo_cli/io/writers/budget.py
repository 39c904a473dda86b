"""``budget.xlsx``: the plan's budget lines, contingency and total, planned and with the
settled rebate, as live formulas with their values cached."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from promo_cli.i18n import label
from promo_cli.io.writers.rebate_detail import policy_header, title_pairs
from promo_cli.io.writers.sheet import Col, Styles, cell, new_workbook, write_table, write_title
from promo_cli.model import Budget, Settlement
from promo_cli.money import cents_to_decimal, round_cents


def budget_figures(budget: Budget, settled_rebate: int) -> dict[str, int]:
    """Return the budget totals in cents: planned and with the settled rebate.

    contingency = contingency_rate × (promotion + rebate + service + other), rounded
    half-up to the cent; total = that sum + contingency (the source plan's formula).
    """
    base = sum(round_cents(v) for section in (budget.promotion, budget.customer_service, budget.other)
               for v in section.values())
    out = {}
    for key, rebate in (("planned", round_cents(budget.rebate_estimate)), ("actual", settled_rebate)):
        subtotal = base + rebate
        contingency = round_cents(budget.contingency_rate * Decimal(subtotal) / 100)
        out[f"{key}_subtotal"], out[f"{key}_contingency"] = subtotal, contingency
        out[f"{key}_total"] = subtotal + contingency
    return out


def write_budget(s: Settlement, path: Path, lang: str, generated_at: datetime, side=None) -> None:
    """Write the budget workbook to ``path``."""
    budget = s.campaign.budget or Budget()
    book = new_workbook(path)
    styles = Styles(book)
    L = lambda key: label(key, lang)  # noqa: E731
    sheet = book.add_worksheet("Budget")
    top = write_title(sheet, styles, L("budget_total"), title_pairs(s, lang, generated_at))
    by_policy = s.total_by_policy()
    settled = sum(by_policy.values())
    rows: list[list] = []
    for section in ("promotion", "customer_service", "other"):
        for item, amount in getattr(budget, section).items():
            cents = round_cents(amount)
            rows.append([L(section), L(item), cents, cents])
    rows.append([L("rebate_cost"), L("rebate_estimate"), round_cents(budget.rebate_estimate), settled])
    columns = [Col(L("category"), "text"), Col(L("item"), "text"), Col(L("planned"), "money", total=True),
               Col(L("actual"), "money", total=True), Col(L("variance"), "formula"),
               Col(L("variance_pct"), "rate")]
    first = top + 1
    figures = budget_figures(budget, settled)
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
    for j, key in ((2, "planned"), (3, "actual")):
        sheet.write_formula(sub + 1, j, f"=ROUND({cell(sub, j)}*{cell(sub + 1, 1)},2)", styles.total_money,
                            cents_to_decimal(figures[f"{key}_contingency"]))
        sheet.write_formula(sub + 2, j, f"={cell(sub, j)}+{cell(sub + 1, j)}", styles.total_money,
                            cents_to_decimal(figures[f"{key}_total"]))
    sheet.write_formula(sub + 2, 4, f"={cell(sub + 2, 3)}-{cell(sub + 2, 2)}", styles.total_money,
                        cents_to_decimal(figures["actual_total"] - figures["planned_total"]))

    # Rebate by policy, as settled.
    r0 = sub + 4
    policy_columns = [Col(L("policy"), "text"), Col(L("rebate"), "money", total=True)]
    write_table(sheet, styles, policy_columns,
                [[policy_header(p, lang), by_policy[p.id]] for p in s.campaign.rebate_policies],
                top=r0, totals_label=L("total"))
    sheet.freeze_panes(top + 1, 0)
    book.close()
