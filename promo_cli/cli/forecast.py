"""``promo forecast``: the cost of a campaign before launch."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from promo_cli.cli.lang import _
from promo_cli.cli.common import (
    DEFAULT_LANG,
    EXIT_INVALID,
    EXIT_OK,
    CampaignArg,
    CustomersOpt,
    JsonOpt,
    LangOpt,
    PaymentsOpt,
    app,
    guarded,
    report_invalid,
)
from promo_cli.i18n import label


@app.command("forecast")
@guarded
def forecast_command(campaign: CampaignArg,
                     purchases: Annotated[Path, typer.Option("--purchases", help="A past purchase ledger to replay.")],
                     payments: PaymentsOpt = None, customers: CustomersOpt = None,
                     growth: Annotated[str, typer.Option("--growth", help="Expected growth, e.g. 0.1 or 10%.")] = "0%",
                     shift_days: Annotated[Optional[int], typer.Option(
                         "--shift-days", help="Move the ledger by this many days (default: whole years).")] = None,
                     compare: Annotated[Optional[list[Path]], typer.Option(
                         "--compare", help="Another campaign file to cost on the same replay (repeatable).")] = None,
                     lang: LangOpt = DEFAULT_LANG, json: JsonOpt = False) -> None:
    """Estimate the rebate cost and budget before launch by replaying a past ledger."""
    from promo_cli.forecast import forecast
    from promo_cli.io.writers.summary_json import dumps
    from promo_cli.money import format_display, format_rate, parse_rate, round_cents
    try:
        rate = parse_rate(growth)
    except ValueError:
        raise typer.BadParameter(_("'{value}' is not a rate like 0.1 or 10%").format(value=growth),
                                 param_hint="--growth") from None
    results, findings = forecast([campaign, *(compare or [])], purchases, payments, customers, rate, shift_days)
    if results is None:
        report_invalid(findings, lang.value, json)
        raise typer.Exit(EXIT_INVALID)
    if json:
        sys.stdout.write(dumps({"growth": str(rate), "campaigns": results}))
        raise typer.Exit(EXIT_OK)
    L = lambda key: label(key, lang.value)  # noqa: E731
    amount, unit = results[0]["shift"].split()
    Console().print(f"{L('forecast')} · {L('growth')} {format_rate(rate)} · {L('shift_' + unit).format(n=amount)}",
                    highlight=False, soft_wrap=True)
    table = Table()
    table.add_column("")
    for result in results:
        table.add_column(result["campaign_id"], justify="right", no_wrap=True)
    table.add_row(L("participants"), *(str(r["participants"]) for r in results))
    table.add_row(L("sales"), *(format_display(round_cents(Decimal(r["sales"]))) for r in results))
    for pid in dict.fromkeys(pid for r in results for pid in r["by_policy"]):
        table.add_row(pid, *(format_display(round_cents(Decimal(r["by_policy"][pid]))) if pid in r["by_policy"]
                             else "—" for r in results))
    for key, name in (("rebate", "rebate_cost"), ("contingency", "contingency"), ("budget_total", "budget_total")):
        table.add_row(f"[bold]{L(name)}[/]" if key != "contingency" else L(name),
                      *(format_display(round_cents(Decimal(r[key]))) if r[key] is not None else "—" for r in results))
    Console().print(table)
    if payments is None:
        Console().print({"zh": "未给付款台账:按全部订单在到期日全额付款估算(最高成本)",
                         "en": "no payment ledger given: every order is taken as paid in full on its due date "
                               "(the highest cost)"}[lang.value], soft_wrap=True)
    raise typer.Exit(EXIT_OK)
