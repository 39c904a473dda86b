"""The ``promo`` command line: parses options, calls the pipeline, renders, exits.

Exit codes: 0 settled with no error findings; 1 an input or the campaign file is
invalid (nothing written); 2 usage error; 3 settled but error findings need review
(all outputs written); 4 an unexpected internal error (nothing written; a crash
log is kept for the report).
"""

from __future__ import annotations

import functools
import sys
import tempfile
import traceback
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from promo_cli import __version__
from promo_cli.engine import load, settle
from promo_cli.i18n import label
from promo_cli.io.inspect import Limits
from promo_cli.io.writers import write_outputs
from promo_cli.io.writers.summary_json import dumps, invalid_dict, summary_dict
from promo_cli.messages import location, message, render
from promo_cli.model import SEVERITIES, Finding, Settlement
from promo_cli.money import format_display

DEFAULT_LIMITS = Limits()
EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_REVIEW, EXIT_INTERNAL = 0, 1, 2, 3, 4
SHOWN_PER_SEVERITY = 25

app = typer.Typer(name="promo", help="Month-end settlement of sales-promotion campaigns.",
                  add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True)


class Lang(str, Enum):
    zh = "zh"
    en = "en"


CampaignArg = Annotated[Path, typer.Argument(help="The campaign file (YAML).", show_default=False)]
PurchasesOpt = Annotated[Optional[Path], typer.Option("--purchases", help="Purchase ledger (xlsx, xls, csv).")]
PaymentsOpt = Annotated[Optional[Path], typer.Option("--payments", help="Payment ledger (xlsx, xls, csv).")]
DepositsOpt = Annotated[Optional[Path], typer.Option("--deposits", help="Prepaid deposit ledger.")]
CustomersOpt = Annotated[Optional[Path], typer.Option("--customers", help="Customer master data.")]
AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", metavar="YYYY-MM-DD",
                                                help="Settle as of this date (default: the period end).")]
LangOpt = Annotated[Lang, typer.Option("--lang", help="Language of headers and messages.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print summary.json to stdout instead of the summary.")]
MaxUnzippedOpt = Annotated[int, typer.Option(
    "--max-unzipped-mb", min=1, help="Refuse a workbook that unpacks to more than this (protects memory).")]
MaxRatioOpt = Annotated[int, typer.Option(
    "--max-zip-ratio", min=1, help="Refuse a workbook part packed more than this many times (zip bombs).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing unless something is wrong.")]


