"""``promo history``, ``promo history show``, ``promo approve`` and ``promo diff``."""

from __future__ import annotations

import functools
import logging
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from promo_cli.cli.common import (
    DEFAULT_LANG,
    EXIT_INVALID,
    CampaignOpt,
    HistoryOpt,
    LangOpt,
    app,
    guarded,
    refuse,
    report_invalid,
)
from promo_cli.i18n import label

if TYPE_CHECKING:
    from promo_cli.history import History

history_app = typer.Typer(help="Settlement history: list the runs, or show one.", invoke_without_command=True,
                          add_completion=False)
app.add_typer(history_app, name="history")


def _open_history(history: Path | None, campaign: Path | None) -> History:
    from promo_cli.history import DEFAULT_NAME, History, HistoryError, default_path
    path = history or (default_path(campaign) if campaign else Path.cwd() / DEFAULT_NAME)
    if not path.exists():
        raise HistoryError("history-missing", EXIT_INVALID, path=str(path))
    return History(path)


def _history_command(command):
    """Render a HistoryError (no such run, no history file…) as a message and its exit code."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from promo_cli.history import HistoryError
        try:
            return command(*args, **kwargs)
        except HistoryError as exc:
            refuse(exc, kwargs.get("lang", DEFAULT_LANG).value, logging.getLogger("promo.null"))
            raise typer.Exit(exc.code) from None
    return wrapper


class Format(str, Enum):
    table = "table"
    tsv = "tsv"


FormatOpt = Annotated[Format, typer.Option("--format", help="table, or tsv: one run per line, tab-separated "
                                                               "(for mail and pipes). Default: table.")]
# Below this many columns the run table leaves out when each run started and what it repeats.
WIDE = 120


@history_app.callback()
@guarded
@_history_command
def history_command(ctx: typer.Context, history: HistoryOpt = None, campaign: CampaignOpt = None,
                    lang: LangOpt = DEFAULT_LANG, format: FormatOpt = Format.table) -> None:
    """List the settlement runs (newest last)."""
    from promo_cli.money import format_display
    if ctx.invoked_subcommand:
        return
    book = _open_history(history, campaign)
    L = lambda key: label(key, lang.value)  # noqa: E731
    console = Console()
    keys = ["run", "campaign", "as_of", "status", "total_rebate", "payable", "approved_by", "repeat_of", "started_at"]
    if format is Format.table and console.width < WIDE:
        keys = keys[:-2]
    rows = [{"run": str(run.id), "campaign": run.campaign_id, "as_of": run.as_of, "status": L(run.status),
             "total_rebate": format_display(run.total_rebate), "payable": format_display(run.payable),
             "approved_by": run.approved_by or "", "repeat_of": str(run.repeat_of or ""),
             "started_at": run.started_at.replace("T", " ")[:19]} for run in book.runs()]
    book.close()
    if format is Format.tsv:
        for line in [[L(k) for k in keys]] + [[r[k] for k in keys] for r in rows]:
            sys.stdout.write("\t".join(line) + "\n")
        return
    table = Table(title=str(book.path), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    for key in keys:
        table.add_column(L(key), justify="right" if key in ("total_rebate", "payable") else "left",
                         overflow="fold", no_wrap=key != "approved_by", min_width=6 if key == "approved_by" else None)
    for r in rows:
        table.add_row(*(r[k] for k in keys))
    console.print(table)


RUN_FIELDS = ("id", "campaign_id", "as_of", "status", "total_rebate", "payable", "run_by", "started_at",
              "approved_by", "approved_at", "approval_note", "accepted_findings", "repeat_of", "reopen_reason",
              "out_dir", "campaign_sha256", "fingerprint")
MONEY_FIELDS = ("total_rebate", "payable")


@history_app.command("show")
@guarded
@_history_command
def history_show_command(run: Annotated[str, typer.Argument(help="Run id, or latest.")],
                         history: HistoryOpt = None, campaign: CampaignOpt = None, lang: LangOpt = DEFAULT_LANG) -> None:
    """Show one run: its inputs, approval and amounts per customer and policy."""
    from promo_cli.messages import role_name
    from promo_cli.money import format_display
    book = _open_history(history, campaign)
    entry = book.run(run)
    console = Console()
    L = lambda key: label(key, lang.value)  # noqa: E731
    for key in RUN_FIELDS:
        value = getattr(entry, key)
        shown = format_display(value) if key in MONEY_FIELDS else L(value) if key == "status" else \
            value.replace("T", " ")[:19] if key in ("started_at", "approved_at") and value else value
        console.print(f"{L('run' if key == 'id' else key)}: {'' if shown is None else shown}", highlight=False,
                      soft_wrap=True)
    for item in entry.inputs:
        console.print(f"{L('input')} {role_name(item['role'], lang.value)}: {item['path']} · {L('rows')} {item['rows']:,} · "
                      f"SHA-256 {item['sha256']}", highlight=False, soft_wrap=True)
    table = Table()
    for key in ("customer_id", "policy", "rebate"):
        table.add_column(L(key), justify="right" if key == "rebate" else "left")
    for (customer, policy), cents in sorted(book.amounts(entry.id).items()):
        table.add_row(customer, policy, format_display(cents))
    console.print(table)
    _print_batches(console, book, entry.campaign_id, lang.value)
    book.close()


def _print_batches(console: Console, book: History, campaign_id: str, lang: str) -> None:
    """The campaign's payout batches with the state of their lines."""
    from promo_cli.money import format_display
    batches = book.batches(campaign_id)
    if not batches:
        return
    L = lambda key: label(key, lang)  # noqa: E731
    table = Table(title=L("batch"), title_justify="left")
    for key in ("batch", "run", "total", "started_at", "status"):
        table.add_column(L(key), justify="right" if key == "total" else "left")
    for batch in batches:
        states: dict[str, int] = {}
        for line in book.batch_lines(batch.id):
            states[line.state] = states.get(line.state, 0) + 1
        table.add_row(str(batch.id), str(batch.run_id), format_display(batch.total),
                      batch.created_at.replace("T", " "),
                      ", ".join(f"{L('state-' + state)} {count}" for state, count in sorted(states.items())))
    console.print(table)


