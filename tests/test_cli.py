"""The command line as a clerk and a cron job use it."""

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promo_cli.cli import app
from promo_cli.io import writers as writers_module
from tests.conftest import (
    PAYMENT_HEADERS,
    PURCHASE_HEADERS,
    order,
    payment,
    write_campaign,
    write_csv,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "policies" / "factory_rebate.yaml"
runner = CliRunner()

ON_TIME = """\
- id: on_time
  type: on_time_payment
  rate: 1%
"""


def small(tmp_path, purchases=None, payments=None):
    purchases = purchases or [order("A1", "C1", "2026-08-01", "1000", due_date="2026-08-31",
                                    customer_name="甲")]
    payments = payments or [payment("P1", "A1", "2026-08-02", "1000")]
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, purchases)
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, payments)
    return write_campaign(tmp_path, ON_TIME)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_settle_the_sample(tmp_path):
    result = runner.invoke(app, ["settle", str(SAMPLE), "--out", str(tmp_path / "out"), "--lang", "en",
                                 "--history", str(tmp_path / "h.sqlite"), "--as-of", "2026-12-31"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "audit_report.xlsx", "budget.xlsx", "rebate_detail.xlsx", "summary.json"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert list(summary) == ["campaign_id", "as_of", "currency", "status", "totals", "customers",
                             "costs", "segments", "evaluation", "run", "engine", "findings", "inputs"]
    if not os.environ.get("PROMO_ENGINE"):       # the suite may run on another engine (tests/test_engines.py)
        assert summary["engine"] == {"name": "local", "partitions": 1}
    assert summary["run"] == {"id": 1, "settled_before_run": None, "repeat_of": None, "reopen_reason": None,
                              "run_by": getpass.getuser()}
    assert (summary["campaign_id"], summary["as_of"], summary["currency"], summary["status"]) == \
        ("factory-2026h2", "2026-12-31", "CNY", "ok")
    customers = summary["customers"]
    assert [c["customer_id"] for c in customers] == sorted(c["customer_id"] for c in customers)
    assert "00000005" in {c["customer_id"] for c in customers}  # ids keep their leading zeros
    cents = lambda text: int(text.replace(".", ""))  # noqa: E731
    for c in customers:
        assert set(c["rebates"]) == {"ladder", "on_time", "group_buy"}
        assert cents(c["total_rebate"]) == sum(cents(v) for v in c["rebates"].values())
        assert all(len(v.split(".")[1]) == 2 for v in [c["purchase_amount"], *c["rebates"].values()])
    for pid, total in summary["totals"]["by_policy"].items():
        assert cents(total) == sum(cents(c["rebates"][pid]) for c in customers)
    assert cents(summary["totals"]["rebate"]) == sum(cents(c["total_rebate"]) for c in customers)
    assert {i["role"] for i in summary["inputs"]} == {"purchases", "payments", "customers", "baseline"}
    assert "Total rebate" in result.output


def test_json_prints_the_summary(tmp_path):
    campaign = small(tmp_path)
    result = runner.invoke(app, ["settle", str(campaign), "--out", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed == json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert printed["customers"] == [{
        "customer_id": "C1", "customer_name": "甲", "purchase_amount": "1000.00",
        "rebates": {"on_time": "10.00"}, "total_rebate": "10.00", "settled_before": "0.00", "payable": "10.00",
        "by_policy": {"on_time": {"to_date": "10.00", "settled_before": "0.00", "payable": "10.00"}}}]


def test_invalid_input_writes_nothing_and_keeps_earlier_outputs(tmp_path):
    campaign = small(tmp_path)
    out = tmp_path / "out"
    assert runner.invoke(app, ["settle", str(campaign), "--out", str(out)]).exit_code == 0
    before = snapshot(out)
    (tmp_path / "purchases.csv").write_text("订单号,客户编号,订单日期,金额\nA1,C1,2026-08-01,12x\n",
                                            encoding="utf-8")
    result = runner.invoke(app, ["settle", str(campaign), "--out", str(out), "--lang", "en"])
    assert result.exit_code == 1
    assert "purchases.csv" in result.output and "!D2" in result.output and "12x" in result.output
    assert "nothing was written" in result.output
    assert snapshot(out) == before
    assert not any(p.name.startswith(".") for p in out.iterdir())


@pytest.mark.parametrize("args, text", [
    (["--purchases", "nope.xlsx"], "nope.xlsx"),
    (["--payments", "{tmp}/campaign.yaml"], "does not look like a payments ledger"),
])
def test_missing_files_and_wrong_files_are_named(tmp_path, args, text):
    campaign = small(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = runner.invoke(app, ["validate", str(campaign), *args, "--lang", "en"])
    assert result.exit_code == 1 and text in result.output


def test_invalid_json_answer_lists_the_findings(tmp_path):
    campaign = small(tmp_path)
    result = runner.invoke(app, ["settle", str(campaign), "--out", str(tmp_path / "o"), "--json",
                                 "--purchases", str(tmp_path / "missing.csv")])
    assert result.exit_code == 1 and not (tmp_path / "o").exists()
    answer = json.loads(result.stdout)
    assert answer["status"] == "invalid" and answer["findings"][0]["code"] == "file-not-found"


def test_error_findings_settle_with_exit_3(tmp_path):
    campaign = small(tmp_path, purchases=[order("A1", "C1", "2026-08-01", "1000")])  # no due date
    result = runner.invoke(app, ["settle", str(campaign), "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 3
    assert "missing-due-date" in result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "needs_review"
    assert next(f for f in summary["findings"] if f["code"] == "missing-due-date")["row"] == 2


def test_validate_writes_nothing(tmp_path):
    campaign = small(tmp_path)
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["validate", str(campaign)])
    assert result.exit_code == 0 and snapshot(tmp_path) == before


@pytest.mark.parametrize("args", [["settle"], ["settle", "x.yaml"], ["settle", "x.yaml", "--out", "o", "--as-of", "31/12"],
                                  ["settle", "x.yaml", "--out", "o", "--lang", "fr"], ["frobnicate"]])
def test_usage_errors_exit_2(args):
    assert runner.invoke(app, args).exit_code == 2


def test_every_command_has_help():
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0 and command.callback.__doc__.split("\n")[0][:30] in result.output


def test_an_unexpected_error_is_reported_without_traceback(tmp_path, monkeypatch):
    campaign = small(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(writers_module, "write_outputs", broken)
    result = runner.invoke(app, ["settle", str(campaign), "--out", str(tmp_path / "o")])
    assert result.exit_code == 4
    assert "Traceback" not in result.output and "报告给我们" in result.output     # in the user's language (zh here)
    assert "boom" in result.output


def test_the_installed_command_never_shows_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "promo_cli", "settle", str(tmp_path / "none.yaml"),
                             "--out", str(tmp_path / "o"), "--lang", "en"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "campaign file not found" in result.stderr


def test_out_must_be_a_folder(tmp_path):
    campaign = small(tmp_path)
    (tmp_path / "afile").write_text("x")
    result = runner.invoke(app, ["settle", str(campaign), "--out", str(tmp_path / "afile")])
    assert result.exit_code == 2 and "是一个文件" in result.output       # zh: the user's language here


def test_a_write_failure_is_not_an_internal_error(tmp_path, monkeypatch):
    campaign = small(tmp_path)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writers_module, "write_outputs", full_disk)
    result = runner.invoke(app, ["settle", str(campaign), "--out", str(tmp_path / "o"), "--lang", "en"])
    assert result.exit_code == 7
    assert "the disk is full" in result.output and "report" not in result.output
    assert runner.invoke(app, ["history", "--campaign", str(campaign)]).output.count("ok") == 0


def test_as_of_before_the_start_is_a_warning(tmp_path):
    campaign = small(tmp_path)
    result = runner.invoke(app, ["validate", str(campaign), "--as-of", "2026-01-01", "--lang", "en"])
    assert result.exit_code == 0 and "before the campaign starts" in result.output


def test_no_control_characters_off_terminal(tmp_path):
    campaign = small(tmp_path)
    for extra in ([], ["--quiet"], ["--json"]):
        result = subprocess.run([sys.executable, "-m", "promo_cli", "settle", str(campaign), "--out",
                                 str(tmp_path / "o"), *extra], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0
        assert "\x1b" not in result.stdout + result.stderr and "\r" not in result.stdout + result.stderr


def test_a_full_disk_inside_the_workbook_writer_is_exit_7_without_a_traceback(tmp_path):
    """xlsxwriter wraps the OSError of a full disk in its own error; the zip it leaves behind
    fails again when collected. Neither may reach the user as a traceback or an exit 4."""
    campaign = small(tmp_path)
    script = ("import errno, sys, xlsxwriter.workbook as w\n"
              "from xlsxwriter.exceptions import FileCreateError\n"
              "def full(self): raise FileCreateError(OSError(errno.ENOSPC, 'No space left on device'))\n"
              "w.Workbook.close = full\n"
              "from promo_cli.cli import main\n"
              f"sys.argv = ['promo', 'settle', {str(campaign)!r}, '--out', {str(tmp_path / 'o')!r}, '--lang', 'en',"
              f" '--log-file', {str(tmp_path / 'run.log')!r}]\n"
              "main()\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 7, result.stderr
    assert "the disk is full" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    assert (tmp_path / "run.log").read_text(encoding="utf-8").rstrip().endswith("exit 7")


def test_a_usage_error_is_logged_with_its_exit_line(tmp_path):
    log = tmp_path / "run.log"
    result = subprocess.run([sys.executable, "-m", "promo_cli", "settle", "--bogus", "--log-file", str(log)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = log.read_text(encoding="utf-8").splitlines()
    assert "usage error: settle --bogus" in lines[0] and lines[-1].endswith("exit 2")


def test_help_imports_nothing_heavy():
    """`promo --help` (and parsing any command line) must not wait for the libraries of the work:
    they are imported where used, so a fresh interpreter that loads the CLI has none of them."""
    import subprocess
    import sys
    code = ("import sys, promo_cli.cli; heavy = ('pandas', 'numpy', 'pyarrow', 'xlsxwriter', 'pydantic', 'yaml', "
            "'python_calamine', 'fastexcel', 'promo_cli.engine', 'promo_cli.model'); "
            "print(','.join(m for m in heavy if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
