"""Month after month: history, delta payouts, approval, locking, killed runs, repeats."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from promo_cli.cli import app
from promo_cli.history import History, run_lock
from tests.conftest import (
    PAYMENT_HEADERS,
    PURCHASE_HEADERS,
    order,
    payment,
    write_campaign,
    write_csv,
)

runner = CliRunner()
POLICY = "- {id: ladder, type: tiered, tiers: [{from: 0, rate: 1%}]}\n"
MONTHS = {"2026-07-31": [order("A1", "C1", "2026-07-05", "1000"), order("B1", "C2", "2026-07-06", "400")],
          "2026-08-31": [order("A2", "C1", "2026-08-05", "2000")],
          "2026-09-30": [order("A3", "C1", "2026-09-10", "-2500")]}   # a return: claw-back


@pytest.fixture
def campaign(tmp_path):
    rows = [row for month in MONTHS.values() for row in month]
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, rows)
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [])
    return write_campaign(tmp_path, POLICY, period=("2026-07-01", "2026-09-30"))


def settle(campaign, as_of, *extra):
    out = campaign.parent / f"out-{as_of}"
    result = runner.invoke(app, ["settle", str(campaign), "--out", str(out), "--as-of", as_of, "--json", *extra])
    summary = json.loads(result.stdout) if result.exit_code in (0, 3) else None
    return result, summary, out


def customers(summary):
    return {c["customer_id"]: (c["total_rebate"], c["settled_before"], c["payable"]) for c in summary["customers"]}


def test_three_months_with_approval_and_a_claw_back(campaign):
    _, first, _ = settle(campaign, "2026-07-31")
    assert customers(first) == {"C1": ("10.00", "0.00", "10.00"), "C2": ("4.00", "0.00", "4.00")}
    assert runner.invoke(app, ["approve", "latest", "--by", "审计部 王五", "--campaign", str(campaign)]).exit_code == 0

    _, second, _ = settle(campaign, "2026-08-31")
    assert customers(second) == {"C1": ("30.00", "10.00", "20.00"), "C2": ("4.00", "4.00", "0.00")}
    assert second["totals"]["payable"] == "20.00" and second["totals"]["settled_before"] == "14.00"
    assert second["run"]["settled_before_run"] == 1
    assert runner.invoke(app, ["approve", "2", "--by", "王五", "--campaign", str(campaign)]).exit_code == 0

    _, third, _ = settle(campaign, "2026-09-30")
    assert customers(third) == {"C1": ("5.00", "30.00", "-25.00"), "C2": ("4.00", "4.00", "0.00")}
    assert third["customers"][0]["by_policy"] == {"ladder": {"to_date": "5.00", "settled_before": "30.00",
                                                             "payable": "-25.00"}}
    assert third["totals"]["delta_by_policy"]["ladder"]["payable"] == "-25.00"
    assert third["totals"]["by_policy"] == {"ladder": "9.00"}   # the pinned key keeps its meaning: to date


def test_an_approved_as_of_is_not_settled_again_unless_reopened(campaign):
    settle(campaign, "2026-07-31")
    runner.invoke(app, ["approve", "latest", "--by", "王五", "--campaign", str(campaign)])
    out = campaign.parent / "out-2026-07-31"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result, _, _ = settle(campaign, "2026-07-31", "--lang", "en")
    assert result.exit_code == 5
    assert "approved by 王五" in result.output and "--reopen" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    result, summary, _ = settle(campaign, "2026-07-31", "--reopen", "late credit note from the ERP")
    assert result.exit_code == 0 and summary["run"]["reopen_reason"] == "late credit note from the ERP"
    book = History(campaign.parent / "promo-history.sqlite")
    assert [r.reopen_reason for r in book.runs()] == [None, "late credit note from the ERP"]


def test_a_second_concurrent_run_is_refused(campaign):
    with run_lock(campaign.parent / "promo-history.sqlite"):
        result, _, out = settle(campaign, "2026-07-31", "--lang", "en")
    assert result.exit_code == 6 and "another settlement is running" in result.output
    assert not out.exists()
    assert settle(campaign, "2026-07-31")[0].exit_code == 0   # the lock is gone with its holder


def test_a_run_killed_while_writing_leaves_everything_as_it_was(campaign):
    _, _, out = settle(campaign, "2026-07-31")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    env = {**os.environ, "PROMO_PAUSE_BEFORE_COMMIT": "60"}
    proc = subprocess.Popen([sys.executable, "-m", "promo_cli", "settle", str(campaign), "--out", str(out),
                             "--as-of", "2026-07-31", "--quiet"], env=env)
    deadline = time.monotonic() + 60
    while not list(out.glob(".summary.json.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(out.glob(".*.tmp")), "the run never reached the point of renaming"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    visible = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}
    assert visible == before                                  # earlier outputs intact
    assert len(History(campaign.parent / "promo-history.sqlite").runs()) == 1   # no half-recorded run
    assert settle(campaign, "2026-07-31")[0].exit_code == 0
    assert not list(out.glob(".*.tmp"))                       # the next run swept the debris


def test_identical_runs_give_identical_figures_and_are_marked_as_repeats(campaign):
    _, first, _ = settle(campaign, "2026-08-31")
    _, second, _ = settle(campaign, "2026-08-31")
    assert second["run"]["repeat_of"] == first["run"]["id"] == 1
    assert {k: v for k, v in first.items() if k != "run"} == {k: v for k, v in second.items() if k != "run"}


def test_history_show_and_diff(campaign):
    settle(campaign, "2026-07-31")
    settle(campaign, "2026-09-30")
    listing = runner.invoke(app, ["history", "--campaign", str(campaign), "--lang", "en"], terminal_width=200)
    assert listing.exit_code == 0 and "2026-07-31" in listing.output and "2026-09-30" in listing.output
    shown = runner.invoke(app, ["history", "show", "1", "--campaign", str(campaign)], terminal_width=200)
    assert shown.exit_code == 0 and "C1" in shown.output and "SHA-256" in shown.output
    assert "返利合计: 14.00" in shown.output and "1400" not in shown.output          # yuan, not cents
    diff = runner.invoke(app, ["diff", "1", "2", "--campaign", str(campaign), "--lang", "en"], terminal_width=200)
    assert diff.exit_code == 0
    assert "As of 2026-07-31 → 2026-09-30" in diff.output and "-5.00" in diff.output
    missing = runner.invoke(app, ["history", "show", "9", "--campaign", str(campaign), "--lang", "en"])
    assert missing.exit_code == 1 and "no run 9" in missing.output
    again = runner.invoke(app, ["approve", "1", "--by", "x", "--campaign", str(campaign)])
    assert again.exit_code == 0
    assert runner.invoke(app, ["approve", "1", "--by", "y", "--campaign", str(campaign)]).exit_code == 5


def test_log_file(campaign):
    log = campaign.parent / "logs" / "promo.log"
    settle(campaign, "2026-07-31", "--log-file", str(log))
    text = log.read_text(encoding="utf-8")
    assert "settle" in text and "input purchases" in text and "run 1 recorded" in text and "exit 0" in text
    assert text.splitlines()[0][:4] == "2026" or text.splitlines()[0][:2] == "20"


def test_the_log_of_a_refused_run_names_every_finding_and_the_options(campaign):
    """cron mails the log: a run refused (exit 1) says what is wrong, where, and how it was called."""
    (campaign.parent / "purchases.csv").write_text("订单号,客户编号,订单日期,金额\nA1,C1,soon,abc\nA1,C2,2026-07-02,10\n",
                                                   encoding="utf-8")
    log = campaign.parent / "promo.log"
    result, _, _ = settle(campaign, "2026-07-31", "--log-file", str(log), "--by", "张三")
    text = log.read_text(encoding="utf-8")
    assert result.exit_code == 1 and "exit 1" in text
    assert "options: as-of 2026-07-31" in text and "by 张三" in text and "command line:" in text
    assert "purchases.csv!C2 (订单日期): [not-a-date]" in text and "purchases.csv!D2 (金额): [not-a-number]" in text
    assert "purchases.csv!A3 (订单号): [duplicate-id]" in text


def test_a_customer_gone_from_the_ledger_is_clawed_back_and_named(campaign, tmp_path):
    settle(campaign, "2026-07-31")
    runner.invoke(app, ["approve", "latest", "--by", "王五", "--campaign", str(campaign)])
    rows = [row for month in MONTHS.values() for row in month if row["customer_id"] != "C2"]
    write_csv(campaign.parent / "purchases.csv", PURCHASE_HEADERS, rows)   # C2's order was cancelled
    _, summary, _ = settle(campaign, "2026-08-31")
    assert summary["totals"]["settled_before"] == "14.00" and summary["totals"]["payable"] == "16.00"
    [f] = [f for f in summary["findings"] if f["code"] == "customer-dropped"]
    assert "C2" in f["message"] and "4.00" in f["message"]


# --------------------------------------------------------------------------- maker and checker, closed periods

def approve(campaign, run="latest", *extra):
    return runner.invoke(app, ["approve", run, "--campaign", str(campaign), "--lang", "en", *extra])


def recorded_approvals(campaign):
    return [(r.id, r.approved_by, r.accepted_findings) for r in History(campaign.parent / "promo-history.sqlite").runs()]


def test_the_checker_is_named_and_is_not_the_maker(campaign):
    settle(campaign, "2026-07-31", "--by", "财务 张三")
    for by, said in (("", "needs an approver"), ("   ", "needs an approver"), ("财务 张三", "cannot approve it"),
                     (" 财务 张三 ", "cannot approve it")):
        result = approve(campaign, "latest", "--by", by)
        assert result.exit_code == 5 and said in result.output, (by, result.output)
    assert recorded_approvals(campaign) == [(1, None, None)]          # nothing recorded
    result = approve(campaign, "latest", "--by", "审计 王五")
    assert result.exit_code == 0 and "prepared by 财务 张三" in result.output and "payable this run 14.00" in result.output
    assert approve(campaign, "1", "--by", "审计 李四").exit_code == 5                # approved once only


def test_a_run_needing_review_is_approved_only_with_a_reason(tmp_path):
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [order("A1", "C1", "2026-07-05", "1000")])  # no due date
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [payment("P1", "A1", "2026-07-06", "1000")])
    campaign = write_campaign(tmp_path, "- {id: on_time, type: on_time_payment, rate: 1%}\n",
                              period=("2026-07-01", "2026-09-30"))
    result, summary, _ = settle(campaign, "2026-07-31")
    assert result.exit_code == 3 and summary["status"] == "needs_review"
    assert approve(campaign, "latest", "--by", "王五").exit_code == 5
    assert recorded_approvals(campaign) == [(1, None, None)]
    result = approve(campaign, "latest", "--by", "王五", "--accept-findings", "due dates confirmed by phone")
    assert result.exit_code == 0 and "accepted" in result.stderr
    assert recorded_approvals(campaign) == [(1, "王五", "due dates confirmed by phone")]


def test_a_run_of_another_campaign_is_not_approved(campaign, tmp_path):
    settle(campaign, "2026-07-31")
    other = tmp_path / "other"
    other.mkdir()
    write_csv(other / "purchases.csv", PURCHASE_HEADERS, [order("X1", "C9", "2026-07-05", "1")])
    write_csv(other / "payments.csv", PAYMENT_HEADERS, [])
    text = write_campaign(other, POLICY).read_text(encoding="utf-8").replace("id: test", "id: other")
    (other / "campaign.yaml").write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["approve", "1", "--by", "王五", "--campaign", str(other / "campaign.yaml"),
                                 "--history", str(campaign.parent / "promo-history.sqlite"), "--lang", "en"])
    assert result.exit_code == 5 and "belongs to campaign test" in result.output


def test_closed_periods_never_make_an_approved_amount_payable_twice(campaign):
    settle(campaign, "2026-07-31")
    approve(campaign, "latest", "--by", "王五")
    settle(campaign, "2026-08-31")
    assert approve(campaign, "latest", "--by", "王五").exit_code == 0          # August approved: C1 30.00, C2 4.00
    # back-dated into the closed period: refused, with or without --reopen
    for extra in ((), ("--reopen", "try")):
        result, _, _ = settle(campaign, "2026-07-15", "--lang", "en", *extra)
        assert result.exit_code == 5 and "closed period" in result.output and "2026-08-31" in result.output
    result, _, _ = settle(campaign, "2026-07-31", "--reopen", "an earlier month", "--lang", "en")
    assert result.exit_code == 5                                                  # only the latest approved as-of
    # reopening August measures against the approved August run, not July's
    result, summary, _ = settle(campaign, "2026-08-31", "--reopen", "late credit note")
    assert result.exit_code == 0 and summary["run"]["settled_before_run"] == 2
    assert summary["totals"]["payable"] == "0.00" and customers(summary)["C1"] == ("30.00", "30.00", "0.00")
    # an older run of an approved as-of cannot be approved after a newer one
    assert approve(campaign, "1", "--by", "王五").exit_code == 5
    assert approve(campaign, "latest", "--by", "赵六").exit_code == 0             # the reopened August run
    _, september, _ = settle(campaign, "2026-09-30")
    assert september["run"]["settled_before_run"] == 3 and september["totals"]["payable"] == "-25.00"


def test_without_as_of_a_running_campaign_settles_to_today_and_says_so(campaign):
    from datetime import date
    from promo_cli.engine import load
    loaded, findings = load(campaign, {}, today=date(2026, 8, 15))
    assert loaded.as_of == date(2026, 8, 15)
    assert [dict(f.params) for f in findings if f.code == "settled-to-date"] == [
        {"end": "2026-09-30", "as_of": "2026-08-15"}]
    loaded, findings = load(campaign, {}, today=date(2026, 11, 30))
    assert loaded.as_of == date(2026, 9, 30) and "settled-to-date" not in [f.code for f in findings]


def test_the_console_shows_payable_this_run_next_to_the_rebate_to_date(campaign):
    settle(campaign, "2026-07-31")
    approve(campaign, "latest", "--by", "王五")
    result = runner.invoke(app, ["settle", str(campaign), "--out", str(campaign.parent / "o"), "--as-of",
                                 "2026-08-31", "--lang", "en"])
    assert result.exit_code == 0
    total = next(line for line in result.output.splitlines() if "Total rebate" in line)
    assert ["34.00", "14.00", "20.00"] == [t for t in total.replace("│", " ").split() if t[0].isdigit()]
    assert "Payable this run" in result.output
