"""``promo settle`` and ``promo validate``."""

from __future__ import annotations

import shlex
from enum import Enum
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from promo_cli.cli.lang import _
from promo_cli import __version__
from promo_cli.cli.common import (
    DEFAULT_LANG,
    DEFAULT_LIMITS,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_REVIEW,
    EXIT_WRITE,
    AsOfOpt,
    BaselineOpt,
    CampaignArg,
    CustomersOpt,
    DepositsOpt,
    EngineOpt,
    SparkMasterOpt,
    HistoryOpt,
    JsonOpt,
    LangOpt,
    MaxRatioOpt,
    MaxUnzippedOpt,
    PaymentsOpt,
    PurchasesOpt,
    QuietOpt,
    TargetsOpt,
    app,
    guarded,
    log_findings,
    print_findings,
    print_summary,
    refuse,
    report_invalid,
    run_log,
    run_pipeline,
    Bars,
)
from promo_cli.i18n import label
from promo_cli.io.inspect import Limits
from promo_cli.io.writers import DETAIL_ROWS_LIMIT


class DetailFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


@app.command("settle")
@guarded
def settle_command(campaign: CampaignArg,
                   out: Annotated[Path, typer.Option("--out", help="Folder for the outputs (created if missing).")],
                   purchases: PurchasesOpt = None, payments: PaymentsOpt = None,
                   deposits: DepositsOpt = None, customers: CustomersOpt = None,
                   baseline: BaselineOpt = None, targets: TargetsOpt = None,
                   as_of: AsOfOpt = None, lang: LangOpt = DEFAULT_LANG,
                   json: JsonOpt = False, quiet: QuietOpt = False,
                   max_unzipped_mb: MaxUnzippedOpt = DEFAULT_LIMITS.max_unzipped_mb,
                   max_zip_ratio: MaxRatioOpt = DEFAULT_LIMITS.max_zip_ratio,
                   history: HistoryOpt = None, engine: EngineOpt = None, spark_master: SparkMasterOpt = None,
                   reopen: Annotated[Optional[str], typer.Option(
                       "--reopen", metavar="REASON", help="Settle an approved as-of date again; the reason is recorded.")] = None,
                   by: Annotated[Optional[str], typer.Option(
                       "--by", metavar="NAME", help="Who prepares this settlement (the maker; default: the OS user). "
                                                    "Its approver must be someone else.")] = None,
                   log_file: Annotated[Optional[Path], typer.Option(
                       "--log-file", help="Append a timestamped log of the run to this file.")] = None,
                   detail_rows: Annotated[int, typer.Option(
                       "--detail-csv-rows", min=0, metavar="ROWS",
                       help="Detail tables (Lines, Orders, Recompute) longer than this go to a file beside the "
                            "workbook (see --detail-format); 0 keeps them in the workbook, continued on 'Lines 2', "
                            "… past Excel's 1,048,576 rows.")] = DETAIL_ROWS_LIMIT,
                   detail_format: Annotated[Optional[DetailFormat], typer.Option(
                       "--detail-format", help="The format of the detail files beside the workbook: csv (opens in "
                                               "Excel) or parquet (typed, for DuckDB, pandas or a warehouse). "
                                               "Default: parquet when a ledger is Parquet or SQL, else csv.")
                   ] = None) -> None:
    """Settle a campaign: write rebate_detail.xlsx, budget.xlsx, audit_report.xlsx and summary.json."""
    from promo_cli.history import HistoryError, default_path, run_lock
    from promo_cli.io.writers.audit_report import run_by
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(_("{path} is a file; give a folder for the outputs").format(path=out), param_hint="--out")
    history_path = history or default_path(campaign)
    with run_log(log_file) as log:
        log.info("settle %s --out %s (promo %s); command line: %s", campaign, out, __version__, shlex.join(sys.argv))
        log.info("options: as-of %s, history %s, lang %s, detail rows %s (%s), by %s%s", as_of or "default",
                 history_path, lang.value, detail_rows, detail_format.value if detail_format else "default",
                 (by or "").strip() or run_by(),
                 f", reopen {reopen!r}" if reopen else "")
        try:
            with run_lock(history_path):
                code = _settle(campaign, out, purchases, payments, deposits, customers, (baseline, targets), as_of,
                               lang.value, json, quiet,
                               Limits(max_unzipped_mb=max_unzipped_mb, max_zip_ratio=max_zip_ratio),
                               history_path, reopen, log, (detail_rows, detail_format.value if detail_format else None),
                               (by or "").strip() or run_by(), engine=(engine, spark_master))
        except HistoryError as exc:
            refuse(exc, lang.value, log)
            code = exc.code
        except Exception as exc:
            log.info("internal error (%s: %s); nothing written; exit 4", type(exc).__name__, exc)
            raise
        log.info("exit %d", code)
    raise typer.Exit(code)


def _settle(campaign, out, purchases, payments, deposits, customers, extra, as_of, lang, json, quiet, limits,
            history_path, reopen, log, detail, preparer, engine=None) -> int:
    with Bars(not (json or quiet), lang) as bars:
        return _settle_with(campaign, out, purchases, payments, deposits, customers, extra, as_of, lang, json,
                            quiet, limits, history_path, reopen, log, detail, bars, preparer, engine)