@app.command("approve")
@guarded
@_history_command
def approve_command(run: Annotated[str, typer.Argument(help="Run id, or latest (the campaign's latest run).")],
                    by: Annotated[str, typer.Option("--by", help="Who approves (the checker; not the preparer).")],
                    campaign: Annotated[Path, typer.Option("--campaign", help="The campaign file of the run.")],
                    note: Annotated[Optional[str], typer.Option("--note", help="A remark kept with the approval.")] = None,
                    accept_findings: Annotated[Optional[str], typer.Option(
                        "--accept-findings", metavar="REASON",
                        help="Approve a run whose findings need review; the reason is recorded.")] = None,
                    history: HistoryOpt = None, lang: LangOpt = DEFAULT_LANG) -> None:
    """Approve a run as the checker: its amounts count as settled for later runs, its as-of is closed."""
    from promo_cli.config import load_campaign
    from promo_cli.money import format_display
    info, _, problems = load_campaign(campaign)
    if info is None:
        report_invalid(problems, lang.value, as_json=False)
        raise typer.Exit(EXIT_INVALID)
    book = _open_history(history, campaign)
    try:
        entry = book.approve(run, by, note, info.campaign.id, accept_findings)
    finally:
        book.close()
    text = {"zh": f"运行 {entry.id}({entry.campaign_id},截至 {entry.as_of},编制 {entry.run_by or '—'})已由 {entry.approved_by} 审核;"
                  f"返利至今 {format_display(entry.total_rebate)},本次应付 {format_display(entry.payable)}",
            "en": f"run {entry.id} ({entry.campaign_id} as of {entry.as_of}, prepared by {entry.run_by or '—'}) approved "
                  f"by {entry.approved_by}; rebate to date {format_display(entry.total_rebate)}, payable this run "
                  f"{format_display(entry.payable)}"}[lang.value]
    Console().print(text, highlight=False, soft_wrap=True)
    if entry.accepted_findings:
        Console(stderr=True).print({"zh": f"注意:该运行有需复核的错误,已按“{entry.accepted_findings}”接受",
                                    "en": f"note: this run has error findings, accepted: {entry.accepted_findings}"}[lang.value],
                                   highlight=False, soft_wrap=True)


@app.command("diff")
@guarded
@_history_command
def diff_command(run_a: Annotated[str, typer.Argument(help="The earlier run (id or latest).")],
                 run_b: Annotated[str, typer.Argument(help="The later run (id or latest).")],
                 history: HistoryOpt = None, campaign: CampaignOpt = None, lang: LangOpt = DEFAULT_LANG) -> None:
    """Show per customer and policy what changed between two runs, and why."""
    from promo_cli.history import HistoryError
    from promo_cli.messages import role_name
    from promo_cli.money import format_display
    book = _open_history(history, campaign)
    a, b = book.run(run_a), book.run(run_b)
    if a.campaign_id != b.campaign_id:
        raise HistoryError("diff-campaigns", EXIT_INVALID, run_a=a.id, campaign_a=a.campaign_id, run_b=b.id,
                           campaign_b=b.campaign_id)
    console = Console()
    L = lambda key: label(key, lang.value)  # noqa: E731
    reasons = []
    if a.as_of != b.as_of:
        reasons.append(f"{L('as_of')} {a.as_of} → {b.as_of}")
    if a.campaign_sha256 != b.campaign_sha256:
        reasons.append(L("campaign_changed"))
    inputs_a = {i["role"]: i["sha256"] for i in a.inputs}
    for item in b.inputs:
        if inputs_a.get(item["role"]) != item["sha256"]:
            reasons.append(L("ledger_changed").format(role=role_name(item["role"], lang.value)))
    console.print(f"{L('reason')}: " + ("; ".join(reasons) or "—"), highlight=False)
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
