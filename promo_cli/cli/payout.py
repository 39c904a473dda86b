"""``promo payout RUN`` and ``promo payout confirm BATCH``: from an approved run to money out."""

from __future__ import annotations

import csv
import io
import logging
import json as json_module
import sys
from datetime import date
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
    EXIT_REVIEW,
    EXIT_WRITE,
    HistoryOpt,
    LangOpt,
    app,
    guarded,
    print_findings,
    refuse,
    report_invalid,
)
from promo_cli.i18n import label


@app.command("payout")
@guarded
def payout_command(
        target: Annotated[str, typer.Argument(metavar="RUN | confirm",
                                              help="The approved run to pay out (a number or latest), or 'confirm'.")],
        batch: Annotated[Optional[str], typer.Argument(metavar="[BATCH]",
                                                       help="With confirm: the batch (a number or latest).")] = None,
        campaign: Annotated[Path, typer.Option("--campaign", help="The campaign file of the run.")] = ...,
        out: Annotated[Optional[Path], typer.Option("--out", help="Folder for the batch's files.")] = None,
        paid_all: Annotated[bool, typer.Option("--paid-all", help="With confirm: every line was paid.")] = False,
        failed: Annotated[Optional[Path], typer.Option(
            "--failed", help="With confirm: a CSV or xlsx with a 'reference' column of the lines that failed.")] = None,
        history: HistoryOpt = None, lang: LangOpt = DEFAULT_LANG,
        json: Annotated[bool, typer.Option("--json", help="Print the batch's summary.json.")] = False) -> None:
    """Pay out an approved run: payout.xlsx, payout_batch.csv, statements/ and journal.csv.

    `promo payout confirm BATCH --paid-all | --failed FILE` records the bank's answer."""
    from promo_cli.history import default_path
    history_path = history or default_path(campaign)
    if target == "confirm":
        if batch is None or paid_all == (failed is not None):
            raise typer.BadParameter(_("confirm needs a BATCH and one of --paid-all or --failed FILE"))
        code = _confirm(campaign, history_path, batch, failed, lang.value)
    else:
        if batch is not None or out is None or paid_all or failed is not None:
            raise typer.BadParameter(_("payout RUN needs --out DIR (and no BATCH, --paid-all or --failed)"))
        code = _payout(campaign, history_path, target, out, lang.value, json)
    raise typer.Exit(code)


_QUIET = logging.getLogger("promo.null")      # refusals are printed; a payout keeps no run log


def _campaign_id(campaign: Path, history_path: Path, lang: str) -> str | None:
    """The campaign's id, or None once the campaign file or the missing history is reported."""
    from promo_cli.config import load_campaign
    from promo_cli.history import HistoryError
    info, _, problems = load_campaign(campaign)
    if info is None:
        report_invalid(problems, lang, as_json=False)
        return None
    if not history_path.exists():
        refuse(HistoryError("history-missing", EXIT_INVALID, path=str(history_path)), lang, _QUIET)
        return None
    return info.campaign.id


def _payout(campaign: Path, history_path: Path, ref: str, out: Path, lang: str, as_json: bool) -> int:
    from promo_cli.history import HistoryError, run_lock
    campaign_id = _campaign_id(campaign, history_path, lang)
    if campaign_id is None:
        return EXIT_INVALID
    try:
        with run_lock(history_path):
            return _pay(campaign, history_path, campaign_id, ref, out, lang, as_json)
    except HistoryError as exc:
        refuse(exc, lang, _QUIET)
        return exc.code


