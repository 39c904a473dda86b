"""The ``promo`` command line: parses options, calls the pipeline, renders, exits.

Exit codes: 0 settled with no error findings; 1 an input or the campaign file is
invalid (nothing written); 2 usage error; 3 settled but error findings need review
(all outputs written); 4 an unexpected internal error (nothing written; a crash
log is kept for the report); 5 an approved as-of date (needs --reopen); 6 another run
holds the lock; 7 the outputs could not be written (permissions, disk full).
"""

from __future__ import annotations

import functools
import logging
import sys
import tempfile
import traceback
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import date
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from promo_cli import __version__
from promo_cli.engine import load, settle
from promo_cli.history import DEFAULT_NAME, EXIT_APPROVED, History, HistoryError, default_path, run_lock
from promo_cli.io.writers.audit_report import run_by
from promo_cli.i18n import label
from promo_cli.io.inspect import Limits
from promo_cli.io.writers import write_outputs
from promo_cli.io.writers.summary_json import dumps, invalid_dict, summary_dict
from promo_cli.messages import location, message, render
from promo_cli.model import SEVERITIES, Finding, Settlement, finding
from promo_cli.forecast import forecast
from promo_cli.money import format_display, format_rate, parse_rate, round_cents

DEFAULT_LIMITS = Limits()
EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_REVIEW, EXIT_INTERNAL = 0, 1, 2, 3, 4
EXIT_WRITE = 7
SHOWN_PER_SEVERITY = 25

app = typer.Typer(name="promo", help="Month-end settlement of sales-promotion campaigns.",
                  add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True)


class Lang(str, Enum):
    zh = "zh"
    en = "en"


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


def _run(campaign: Path, purchases, payments, deposits, customers, as_of: str | None, limits: Limits,
         extra: tuple[Path | None, Path | None] = (None, None)) -> tuple[Settlement | None, list[Finding]]:
    overrides = {"purchases": purchases, "payments": payments, "deposits": deposits,
                 "customers": customers, "baseline": extra[0], "targets": extra[1]}
    loaded, findings = load(campaign, overrides, _as_of(as_of), limits)
    if loaded is None:
        return None, findings
    return settle(loaded, findings), findings


HistoryOpt = Annotated[Optional[Path], typer.Option(
    "--history", help="Settlement history file (default: promo-history.sqlite next to the campaign).")]


@app.command("settle")
@_guarded
def settle_command(campaign: CampaignArg,
                   out: Annotated[Path, typer.Option("--out", help="Folder for the outputs (created if missing).")],
                   purchases: PurchasesOpt = None, payments: PaymentsOpt = None,
                   deposits: DepositsOpt = None, customers: CustomersOpt = None,
                   baseline: BaselineOpt = None, targets: TargetsOpt = None,
                   as_of: AsOfOpt = None, lang: LangOpt = Lang.zh,
                   json: JsonOpt = False, quiet: QuietOpt = False,
                   max_unzipped_mb: MaxUnzippedOpt = DEFAULT_LIMITS.max_unzipped_mb,
                   max_zip_ratio: MaxRatioOpt = DEFAULT_LIMITS.max_zip_ratio,
                   history: HistoryOpt = None,
                   reopen: Annotated[Optional[str], typer.Option(
                       "--reopen", metavar="REASON", help="Settle an approved as-of date again; the reason is recorded.")] = None,
                   log_file: Annotated[Optional[Path], typer.Option(
                       "--log-file", help="Append a timestamped log of the run to this file.")] = None) -> None:
    """Settle a campaign: write rebate_detail.xlsx, budget.xlsx, audit_report.xlsx and summary.json."""
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{out} is a file; give a folder for the outputs", param_hint="--out")
    history_path = history or default_path(campaign)
    with run_log(log_file) as log:
        log.info("settle %s --out %s (promo %s)", campaign, out, __version__)
        try:
            with run_lock(history_path):
                code = _settle(campaign, out, purchases, payments, deposits, customers, (baseline, targets), as_of,
                               lang.value, json, quiet,
                               Limits(max_unzipped_mb=max_unzipped_mb, max_zip_ratio=max_zip_ratio),
                               history_path, reopen, log)
        except HistoryError as exc:
            _refuse(exc, lang.value, log)
            code = exc.code
        log.info("exit %d", code)
    raise typer.Exit(code)


