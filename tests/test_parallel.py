"""Work beside the main process (promo_cli.parallel): same results, errors raised where asked."""

from datetime import date
import os

import pytest

from promo_cli import parallel
from promo_cli.parallel import Apart


def _pid_and_sum(numbers):
    return os.getpid(), sum(numbers)


def _fails(path):
    raise OSError(28, "No space left on device", str(path))


@pytest.mark.skipif(not parallel.can_fork(), reason="no fork here: the work runs in the calling process")
def test_work_apart_runs_in_another_process_and_returns_its_value():
    pid, total = Apart(_pid_and_sum, [1, 2, 3]).result()
    assert total == 6 and pid != os.getpid()


def test_work_runs_here_when_asked_not_to_fork():
    assert Apart(_pid_and_sum, [4, 5], fork=False).result() == (os.getpid(), 9)


@pytest.mark.parametrize("fork", [True, False])
def test_an_error_apart_is_raised_where_the_result_is_asked_for(tmp_path, fork):
    job = Apart(_fails, tmp_path / "x.csv", fork=fork)
    with pytest.raises(OSError, match="No space left") as raised:
        job.result()
    assert raised.value.errno == 28       # still an OSError: the CLI says it cannot write (exit 7)
    if fork and parallel.can_fork():
        assert "in the worker process" in "\n".join(raised.value.__notes__)


def test_a_settlement_with_its_audit_apart_equals_one_settled_in_one_process(tmp_path, monkeypatch):
    """The checks, the recomputation, the segmentation and the sales figures worked out in a
    second process give the very settlement the single process gives."""
    from promo_cli.engine import load, settle
    from promo_cli.io.writers.summary_json import summary_dict
    from tests.conftest import PAYMENT_HEADERS, PURCHASE_HEADERS, order, payment, write_campaign, write_csv

    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [
        order("A1", "C1", "2026-08-01", "120000", due_date="2026-08-31"),
        order("A2", "C2", "2026-08-02", "800", due_date="2026-08-10"),
        order("A3", "C2", "2026-08-03", "-50")])
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [
        payment("P1", "A1", "2026-08-20", "120000"), payment("P2", "A2", "2026-08-20", "800"),
        payment("P3", "ZZ", "2026-08-20", "5")])
    campaign = write_campaign(tmp_path, """\
- {id: ladder, type: tiered, tiers: [{from: 0, rate: 1%}, {from: 100000, rate: 2%}]}
- {id: on_time, type: on_time_payment, rate: 0.5%}
""")
    loaded, findings = load(campaign, {}, today=date(2099, 1, 1))
    monkeypatch.setattr(parallel, "APART_ROWS", 10**9)
    alone = settle(loaded, findings)
    monkeypatch.setattr(parallel, "APART_ROWS", 0)
    apart = settle(loaded, findings)
    assert summary_dict(apart, "en") == summary_dict(alone, "en")
    assert apart.recomputed == alone.recomputed and apart.reconciliation == alone.reconciliation
    assert [f.code for f in alone.findings].count("payment-unknown-order") == 1


def _book_and_csv(name, side):
    """Writes a 'workbook' and hands a 'CSV' on to yet another process, as the rebate detail does."""
    side.path(name).write_text(f"book {os.getpid()}")
    side.later(_write, side.path("lines.csv"), "lines")


def _write(path, text):
    path.write_text(text)


def _book_then_fail(name, side):
    side.path(name).write_text("half")
    raise OSError(28, "No space left on device", name)


@pytest.mark.parametrize("fork", [True, False])
def test_a_workbook_written_beside_is_committed_with_what_it_handed_on(tmp_path, monkeypatch, fork):
    from promo_cli.io.atomic import Staging
    monkeypatch.setattr(parallel, "can_fork", lambda: fork and hasattr(os, "fork"))
    with Staging(tmp_path) as staging:
        staging.beside(_book_and_csv, "detail.xlsx")
        staging.path("budget.xlsx").write_text("budget")
        staging.finish()
        done = staging.commit()
    assert sorted(p.name for p in done) == ["budget.xlsx", "detail.xlsx", "lines.csv"]
    assert (tmp_path / "lines.csv").read_text() == "lines"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["budget.xlsx", "detail.xlsx", "lines.csv"]


@pytest.mark.parametrize("fork", [True, False])
def test_a_workbook_that_fails_beside_leaves_the_folder_as_it_was(tmp_path, monkeypatch, fork):
    from promo_cli.io.atomic import Staging
    monkeypatch.setattr(parallel, "can_fork", lambda: fork and hasattr(os, "fork"))
    (tmp_path / "detail.xlsx").write_text("last month")
    with pytest.raises(OSError, match="No space left"):
        with Staging(tmp_path) as staging:
            staging.beside(_book_then_fail, "detail.xlsx")
            staging.path("budget.xlsx").write_text("budget")
            staging.finish()
            staging.commit()
    assert (tmp_path / "detail.xlsx").read_text() == "last month"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["detail.xlsx"]     # no temporary file left