def _pay(campaign: Path, history_path: Path, campaign_id: str, ref: str, out: Path, lang: str, as_json: bool) -> int:
    from promo_cli.engine import customer_names, load, settle
    from promo_cli.history import EXIT_APPROVED, History, HistoryError, fingerprint
    from promo_cli.io.atomic import Staging
    from promo_cli.io.writers.payout import write_bank_file, write_journal, write_payout_book
    from promo_cli.messages import message, os_reason
    from promo_cli.model import finding
    from promo_cli.payout import accruals, journal, plan_batch
    book = History(history_path)
    try:
        run = book.run(ref, campaign_id)
        if run.campaign_id != campaign_id:
            raise HistoryError("approve-other-campaign", EXIT_APPROVED, run=run.id, campaign=run.campaign_id,
                               expected=campaign_id)
        if not run.approved_by:
            raise HistoryError("payout-not-approved", EXIT_APPROVED, run=run.id)
        latest = book.latest_approved(campaign_id)
        if latest.id != run.id:
            raise HistoryError("payout-not-latest", EXIT_APPROVED, run=run.id, as_of=run.as_of, latest=latest.id,
                               latest_as_of=latest.as_of)
        # the approved run again, from the files it read: names, the customer master, and the
        # lines that explain each statement (only if nothing changed since the approval)
        overrides: dict = {}
        for item in run.inputs:     # where a recorded path is gone (another folder), the campaign's inputs
            if Path(item["path"]).exists():
                overrides.setdefault(item["role"], []).append(Path(item["path"]))
        overrides = {role: paths if role == "deposits" else paths[0] for role, paths in overrides.items()}
        loaded, findings = load(campaign, overrides, date.fromisoformat(run.as_of))
        if loaded is None:
            report_invalid(findings, lang, as_json)
            return EXIT_INVALID
        settlement = settle(loaded, findings)
        same = fingerprint(settlement) == run.fingerprint
        approved_amounts = book.amounts(run.id)
        approved: dict[str, int] = {}
        for (customer, _policy), cents in approved_amounts.items():
            approved[customer] = approved.get(customer, 0) + cents
        batch_id = book.next_batch_id()
        master = settlement.ledgers.customers.frame if settlement.ledgers.customers is not None else None
        names = {c.customer_id: c.customer_name for c in settlement.customers} if settlement.detail is not None \
            else customer_names(settlement.orders, settlement.ledgers.customers) if settlement.ledgers.purchases \
            else {}
        paid = book.paid_so_far(campaign_id)
        lines, problems = plan_batch(batch_id, campaign_id, approved, paid, master, names)
        accrued = accruals(approved, book.accrued_so_far(campaign_id))
        reversed_lines = book.failed_unreversed(campaign_id)
        if not same:
            problems.append(finding("warning", "statement-lines-changed", run=run.id))
        if not lines and not accrued and not reversed_lines:     # nothing new: no batch, nothing written
            Console(stderr=as_json).print(message(finding("info", "payout-empty", run=run.id), lang), highlight=False)
            if as_json:
                empty = _summary(None, run, [], problems, lang)
                sys.stdout.write(json_module.dumps(empty, ensure_ascii=False, indent=2) + "\n")
            elif problems:
                print_findings(Console(), problems, lang, only_errors=False)
            return EXIT_REVIEW if any(f.severity == "error" for f in problems) else EXIT_OK
        info = settlement.campaign.campaign
        memo = f"{info.name or info.id} 返利 截至 {run.as_of}"
        today = date.today()
        entries = journal(batch_id, today, settlement.campaign.accounting, accrued, lines, reversed_lines, memo)
        pairs = [(label("campaign", lang), f"{info.name} ({info.id})" if info.name else info.id),
                 (label("period", lang), f"{info.period.start:%Y-%m-%d} – {info.period.end:%Y-%m-%d}"),
                 (label("as_of", lang), run.as_of), (label("batch", lang), str(batch_id)),
                 (label("approved_run", lang), f"{run.id} · {run.approved_by} · {run.approved_at}")]
        summary = _summary(batch_id, run, lines, problems, lang)
        try:
            with Staging(out) as staging:
                write_payout_book(staging.path("payout.xlsx"), pairs, lines, lang)
                write_bank_file(staging.path("payout_batch.csv"), lines, memo)
                write_journal(staging.path("journal.csv"), entries)
                _statements(staging.folder("statements"), settlement if same else None, lines, approved_amounts,
                            paid, pairs, lang)
                staging.path("summary.json").write_text(json_module.dumps(summary, ensure_ascii=False, indent=2)
                                                        + "\n", encoding="utf-8")
                with book.recording_batch(batch_id, campaign_id, run.id, out, [l.recorded() for l in lines],
                                          accrued, reversed_lines):
                    written = staging.commit()
        except OSError as exc:
            raise HistoryError("cannot-write", EXIT_WRITE, folder=str(out), reason=os_reason(exc)) from None
    finally:
        book.close()
    if as_json:
        sys.stdout.write(json_module.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    else:
        _print_batch(Console(), batch_id, run.id, lines, lang)
        Console().print(f"{label('written', lang)}: " + ", ".join(str(p) for p in written), soft_wrap=True)
        if problems:
            print_findings(Console(), problems, lang, only_errors=False)
    return EXIT_REVIEW if any(f.severity == "error" for f in problems) else EXIT_OK


def _statements(folder: Path, settlement, lines, approved_amounts, paid, pairs, lang: str) -> None:
    """One statement per customer in the batch; its lines only where the approved run's inputs
    are unchanged (``settlement`` is None otherwise)."""
    from promo_cli.io.writers.payout import statement_names, write_statement
    from promo_cli.io.writers.rebate_detail import lines_by_customer
    L = lambda key: label(key, lang)  # noqa: E731
    names = statement_names([l.customer_id for l in lines])
    # each customer's lines as the Lines sheet shows them, read customer by customer alongside
    # the batch (both in customer id order): never every line in memory at once
    explained = lines_by_customer(settlement, lang) if settlement is not None else iter(())
    pending = next(explained, None)
    headers = {p.id: (f"{p.name} ({p.id})" if p.name else p.id)
               for p in (settlement.campaign.policies if settlement is not None else [])}
    for line in lines:
        by_policy = [(headers.get(policy, policy), cents) for (customer, policy), cents in
                     sorted(approved_amounts.items()) if customer == line.customer_id]
        figures = [(L("paid_before"), paid.get(line.customer_id, 0)), (L("this_payout"), line.amount)]
        while pending is not None and pending[0] < line.customer_id:
            pending = next(explained, None)
        own = pending[1] if pending is not None and pending[0] == line.customer_id else None
        write_statement(folder / names[line.customer_id],
                        pairs + [(L("customer"), f"{line.customer_name} ({line.customer_id})"),
                                 (L("payout_method"), L(f"method-{line.payout_method}")),
                                 (L("reference"), line.reference)],
                        by_policy, figures, own, lang)


def _summary(batch_id: int | None, run, lines, problems, lang: str) -> dict:
    from promo_cli.messages import message
    from promo_cli.money import format_amount
    return {"batch": batch_id, "run": run.id, "as_of": run.as_of,
            "total": format_amount(sum(l.amount for l in lines)),
            "lines": [{"customer_id": l.customer_id, "amount": format_amount(l.amount),
                       "payout_method": l.payout_method, "reference": l.reference} for l in lines],
            "findings": [{"severity": f.severity, "code": f.code, "message": message(f, lang)} for f in problems]}


def _print_batch(console: Console, batch_id: int, run_id: int, lines, lang: str) -> None:
    from promo_cli.money import format_display
    L = lambda key: label(key, lang)  # noqa: E731
    table = Table(title=f"{L('batch')} {batch_id} · {L('run')} {run_id}", title_justify="left")
    table.add_column(L("payout_method"))
    table.add_column(L("customer_count"), justify="right")
    table.add_column(L("amount"), justify="right")
    for method in ("bank", "ewallet", "cheque", "offset", "goods"):
        group = [l for l in lines if l.payout_method == method]
        if group:
            table.add_row(L(f"method-{method}"), str(len(group)), format_display(sum(l.amount for l in group)))
    table.add_row(f"[bold]{L('total')}[/]", str(len(lines)), f"[bold]{format_display(sum(l.amount for l in lines))}[/]")
    console.print(table)


def _confirm(campaign: Path, history_path: Path, ref: str, failed_file: Path | None, lang: str) -> int:
    from promo_cli.history import History, HistoryError, run_lock
    from promo_cli.messages import os_reason
    from promo_cli.money import format_display
    campaign_id = _campaign_id(campaign, history_path, lang)
    if campaign_id is None:
        return EXIT_INVALID
    try:
        failed = _references(failed_file) if failed_file is not None else set()
    except OSError as exc:
        refuse(HistoryError("payout-failed-file", EXIT_INVALID, path=str(failed_file), reason=os_reason(exc)), lang, _QUIET)
        return EXIT_INVALID
    except ValueError as exc:           # its reason is a phrase code (see messages.WHY)
        refuse(HistoryError("payout-failed-file", EXIT_INVALID, path=str(failed_file), reason=(str(exc), ())), lang,
               _QUIET)
        return EXIT_INVALID
    try:
        with run_lock(history_path):
            book = History(history_path)
            try:
                lines = book.confirm(book.batch(ref, campaign_id), failed)
            finally:
                book.close()
    except HistoryError as exc:
        refuse(exc, lang, _QUIET)
        return exc.code
    L = lambda key: label(key, lang)  # noqa: E731
    table = Table(title_justify="left")
    for key in ("reference", "customer_id", "amount", "status"):
        table.add_column(L(key), justify="right" if key == "amount" else "left")
    for l in lines:
        table.add_row(l.reference, l.customer_id, format_display(l.amount), L(f"state-{l.state}"))
    Console().print(table)
    return EXIT_OK


def _references(path: Path) -> set[str]:
    """The ``reference`` column of the bank's answer (CSV in UTF-8 or GB18030, or a workbook)."""
    raw = path.read_bytes()
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"\xd0\xcf\x11\xe0"):
        from python_calamine import CalamineWorkbook
        rows = CalamineWorkbook.from_filelike(io.BytesIO(raw)).get_sheet_by_index(0).to_python()
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValueError("encoding")
        rows = list(csv.reader(io.StringIO(text, newline="")))
    header = [str(c).strip().lower() for c in (rows[0] if rows else [])]
    names = ("reference", "付款参考号", "参考号")
    column = next((header.index(n) for n in names if n in header), None)
    if column is None:
        raise ValueError("no-reference-column")
    return {str(r[column]).strip() for r in rows[1:] if column < len(r) and str(r[column]).strip()}