def _settle(campaign, out, purchases, payments, deposits, customers, extra, as_of, lang, json, quiet, limits,
            history_path, reopen, log) -> int:
    settlement, findings = _run(campaign, purchases, payments, deposits, customers, as_of, limits, extra)
    console = Console(stderr=json)
    if settlement is None:
        _report_invalid(findings, lang, json)
        log.info("input invalid: %d blocking findings; nothing written", sum(f.blocking for f in findings))
        return EXIT_INVALID
    for ledger in settlement.ledgers.present():
        log.info("input %s %s sha256=%s rows=%d", ledger.role, ledger.path, ledger.sha256, ledger.rows)
    book = History(history_path)
    try:
        campaign_id, as_of_text = settlement.campaign.campaign.id, f"{settlement.as_of:%Y-%m-%d}"
        approved = book.approved_for(campaign_id, as_of_text)
        if approved and not reopen:
            raise HistoryError("history-approved", EXIT_APPROVED, campaign=campaign_id, as_of=as_of_text,
                               by=approved.approved_by, run=approved.id)
        base, before = book.settled_before(campaign_id, as_of_text)
        settlement = replace(settlement, settled_before=before)
        settlement = replace(settlement, findings=settlement.findings + tuple(
            finding("warning", "customer-dropped", customer=customer, policy=policy,
                    amount=format_display(before[(customer, policy)]), run=base.id)
            for customer, policy in settlement.dropped()))
        payable = sum(c.total_rebate for c in settlement.customers) - sum(before.values())
        try:
            with book.recording(settlement, out, payable, reopen, run_by()) as (run_id, repeat_of):
                settlement = replace(settlement, run={"id": run_id, "settled_before_run": base.id if base else None,
                                                      "repeat_of": repeat_of, "reopen_reason": reopen})
                written = write_outputs(settlement, out, lang)
        except OSError as exc:  # permissions, a full disk: not a bug, and nothing was written or recorded
            raise HistoryError("cannot-write", EXIT_WRITE, folder=str(out),
                               reason=exc.strerror or str(exc)) from None
    finally:
        book.close()
    log.info("run %d recorded in %s%s; status %s; rebate %s; payable %s", run_id, history_path,
             f" (repeat of run {repeat_of}: same inputs, same figures)" if repeat_of else "", settlement.status,
             format_display(sum(c.total_rebate for c in settlement.customers)), format_display(payable))
    log.info("findings: %s", ", ".join(f"{sev} {sum(f.severity == sev for f in settlement.findings)}"
                                        for sev in SEVERITIES))
    log.info("written: %s", ", ".join(map(str, written)))
    if json:
        sys.stdout.write(dumps(summary_dict(settlement, lang)))
    elif not quiet:
        _print_summary(console, settlement, lang)
        console.print(f"{label('written', lang)}: " + ", ".join(str(p) for p in written), soft_wrap=True)
        console.print(f"{label('run', lang)} {run_id} · {history_path}"
                      + (f" · {label('repeat_of', lang)} {repeat_of}" if repeat_of else ""), soft_wrap=True,
                      highlight=False)
        _print_findings(console, list(settlement.findings), lang, only_errors=False)
        console.print(f"{label('audit_report', lang)}: {out / 'audit_report.xlsx'}", soft_wrap=True)
    elif settlement.status != "ok":
        _print_findings(Console(stderr=True), list(settlement.findings), lang, only_errors=True)
    return EXIT_OK if settlement.status == "ok" else EXIT_REVIEW


