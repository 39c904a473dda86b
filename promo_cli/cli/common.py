"""Shared by the ``promo`` commands: the Typer app, options, exit codes, the guard that keeps
tracebacks from users, the run log, and the rendering of findings and summaries.

Exit codes: 0 settled with no error findings; 1 an input or the campaign file is
invalid (nothing written); 2 usage error; 3 settled but error findings need review
(all outputs written); 4 an unexpected internal error (nothing written; a crash
log is kept for the report); 5 an approved as-of date (needs --reopen); 6 another run
holds the lock; 7 the outputs could not be written (permissions, disk full).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import tempfile
import traceback
from contextlib import contextmanager
from datetime import date
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from promo_cli.cli.lang import _, detect, usage_error
from promo_cli import __version__
from promo_cli.i18n import engine_text, label
from promo_cli.io.inspect import Limits

if TYPE_CHECKING:
    from promo_cli.history import HistoryError
    from promo_cli.model import Finding, Settlement

DEFAULT_LIMITS = Limits()
EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_REVIEW, EXIT_INTERNAL = 0, 1, 2, 3, 4
EXIT_WRITE = 7
SHOWN_PER_SEVERITY = 25

app = typer.Typer(name="promo", help="Month-end settlement of sales-promotion campaigns.",
                  add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True)


class Lang(str, Enum):
    zh = "zh"
    en = "en"


# --lang's default: the user's language (PROMO_LANG, else the locale; Chinese when neither says)
DEFAULT_LANG = Lang(detect([], os.environ))


CampaignArg = Annotated[Path, typer.Argument(help="The campaign file (YAML).", show_default=False)]
PurchasesOpt = Annotated[Optional[Path], typer.Option("--purchases", help="Purchase ledger (xlsx, xls, csv).")]
PaymentsOpt = Annotated[Optional[Path], typer.Option("--payments", help="Payment ledger (xlsx, xls, csv).")]
DepositsOpt = Annotated[Optional[list[Path]], typer.Option(
    "--deposits", help="Prepaid deposit ledger; repeat it for one file per store or month.")]
CustomersOpt = Annotated[Optional[Path], typer.Option("--customers", help="Customer master data.")]
TargetsOpt = Annotated[Optional[Path], typer.Option(
    "--targets", help="Customers the campaign targeted (a customer_id column), for the response rate.")]
BaselineOpt = Annotated[Optional[Path], typer.Option(
    "--baseline", help="Purchase ledger of an earlier period to evaluate the campaign against.")]
AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", metavar="YYYY-MM-DD",
                                                help="Settle as of this date (default: the period end, or today while the period runs).")]
LangOpt = Annotated[Lang, typer.Option("--lang", help="Language of headers and messages.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print summary.json to stdout instead of the summary.")]
MaxUnzippedOpt = Annotated[int, typer.Option(
    "--max-unzipped-mb", min=1, help="Refuse a workbook that unpacks to more than this (protects memory).")]
MaxRatioOpt = Annotated[int, typer.Option(
    "--max-zip-ratio", min=1, help="Refuse a workbook part packed more than this many times (zip bombs).")]
class Engine(str, Enum):
    local = "local"
    duckdb = "duckdb"
    spark = "spark"


EngineOpt = Annotated[Optional[Engine], typer.Option(
    "--engine", help="Where the rebate policies run: local (in memory, in this process), duckdb (partitions of "
                     "whole customers, settled on every core) or spark (the same partitions on a Spark cluster). "
                     "Same figures on each. Default: the campaign's engine, else duckdb for Parquet and SQL "
                     "ledgers and local for spreadsheets.")]
SparkMasterOpt = Annotated[Optional[str], typer.Option(
    "--spark-master", metavar="URL", help="The Spark cluster of --engine spark: spark://host:7077, yarn, "
                                          "k8s://… (default: $PROMO_SPARK_MASTER, else local[*] on this machine).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing unless something is wrong.")]


HistoryOpt = Annotated[Optional[Path], typer.Option(
    "--history", help="Settlement history file (default: promo-history.sqlite next to the campaign).")]


CampaignOpt = Annotated[Optional[Path], typer.Option("--campaign", help="Use the history next to this campaign file.")]


def _work_folder_failed(exc: Exception, kwargs: dict) -> bool:
    """Say so when ``exc`` is a settlement in batches whose temporary folder could not be written
    (a full disk: not a bug to report)."""
    outofcore = sys.modules.get("promo_cli.engines.outofcore")     # only a run that settled in batches
    if outofcore is None or not isinstance(exc, outofcore.WorkFolderError):
        return False
    from promo_cli.messages import message, os_reason
    from promo_cli.model import finding
    lang = kwargs["lang"].value if isinstance(kwargs.get("lang"), Lang) else detect(sys.argv, os.environ)
    reason = os_reason(exc.exc) if isinstance(exc.exc, OSError) else str(exc.exc).splitlines()[0]
    text = message(finding("error", "work-folder-failed", folder=exc.folder, reason=reason), lang)
    Console(stderr=True).print(f"[bold red]{text}[/]", highlight=False, soft_wrap=True)
    return True


def guarded(command):
    """Turn any unexpected exception into a short message, a crash log and exit 4."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except typer.BadParameter as exc:       # an option's value, found wrong by the command itself
            raise usage_error(exc) from None
        except KeyboardInterrupt:
            Console(stderr=True).print(_("interrupted; nothing was written"))
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - the one place that catches everything
            if _work_folder_failed(exc, kwargs):
                raise typer.Exit(EXIT_WRITE) from None
            handle, log = tempfile.mkstemp(prefix="promo-crash-", suffix=".log")
            with open(handle, "w", encoding="utf-8") as out:
                out.write(f"promo {__version__}\nargv: {sys.argv}\n\n{traceback.format_exc()}")
            Console(stderr=True).print(
                f"[bold red]{_('promo: unexpected internal error')}[/] ({type(exc).__name__}: {exc}).\n"
                + _("Nothing was written. Please report this with the file {log} and the command you ran "
                    "(promo {version}).").format(log=log, version=__version__), highlight=False)
            raise typer.Exit(EXIT_INTERNAL) from None
    return wrapper


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(_("'{value}' is not a date like 2026-11-30").format(value=value),
                                 param_hint="--as-of") from None