def _guarded(command):
    """Turn any unexpected exception into a short message, a crash log and exit 4."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except KeyboardInterrupt:
            Console(stderr=True).print("interrupted; nothing was written")
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - the one place that catches everything
            handle, log = tempfile.mkstemp(prefix="promo-crash-", suffix=".log")
            with open(handle, "w", encoding="utf-8") as out:
                out.write(f"promo {__version__}\nargv: {sys.argv}\n\n{traceback.format_exc()}")
            Console(stderr=True).print(
                f"[bold red]promo: unexpected internal error[/] ({type(exc).__name__}: {exc}).\n"
                f"Nothing was written. Please report this with the file {log} "
                f"and the command you ran (promo {__version__}).", highlight=False)
            raise typer.Exit(EXIT_INTERNAL) from None
    return wrapper


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-30", param_hint="--as-of") from None


def _run(campaign: Path, purchases, payments, deposits, customers, as_of: str | None, limits: Limits
         ) -> tuple[Settlement | None, list[Finding]]:
    overrides = {"purchases": purchases, "payments": payments, "deposits": deposits,
                 "customers": customers}
    loaded, findings = load(campaign, overrides, _as_of(as_of), limits)
    if loaded is None:
        return None, findings
    return settle(loaded, findings), findings


@app.command("settle")
@_guarded
def settle_command(campaign: CampaignArg,
                   out: Annotated[Path, typer.Option("--out", help="Folder for the outputs (created if missing).")],
                   purchases: PurchasesOpt = None, payments: PaymentsOpt = None,
                   deposits: DepositsOpt = None, customers: CustomersOpt = None,
                   as_of: AsOfOpt = None, lang: LangOpt = Lang.zh,
                   json: JsonOpt = False, quiet: QuietOpt = False,
                   max_unzipped_mb: MaxUnzippedOpt = DEFAULT_LIMITS.max_unzipped_mb,
                   max_zip_ratio: MaxRatioOpt = DEFAULT_LIMITS.max_zip_ratio) -> None:
    """Settle a campaign: write rebate_detail.xlsx, budget.xlsx, audit_report.xlsx and summary.json."""
    settlement, findings = _run(campaign, purchases, payments, deposits, customers, as_of,
                                Limits(max_unzipped_mb=max_unzipped_mb, max_zip_ratio=max_zip_ratio))
    console = Console(stderr=json)
    if settlement is None:
        _report_invalid(findings, lang.value, json)
        raise typer.Exit(EXIT_INVALID)
    written = write_outputs(settlement, out, lang.value)
    if json:
        sys.stdout.write(dumps(summary_dict(settlement, lang.value)))
    elif not quiet:
        _print_summary(console, settlement, lang.value)
        console.print(f"{label('written', lang.value)}: " + ", ".join(str(p) for p in written),
                      soft_wrap=True)
        _print_findings(console, list(settlement.findings), lang.value, only_errors=False)
        console.print(f"{label('audit_report', lang.value)}: {out / 'audit_report.xlsx'}", soft_wrap=True)
    elif settlement.status != "ok":
        _print_findings(Console(stderr=True), list(settlement.findings), lang.value, only_errors=True)
    raise typer.Exit(EXIT_OK if settlement.status == "ok" else EXIT_REVIEW)


@app.command("validate")
@_guarded
def validate_command(campaign: CampaignArg, purchases: PurchasesOpt = None, payments: PaymentsOpt = None,
                     deposits: DepositsOpt = None, customers: CustomersOpt = None,
                     as_of: AsOfOpt = None, lang: LangOpt = Lang.zh,
                     json: JsonOpt = False, quiet: QuietOpt = False,
                     max_unzipped_mb: MaxUnzippedOpt = DEFAULT_LIMITS.max_unzipped_mb,
                     max_zip_ratio: MaxRatioOpt = DEFAULT_LIMITS.max_zip_ratio) -> None:
    """Check the campaign file and the ledgers and run every check; write nothing."""
    settlement, findings = _run(campaign, purchases, payments, deposits, customers, as_of,
                                Limits(max_unzipped_mb=max_unzipped_mb, max_zip_ratio=max_zip_ratio))
    if settlement is None:
        _report_invalid(findings, lang.value, json)
        raise typer.Exit(EXIT_INVALID)
    if json:
        sys.stdout.write(dumps(summary_dict(settlement, lang.value)))
    elif not quiet or settlement.status != "ok":
        _print_findings(Console(), list(settlement.findings), lang.value, only_errors=quiet)
    raise typer.Exit(EXIT_OK if settlement.status == "ok" else EXIT_REVIEW)


@app.command("version")
def version_command() -> None:
    """Print the version of promo."""
    print(f"promo {__version__}")


def _report_invalid(findings: list[Finding], lang: str, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(dumps(invalid_dict(findings, lang)))
        return
    console = Console(stderr=True)
    _print_findings(console, findings, lang, only_errors=False)
    console.print(f"[bold red]{label('nothing_written', lang)}[/]")


def _print_findings(console: Console, findings: list[Finding], lang: str, only_errors: bool) -> None:
    """A table per severity on a terminal, one line per finding elsewhere (logs, pipes);
    at most SHOWN_PER_SEVERITY of each severity, then the counts."""
    styles = {"error": "bold red", "warning": "yellow", "info": "cyan"}
    for severity in SEVERITIES:
        group = [f for f in findings if f.severity == severity]
        if not group or (only_errors and severity != "error"):
            continue
        if not console.is_terminal:
            for f in group[:SHOWN_PER_SEVERITY]:
                console.print(f"{label(severity, lang)}: {render(f, lang)}", soft_wrap=True,
                              highlight=False, markup=False)
            if len(group) > SHOWN_PER_SEVERITY:
                console.print(f"{label(severity, lang)}: … +{len(group) - SHOWN_PER_SEVERITY} "
                              "(audit_report.xlsx)", highlight=False)
            continue
        table = Table(title=f"{label(severity, lang)} ({len(group)})", title_style=styles[severity],
                      title_justify="left", show_lines=False, expand=False)
        table.add_column(label("cell", lang), overflow="fold", max_width=48)
        table.add_column(label("code", lang), style="dim")
        table.add_column(label("message", lang), overflow="fold")
        for f in group[:SHOWN_PER_SEVERITY]:
            table.add_row(location(f), f.code, message(f, lang))
        if len(group) > SHOWN_PER_SEVERITY:
            table.add_row("…", "", f"+{len(group) - SHOWN_PER_SEVERITY} (audit_report.xlsx)")
        console.print(table)
    counts = ", ".join(f"{label(sev, lang)} {sum(1 for f in findings if f.severity == sev)}"
                       for sev in SEVERITIES)
    console.print(f"{label('findings', lang)}: {counts}")


def _print_summary(console: Console, s: Settlement, lang: str) -> None:
    info = s.campaign.campaign
    console.print(f"[bold]{info.name or info.id}[/] · {label('as_of', lang)} {s.as_of:%Y-%m-%d} · "
                  f"{label(s.status, lang)}", highlight=False)
    if s.campaign.rebate_policies:
        table = Table(title_justify="left")
        table.add_column(label("policy", lang))
        table.add_column(label("rebate", lang), justify="right")
        by_policy = s.total_by_policy()
        for policy in s.campaign.rebate_policies:
            table.add_row(f"{policy.name} ({policy.id})" if policy.name else policy.id,
                          format_display(by_policy[policy.id]))
        table.add_row(f"[bold]{label('total_rebate', lang)}[/]",
                      f"[bold]{format_display(sum(by_policy.values()))}[/]")
        console.print(table)
        console.print(f"{label('customers', lang)}: {len(s.customers)} · {label('purchase_amount', lang)}: "
                      f"{format_display(sum(c.purchase_amount for c in s.customers))} {info.currency}")
    for policy_id, result in s.deposits.items():
        totals = result.totals()
        table = Table(title=policy_id, title_justify="left", show_header=False)
        table.add_column()
        table.add_column(justify="right", no_wrap=True)
        for key, total in (("deposited", "deposited"), ("bonus", "bonus"), ("consumed", "consumed"),
                           ("expired", "expired"), ("closing", "closing_balance")):
            table.add_row(label(key, lang), format_display(totals[total]))
        table.add_row(label("cap-violation", lang), str(len(result.cap_violations)))
        table.add_row(label("overdraft", lang), str(len(result.overdrafts)))
        console.print(table)


def main() -> None:
    """Console-script entry point."""
    app()