def _refuse(exc: HistoryError, lang: str, log) -> None:
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


@app.command("forecast")
@_guarded
def forecast_command(campaign: CampaignArg,
                     purchases: Annotated[Path, typer.Option("--purchases", help="A past purchase ledger to replay.")],
                     payments: PaymentsOpt = None, customers: CustomersOpt = None,
                     growth: Annotated[str, typer.Option("--growth", help="Expected growth, e.g. 10% or 0.1.")] = "0%",
                     shift_days: Annotated[Optional[int], typer.Option(
                         "--shift-days", help="Move the ledger by this many days (default: whole years).")] = None,
                     compare: Annotated[Optional[list[Path]], typer.Option(
                         "--compare", help="Another campaign file to cost on the same replay (repeatable).")] = None,
                     lang: LangOpt = Lang.zh, json: JsonOpt = False) -> None:
    """Estimate the rebate cost and budget before launch by replaying a past ledger."""
    try:
        rate = parse_rate(growth)
    except ValueError:
        raise typer.BadParameter(f"{growth!r} is not a rate like 10% or 0.1", param_hint="--growth") from None
    results, findings = forecast([campaign, *(compare or [])], purchases, payments, customers, rate, shift_days)
    if results is None:
        _report_invalid(findings, lang.value, json)
        raise typer.Exit(EXIT_INVALID)
    if json:
        sys.stdout.write(dumps({"growth": str(rate), "campaigns": results}))
        raise typer.Exit(EXIT_OK)
    L = lambda key: label(key, lang.value)  # noqa: E731
    table = Table(title=f"{L('forecast')} · {L('growth')} {format_rate(rate)} · {results[0]['shift']}",
                  title_justify="left")
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


history_app = typer.Typer(help="Settlement history: list the runs, or show one.", invoke_without_command=True,
                          add_completion=False)
app.add_typer(history_app, name="history")
CampaignOpt = Annotated[Optional[Path], typer.Option("--campaign", help="Use the history next to this campaign file.")]


def _open_history(history: Path | None, campaign: Path | None) -> History:
    path = history or (default_path(campaign) if campaign else Path.cwd() / DEFAULT_NAME)
    if not path.exists():
        raise HistoryError("history-missing", EXIT_INVALID, path=str(path))
    return History(path)