def _settle_with(campaign, out, purchases, payments, deposits, customers, extra, as_of, lang, json, quiet, limits,
                 history_path, reopen, log, detail, bars, preparer, engine=None) -> int:
    """``detail``: (rows past which a detail table goes beside the workbook, csv or parquet);
    ``engine``: (engine, Spark master) as given on the command line."""
    from promo_cli.history import History, HistoryError
    from promo_cli.io.readers import from_warehouse
    from promo_cli.io.writers import write_outputs
    from promo_cli.io.writers.summary_json import dumps, summary_dict
    from promo_cli.messages import os_reason
    from promo_cli.model import SEVERITIES, finding
    from promo_cli.money import format_display
    settlement, findings = run_pipeline(campaign, purchases, payments, deposits, customers, as_of, limits, extra,
                                        bars, *(engine or (None, None)))
    console = Console(stderr=json)
    if settlement is None:
        bars.stop()
        report_invalid(findings, lang, json)
        log.info("input invalid: %d blocking findings; nothing written", sum(f.blocking for f in findings))
        log_findings(log, findings, lang, "promo validate … --json lists them all")
        return EXIT_INVALID
    for ledger in settlement.ledgers.present():
        log.info("input %s %s sha256=%s rows=%d", ledger.role, ledger.path, ledger.sha256, ledger.rows)
    book = History(history_path)
    try:
        campaign_id, as_of_text = settlement.campaign.campaign.id, f"{settlement.as_of:%Y-%m-%d}"
        book.check_period(campaign_id, as_of_text, reopen)
        base, before = book.settled_before(campaign_id)
        settlement = replace(settlement, settled_before=before)
        settlement = replace(settlement, findings=settlement.findings + tuple(
            finding("warning", "customer-dropped", customer=customer, policy=policy,
                    amount=format_display(before[(customer, policy)]), run=base.id)
            for customer, policy in settlement.dropped()))
        payable = sum(c.total_rebate for c in settlement.customers) - sum(before.values())
        try:
            with book.recording(settlement, out, payable, reopen, preparer) as (run_id, repeat_of):
                settlement = replace(settlement, run={"id": run_id, "settled_before_run": base.id if base else None,
                                                      "repeat_of": repeat_of, "reopen_reason": reopen,
                                                      "run_by": preparer})
                written = write_outputs(settlement, out, lang, detail_rows=detail[0], progress=bars,
                                        detail_format=detail[1] or ("parquet" if from_warehouse(settlement.ledgers)
                                                                    else "csv"))
        except OSError as exc:  # permissions, a full disk: not a bug, and nothing was written or recorded
            raise HistoryError("cannot-write", EXIT_WRITE, folder=str(out),
                               reason=os_reason(exc)) from None
    finally:
        book.close()
    log.info("run %d recorded in %s%s; status %s; rebate %s; payable %s", run_id, history_path,
             f" (repeat of run {repeat_of}: same inputs, same figures)" if repeat_of else "", settlement.status,
             format_display(sum(c.total_rebate for c in settlement.customers)), format_display(payable))
    log.info("findings: %s", ", ".join(f"{sev} {sum(f.severity == sev for f in settlement.findings)}"
                                        for sev in SEVERITIES))
    log_findings(log, list(settlement.findings), lang, f"{out / 'audit_report.xlsx'} (Findings) and summary.json")
    log.info("written: %s", ", ".join(map(str, written)))
    bars.stop()
    if json:
        sys.stdout.write(dumps(summary_dict(settlement, lang)))
    elif not quiet:
        print_summary(console, settlement, lang)
        console.print(f"{label('written', lang)}: " + ", ".join(str(p) for p in written), soft_wrap=True)
        console.print(f"{label('run', lang)} {run_id} · {history_path}"
                      + (f" · {label('repeat_of', lang)} {repeat_of}" if repeat_of else ""), soft_wrap=True,
                      highlight=False)
        print_findings(console, list(settlement.findings), lang, only_errors=False)
        console.print(f"{label('audit_report', lang)}: {out / 'audit_report.xlsx'}", soft_wrap=True)
    elif settlement.status != "ok":
        print_findings(Console(stderr=True), list(settlement.findings), lang, only_errors=True)
    return EXIT_OK if settlement.status == "ok" else EXIT_REVIEW


@app.command("validate")
@guarded
def validate_command(campaign: CampaignArg, purchases: PurchasesOpt = None, payments: PaymentsOpt = None,
                     deposits: DepositsOpt = None, customers: CustomersOpt = None,
                     as_of: AsOfOpt = None, lang: LangOpt = DEFAULT_LANG,
                     json: JsonOpt = False, quiet: QuietOpt = False,
                     max_unzipped_mb: MaxUnzippedOpt = DEFAULT_LIMITS.max_unzipped_mb,
                     max_zip_ratio: MaxRatioOpt = DEFAULT_LIMITS.max_zip_ratio, engine: EngineOpt = None,
                     spark_master: SparkMasterOpt = None) -> None:
    """Check the campaign file and the ledgers and run every check; write nothing."""
    from promo_cli.io.writers.summary_json import dumps, summary_dict
    settlement, findings = run_pipeline(campaign, purchases, payments, deposits, customers, as_of,
                                        Limits(max_unzipped_mb=max_unzipped_mb, max_zip_ratio=max_zip_ratio),
                                        engine=engine, spark_master=spark_master)
    if settlement is None:
        report_invalid(findings, lang.value, json)
        raise typer.Exit(EXIT_INVALID)
    if json:
        sys.stdout.write(dumps(summary_dict(settlement, lang.value)))
    elif not quiet or settlement.status != "ok":
        print_findings(Console(), list(settlement.findings), lang.value, only_errors=quiet)
    raise typer.Exit(EXIT_OK if settlement.status == "ok" else EXIT_REVIEW)