def run_pipeline(campaign: Path, purchases, payments, deposits, customers, as_of: str | None, limits: Limits,
                 extra: tuple[Path | None, Path | None] = (None, None), progress=None, engine: Engine | None = None,
                 spark_master: str | None = None) -> tuple[Settlement | None, list[Finding]]:
    """Read and settle; ``progress`` (see :class:`Bars`) tells a person where the run is."""
    from promo_cli.engine import load, settle
    overrides = {"purchases": purchases, "payments": payments, "deposits": deposits,
                 "customers": customers, "baseline": extra[0], "targets": extra[1]}
    loaded, findings = load(campaign, overrides, _as_of(as_of), limits, progress=progress,
                            engine=engine.value if engine else None, master=spark_master)
    if loaded is None:
        return None, findings
    from promo_cli.engines import EngineError
    from promo_cli.model import finding
    try:
        return settle(loaded, findings, progress=progress), findings
    except EngineError as exc:          # a cluster that does not answer: nothing settled, nothing written
        return None, findings + [finding("error", "engine-failed", file=campaign.name, blocking=True,
                                         engine=loaded.engine, reason=str(exc))]


class Bars:
    """Progress bars for reading, settling and writing, on stderr when it is a terminal and the
    run is not --quiet or --json; otherwise nothing at all (no control characters).

    The pipeline calls ``bars(stage, what=…, total=…)``: ``total`` sizes a stage's bar, ``what``
    (a file, a policy, an output) marks one step of it done."""

    def __init__(self, visible: bool, lang: str) -> None:
        console = Console(stderr=True)
        self.lang = lang
        self.bars = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                             MofNCompleteColumn(), TextColumn("{task.fields[what]}"), TimeElapsedColumn(),
                             console=console, transient=False) \
            if visible and console.is_terminal else None
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> "Bars":
        if self.bars is not None:
            self.bars.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Leave the bars as they are, before the run prints its result."""
        if self.bars is not None:
            self.bars.stop()
            self.bars = None

    def __call__(self, stage: str, what: str | None = None, total: int | None = None) -> None:
        if self.bars is None:
            return
        if stage not in self.tasks:
            self.tasks[stage] = self.bars.add_task(label(f"stage-{stage}", self.lang), total=total, what="")
        elif total is not None:
            self.bars.update(self.tasks[stage], total=total)
        if what is not None:
            self.bars.update(self.tasks[stage], advance=1, what=what)


def refuse(exc: HistoryError, lang: str, log) -> None:
    from promo_cli.messages import message
    from promo_cli.model import finding
    text = message(finding("error", exc.key, **exc.params), lang)
    Console(stderr=True).print(f"[bold red]{text}[/]", highlight=False, soft_wrap=True)
    log.info("refused: %s", text)


@contextmanager
def run_log(path: Path | None):
    """A logger that appends timestamped lines to ``path`` (or discards them)."""
    log = logging.getLogger(f"promo.run.{id(path)}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler: logging.Handler = logging.NullHandler()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s pid=%(process)d %(message)s", "%Y-%m-%d %H:%M:%S"))
    log.addHandler(handler)
    try:
        yield log
    finally:
        log.removeHandler(handler)
        handler.close()


LOGGED_FINDINGS = 50


def log_findings(log, findings: list[Finding], lang: str, rest: str) -> None:
    """Every finding in the run log, most severe first, one line each: the first
    LOGGED_FINDINGS, then how many more and where they are (``rest``)."""
    from promo_cli.messages import render
    from promo_cli.model import SEVERITIES
    order = {sev: i for i, sev in enumerate(SEVERITIES)}
    ranked = sorted(findings, key=lambda f: order[f.severity])
    for f in ranked[:LOGGED_FINDINGS]:
        log.info("%s: %s", label(f.severity, lang), render(f, lang))
    if len(ranked) > LOGGED_FINDINGS:
        log.info("… %d more findings: %s", len(ranked) - LOGGED_FINDINGS, rest)


def report_invalid(findings: list[Finding], lang: str, as_json: bool) -> None:
    from promo_cli.io.writers.summary_json import dumps, invalid_dict
    if as_json:
        sys.stdout.write(dumps(invalid_dict(findings, lang)))
        return
    console = Console(stderr=True)
    print_findings(console, findings, lang, only_errors=False)
    console.print(f"[bold red]{label('nothing_written', lang)}[/]")


def print_findings(console: Console, findings: list[Finding], lang: str, only_errors: bool) -> None:
    """A table per severity on a terminal, one line per finding elsewhere (logs, pipes);
    at most SHOWN_PER_SEVERITY of each severity, then the counts."""
    from promo_cli.messages import location, message, render
    from promo_cli.model import SEVERITIES
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
            table.add_row(location(f, lang), f.code, message(f, lang))
        if len(group) > SHOWN_PER_SEVERITY:
            table.add_row("…", "", f"+{len(group) - SHOWN_PER_SEVERITY} (audit_report.xlsx)")
        console.print(table)
    counts = ", ".join(f"{label(sev, lang)} {sum(1 for f in findings if f.severity == sev)}"
                       for sev in SEVERITIES)
    console.print(f"{label('findings', lang)}: {counts}")


def print_summary(console: Console, s: Settlement, lang: str) -> None:
    from promo_cli.budget import COST_KINDS, campaign_costs, planned_costs
    from promo_cli.money import format_display
    info = s.campaign.campaign
    on = "" if s.engine.get("name", "local") == "local" else \
        f" · {label('settled_on', lang)} {engine_text(s.engine, lang)}"
    console.print(f"[bold]{info.name or info.id}[/] · {label('as_of', lang)} {s.as_of:%Y-%m-%d} · "
                  f"{label(s.status, lang)}{on}", highlight=False)
    if s.campaign.rebate_policies:
        table = Table(title_justify="left")
        table.add_column(label("policy", lang))
        for key in ("rebate_to_date", "settled_before", "payable"):   # payable this run next to the rebate to date
            table.add_column(label(key, lang), justify="right")
        by_policy, before = s.total_by_policy(), s.settled_before_by_policy()
        for policy in s.campaign.rebate_policies:
            to_date, paid = by_policy[policy.id], before.get(policy.id, 0)
            table.add_row(f"{policy.name} ({policy.id})" if policy.name else policy.id,
                          format_display(to_date), format_display(paid), format_display(to_date - paid))
        to_date, paid = sum(by_policy.values()), sum(before.values())
        table.add_row(f"[bold]{label('total_rebate', lang)}[/]", f"[bold]{format_display(to_date)}[/]",
                      f"[bold]{format_display(paid)}[/]", f"[bold]{format_display(to_date - paid)}[/]")
        console.print(table)
        console.print(f"{label('customer_count', lang)}: {len(s.customers)} · {label('purchase_amount', lang)}: "
                      f"{format_display(sum(c.purchase_amount for c in s.customers))} {info.currency}")
    names = {p.id: f"{p.name} ({p.id})" if p.name else p.id for p in s.campaign.policies}
    for policy_id, result in s.deposits.items():
        totals = result.totals()
        table = Table(title=names[policy_id], title_justify="left", show_header=False)
        table.add_column()
        table.add_column(justify="right", no_wrap=True)
        for key, total in (("deposited", "deposited"), ("bonus", "bonus"), ("consumed", "consumed"),
                           ("expired", "expired"), ("closing", "closing_balance")):
            table.add_row(label(key, lang), format_display(totals[total]))
        table.add_row(label("cap-violation", lang), str(len(result.cap_violations)))
        table.add_row(label("overdraft", lang), str(len(result.overdrafts)))
        console.print(table)
    for policy_id, result in s.loyalty.items():
        console.print(f"{names[policy_id]}: {loyalty_line(result, lang)}", highlight=False, soft_wrap=True)
    planned, actual = planned_costs(s.campaign), campaign_costs(s)
    kinds = [kind for kind in COST_KINDS if kind in planned or kind in actual]
    if kinds and (s.deposits or s.loyalty):
        table = Table(title=label("campaign_cost", lang), title_justify="left")
        for key in ("item", "planned", "actual_cost"):
            table.add_column(label(key, lang), justify="left" if key == "item" else "right", no_wrap=key != "item")
        for kind in kinds:
            table.add_row(label(kind, lang), format_display(planned.get(kind, 0)), format_display(actual.get(kind, 0)))
        table.add_row(f"[bold]{label('total', lang)}[/]", f"[bold]{format_display(sum(planned.values()))}[/]",
                      f"[bold]{format_display(sum(actual.values()))}[/]")
        console.print(table)


def loyalty_line(result, lang: str) -> str:
    """One line of a loyalty policy's figures, for the console."""
    from promo_cli.money import format_display, to_cents
    L = lambda key: label(key, lang)  # noqa: E731
    t = result.totals
    if result.type == "membership":
        return " · ".join(f"{level} {count}" for level, count in t["members_by_level"].items()) + \
            f" · {L('points')} {t['points']:,} · {L('discount_value')} {format_display(to_cents(t['discount_value']))}"
    if result.type == "points":
        return " · ".join(f"{L(key)} {t[key]:,}" for key in ("earned", "taken_back", "converted", "expired", "redeemed",
                                                              "balance"))
    if result.type == "coupon_return":
        return f"{L('coupons_issued')} {t['coupons']:,} · {format_display(to_cents(t['value']))}"
    return f"{L('recipients')} {t['recipients']:,} · {format_display(to_cents(t['total']))}"