def _history_command(command):
    """Render a HistoryError (no such run, no history file…) as a message and its exit code."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except HistoryError as exc:
            _refuse(exc, kwargs.get("lang", Lang.zh).value, logging.getLogger("promo.null"))
            raise typer.Exit(exc.code) from None
    return wrapper


@history_app.callback()
@_guarded
@_history_command
def history_command(ctx: typer.Context, history: HistoryOpt = None, campaign: CampaignOpt = None,
                    lang: LangOpt = Lang.zh) -> None:
    """List the settlement runs (newest last)."""
    if ctx.invoked_subcommand:
        return
    book = _open_history(history, campaign)
    L = lambda key: label(key, lang.value)  # noqa: E731
    table = Table(title=str(book.path), title_justify="left")
    for key in ("run", "campaign", "as_of", "status", "total_rebate", "payable", "approved_by", "repeat_of",
                "started_at"):
        table.add_column(L(key), justify="right" if key in ("total_rebate", "payable") else "left",
                         overflow="fold", no_wrap=key in ("as_of", "total_rebate", "payable"))
    for run in book.runs():
        table.add_row(str(run.id), run.campaign_id, run.as_of, L(run.status), format_display(run.total_rebate),
                      format_display(run.payable), run.approved_by or "", str(run.repeat_of or ""),
                      run.started_at.replace("T", " "))
    Console().print(table)
    book.close()


@history_app.command("show")
@_guarded
@_history_command
def history_show_command(run: Annotated[str, typer.Argument(help="Run id, or latest.")],
                         history: HistoryOpt = None, campaign: CampaignOpt = None, lang: LangOpt = Lang.zh) -> None:
    """Show one run: its inputs, approval and amounts per customer and policy."""
    book = _open_history(history, campaign)
    entry = book.run(run)
    console = Console()
    for key, value in asdict(entry).items():
        if key != "inputs":
            console.print(f"{key}: {value}", highlight=False, soft_wrap=True)
    for item in entry.inputs:
        console.print(f"input {item['role']}: {item['path']} sha256={item['sha256']} rows={item['rows']}",
                      highlight=False, soft_wrap=True)
    table = Table()
    for key in ("customer_id", "policy", "rebate"):
        table.add_column(label(key, lang.value), justify="right" if key == "rebate" else "left")
    for (customer, policy), cents in sorted(book.amounts(entry.id).items()):
        table.add_row(customer, policy, format_display(cents))
    console.print(table)
    book.close()


@app.command("approve")
@_guarded
@_history_command
def approve_command(run: Annotated[str, typer.Argument(help="Run id, or latest.")],
                    by: Annotated[str, typer.Option("--by", help="Who approves (the audit sign-off).")],
                    note: Annotated[Optional[str], typer.Option("--note", help="A remark kept with the approval.")] = None,
                    history: HistoryOpt = None, campaign: CampaignOpt = None, lang: LangOpt = Lang.zh) -> None:
    """Approve a run: its amounts count as settled for later runs, and its as-of date is closed."""
    book = _open_history(history, campaign)
    entry = book.approve(run, by, note)
    text = {"zh": f"运行 {entry.id}({entry.campaign_id},截至 {entry.as_of})已由 {by} 审核",
            "en": f"run {entry.id} ({entry.campaign_id} as of {entry.as_of}) approved by {by}"}[lang.value]
    Console().print(text, highlight=False)
    if entry.status != "ok":
        Console(stderr=True).print({"zh": "注意:该运行有需复核的错误", "en": "note: this run has error findings"}[lang.value])
    book.close()


@app.command("diff")
@_guarded
@_history_command
def diff_command(run_a: Annotated[str, typer.Argument(help="The earlier run (id or latest).")],
                 run_b: Annotated[str, typer.Argument(help="The later run (id or latest).")],
                 history: HistoryOpt = None, campaign: CampaignOpt = None, lang: LangOpt = Lang.zh) -> None:
    """Show per customer and policy what changed between two runs, and why."""
    book = _open_history(history, campaign)
    a, b = book.run(run_a), book.run(run_b)
    console = Console()
    reasons = []
    if a.as_of != b.as_of:
        reasons.append(f"as-of {a.as_of} → {b.as_of}")
    if a.campaign_sha256 != b.campaign_sha256:
        reasons.append({"zh": "活动文件(政策)已改变", "en": "the campaign file (policy) changed"}[lang.value])
    inputs_a = {i["role"]: i["sha256"] for i in a.inputs}
    for item in b.inputs:
        if inputs_a.get(item["role"]) != item["sha256"]:
            reasons.append({"zh": f"{item['role']} 台账已改变", "en": f"the {item['role']} ledger changed"}[lang.value])
    console.print(f"{label('reason', lang.value)}: " + ("; ".join(reasons) or "—"), highlight=False)
    amounts_a, amounts_b = book.amounts(a.id), book.amounts(b.id)
    table = Table()
    for key in ("customer_id", "policy"):
        table.add_column(label(key, lang.value))
    for head in (f"{label('run', lang.value)} {a.id}", f"{label('run', lang.value)} {b.id}", label("change", lang.value)):
        table.add_column(head, justify="right")
    for key in sorted(set(amounts_a) | set(amounts_b)):
        before, after = amounts_a.get(key, 0), amounts_b.get(key, 0)
        if before != after:
            table.add_row(key[0], key[1], format_display(before), format_display(after),
                          format_display(after - before))
    console.print(table)
    book.close()


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
        console.print(f"{label('customer_count', lang)}: {len(s.customers)} · {label('purchase_amount', lang)}: "
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
