"""Every engine gives the local engine's figures (issue 22), tested the way Ibis tests its
backends: the same campaigns and the same policy suites run on each engine.

- the three sample campaigns settled on every engine: every key of summary.json equal to the
  local engine's (findings in the same order), but ``engine`` (which says where it ran);
- the policy test files (hand-computed figures), and the history and payout files, run again
  with ``PROMO_ENGINE`` set, so each of their settlements goes through the engine's partitions;
- the partitions themselves: whole customers per customer policy, whole groups per group
  policy, payments with their orders, the merge equal to the whole;
- a missing engine part, an unknown engine, a cluster that does not answer: findings, exit 1.

DuckDB is installed with promo; Spark needs the ``spark`` extra (dev installs it) and Java
(``.ci/run`` installs Debian's ``default-jre-headless``): without them its tests skip, saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promo_cli.cli import app
from promo_cli.engine import load, settle
from promo_cli.engines import missing_part
from promo_cli.engines.duckdb import DuckDB
from promo_cli.engines.partitions import merge, row_parts, slice_work
from promo_cli.rebates import RebateWork, apply_rebates
from tests.conftest import PAYMENT_HEADERS, PURCHASE_HEADERS, order, payment, write_campaign, write_csv

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
ENGINES = ["local", "duckdb", "spark"]
SAMPLES = ["factory_rebate", "prepaid_deposit", "loyalty"]
# the policy files whose settlements are hand-computed, and the history, approval and payout on top
# of a settlement; Spark runs the ones with groups and caps, and the payouts
POLICY_SUITES = ["test_tiered.py", "test_on_time_payment.py", "test_group_purchase.py", "test_caps.py",
                 "test_budget_cap.py", "test_agreements.py", "test_applies_to.py", "test_rates_by.py",
                 "test_quantity_ladder.py", "test_audit.py", "test_history.py", "test_payout.py"]
SPARK_SUITES = ["test_group_purchase.py", "test_caps.py", "test_budget_cap.py", "test_on_time_payment.py",
                "test_payout.py"]


def needs(engine: str) -> None:
    missing = missing_part(engine)
    if missing is not None:
        pytest.skip(f"the {engine} engine needs {missing[0]}, not installed here: {missing[1]} "
                    "(bash .ci/run installs it)")


@pytest.fixture(scope="module")
def spark_stopped():
    """The Spark session the in-process runs start is stopped when the module is done (its JVM
    would hold a gigabyte for the rest of the suite)."""
    yield
    if "pyspark" in sys.modules:
        from pyspark.sql import SparkSession
        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()


@pytest.fixture(scope="module")
def settled(tmp_path_factory, spark_stopped):
    """``settled(campaign, engine)``: its summary.json as settled by ``promo settle --engine``."""
    cache = {}

    def run(campaign: str, engine: str) -> dict:
        if (campaign, engine) not in cache:
            folder = tmp_path_factory.mktemp(f"{campaign}-{engine}")
            result = runner.invoke(app, ["settle", str(ROOT / "policies" / f"{campaign}.yaml"), "--out",
                                         str(folder / "out"), "--history", str(folder / "h.sqlite"), "--as-of",
                                         "2026-12-31", "--engine", engine, "--json"])
            assert result.exit_code in (0, 3), result.output
            cache[(campaign, engine)] = json.loads(result.stdout)
        return cache[(campaign, engine)]

    return run


@pytest.mark.parametrize("engine", ENGINES[1:])
@pytest.mark.parametrize("campaign", SAMPLES)
def test_every_engine_gives_the_local_figures(settled, campaign, engine):
    needs(engine)
    local, other = settled(campaign, "local"), settled(campaign, engine)
    assert local["engine"] == {"name": "local", "partitions": 1}
    assert other["engine"]["name"] == engine
    # the rebates were really split; deposit and loyalty policies run whole, where the ledgers are
    assert other["engine"]["partitions"] >= 2 if campaign == "factory_rebate" else other["engine"]["partitions"] == 1
    for key in sorted(set(local) | set(other)):
        if key not in ("engine", "run"):
            assert other.get(key) == local.get(key), key
    assert other["run"]["settled_before_run"] == local["run"]["settled_before_run"]


@pytest.mark.parametrize("engine", ENGINES[1:])
def test_the_policy_suites_pass_on_each_engine(engine, tmp_path):
    """The hand-computed policy tests, every settlement of them on ``engine``."""
    needs(engine)
    suites = SPARK_SUITES if engine == "spark" else POLICY_SUITES
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                             *[str(ROOT / "tests" / name) for name in suites]],
                            cwd=ROOT, capture_output=True, text=True, timeout=1800,
                            env={**os.environ, "PROMO_ENGINE": engine})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout.splitlines()[-1]


def _groups_across_customers(folder: Path, budget_cap: str | None = None) -> Path:
    """C1, C2 and C3 with orders of their own; group G1 of C1 and C2, group G2 of C2 and C3 (C2
    in both); C3 paid one order late; a payment of an order no ledger has. Amounts in yuan."""
    write_csv(folder / "purchases.csv", PURCHASE_HEADERS, [
        order("A1", "C1", "2026-07-03", "600", quantity="600", due_date="2026-08-03"),
        order("A2", "C1", "2026-08-03", "1", quantity="1", due_date="2026-09-03", group_id="G1", group_proof="P1"),
        order("B1", "C2", "2026-07-05", "300", quantity="300", due_date="2026-08-05", group_id="G1"),
        order("B2", "C2", "2026-07-06", "20", quantity="20", due_date="2026-08-06", group_id="G2", group_proof="P2"),
        order("C1", "C3", "2026-07-02", "100", quantity="100", due_date="2026-08-02", group_id="G2"),
        order("C2", "C3", "2026-09-02", "50", quantity="50", due_date="2026-10-02")])
    write_csv(folder / "payments.csv", PAYMENT_HEADERS, [
        payment("P-A1", "A1", "2026-08-01", "600"), payment("P-A2", "A2", "2026-08-10", "1"),
        payment("P-B1", "B1", "2026-08-01", "300"), payment("P-B2", "B2", "2026-08-01", "20"),
        payment("P-C1", "C1", "2026-08-20", "100"), payment("P-C2", "C2", "2026-09-20", "50"),
        payment("P-X", "NO-SUCH-ORDER", "2026-08-01", "1")])
    campaign = write_campaign(folder, """\
        - {id: ladder, type: tiered, tiers: [{from: 0, rate: 1%}, {from: 500, rate: 2%}], cap: {per_customer: 7}}
        - {id: on_time, type: on_time_payment, rate: 0.5%}
        - {id: group_buy, type: group_purchase, basis: quantity, tiers: [{from: 100, rate: 2%}]}
        """)
    if budget_cap:
        campaign.write_text(campaign.read_text(encoding="utf-8")
                            + f"budget: {{rebate_cap: {{amount: {budget_cap}, rule: prorate}}}}\n", encoding="utf-8")
    return campaign


def test_partitions_hold_whole_customers_and_groups(tmp_path):
    """Three partitions by hand: C1 → 0, C2 → 1, C3 → 2 for the customer policies, G1 → 2 and
    G2 → 0 for the group policy (a row without a group goes with its customer). Every row is in
    exactly one partition per policy, a group's rows together although its customers are apart,
    payments with their orders (the unknown one in partition 0), and the partitions' results
    merged equal the whole ledger's."""
    loaded, findings = load(_groups_across_customers(tmp_path), {}, date(2026, 12, 31), engine="local")
    assert loaded is not None, findings
    captured = {}

    class Capture:
        name, recomputes = "capture", False

        def rebates(self, work):
            captured["work"] = work
            return apply_rebates(work)

    settle(loaded, findings, engine=Capture())
    work: RebateWork = captured["work"]
    chosen = {"C1": 0, "C2": 1, "C3": 2, "G1": 2, "G2": 0}
    parts = row_parts(work, lambda keys: [chosen[key] for key in keys])
    pieces = [slice_work(work, parts, k) for k in range(3)]
    ladder = [sorted(p.contexts["ladder"].purchases["order_id"]) for p in pieces]
    assert ladder == [["A1", "A2"], ["B1", "B2"], ["C1", "C2"]]
    groups = [sorted(p.contexts["group_buy"].purchases.dropna(subset=["group_id"])["order_id"]) for p in pieces]
    assert groups == [["B2", "C1"], [], ["A2", "B1"]]
    paid = [sorted(p.payments["payment_id"]) for p in pieces]
    assert paid[0] == ["P-A1", "P-A2", "P-B2", "P-C1", "P-X"]      # C1's orders; G2's; the unknown order's
    assert paid[1] == ["P-B1", "P-B2"] and paid[2] == ["P-A2", "P-B1", "P-C1", "P-C2"]
    whole = apply_rebates(work, recompute_too=True)
    merged = merge(work, [apply_rebates(p, recompute_too=True) for p in pieces])
    assert merged.recomputed == whole.recomputed and merged.partitions == 3
    for mine, theirs in zip(merged.lines, whole.lines):
        key = ["policy_id", "customer_id", "ref", "kind"]
        assert mine.sort_values(key, ignore_index=True)[["customer_id", "ref", "units", "scale", "note"]].equals(
            theirs.sort_values(key, ignore_index=True)[["customer_id", "ref", "units", "scale", "note"]])


@pytest.mark.parametrize("budget_cap", [None, "20"])
def test_a_settlement_split_three_ways_is_the_whole_one(tmp_path, budget_cap):
    """The same campaign settled whole and on DuckDB in three partitions; without a budget cap,
    by hand: ladder C1 500 × 1% + 101 × 2% = 7.02, capped at 7.00; C2 3.20; C3 1.50. On time
    0.5%: C1 3.00 + 0.005 = 3.01 (rounded once), C2 1.50 + 0.10, C3 only C2's 0.25 (C1 paid
    late). Groups 2% of the amount: G1 301 × 2% = 6.02, shared C1 0.02, C2 6.00; G2 120 × 2% =
    2.40, shared C2 0.40, C3 2.00 (C2's shares come from two partitions). With a budget cap of
    20.00 on the 24.98: equal to the whole ledger's, to the line."""
    campaign = _groups_across_customers(tmp_path, budget_cap)
    whole = settle(*load(campaign, {}, date(2026, 12, 31), engine="local"))
    loaded, findings = load(campaign, {}, date(2026, 12, 31), engine="duckdb")
    split = settle(loaded, findings, engine=DuckDB(workers=3))
    assert split.engine == {"name": "duckdb", "partitions": 3}
    figures = [(c.customer_id, c.rebates) for c in split.customers]
    assert figures == [(c.customer_id, c.rebates) for c in whole.customers]
    if budget_cap is None:
        assert figures == [("C1", {"ladder": 700, "on_time": 301, "group_buy": 2}),
                           ("C2", {"ladder": 320, "on_time": 160, "group_buy": 640}),
                           ("C3", {"ladder": 150, "on_time": 25, "group_buy": 200})]
    else:
        assert sum(c.total_rebate for c in split.customers) == 2000
    assert split.findings == whole.findings
    assert not [f for f in split.findings if f.code.startswith("recompute")]
    assert sorted(split.recomputed) == sorted(whole.recomputed)
    key = ["policy_id", "customer_id", "ref", "kind"]
    assert split.lines.sort_values(key, ignore_index=True)["rebate"].tolist() == \
        whole.lines.sort_values(key, ignore_index=True)["rebate"].tolist()


def test_the_benchmark_on_duckdb_gives_the_reference_figures(tmp_path):
    """10,000 factory rows: the partitions settle in worker processes; every figure of
    summary.json equals the reference recorded on the local engine."""
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--campaign", "factory",
                             "--rows", "10000", "--no-memory", "--engine", "duckdb", "--keep", str(tmp_path / "b")],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].split()[-1] == "equal", result.stdout
    summary = json.loads((tmp_path / "b" / "factory-10000" / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["engine"]["name"] == "duckdb" and summary["engine"]["partitions"] >= 2


def test_a_missing_engine_part_is_a_finding_that_says_how_to_install_it(tmp_path, monkeypatch):
    campaign = _groups_across_customers(tmp_path)
    monkeypatch.setitem(__import__("promo_cli.engines").engines.EXTRAS, "spark", ("no_such_module_xyz", "spark"))
    result = runner.invoke(app, ["settle", str(campaign), "--out", str(tmp_path / "o"), "--engine", "spark",
                                 "--lang", "en"])
    assert result.exit_code == 1
    assert "[engine-not-available]" in result.output and "pip install 'promo-cli[spark]'" in result.output
    assert not (tmp_path / "o").exists()
    monkeypatch.undo()
    monkeypatch.setattr("promo_cli.engines._java", lambda: False)
    result = runner.invoke(app, ["validate", str(campaign), "--engine", "spark"])
    assert result.exit_code == 1 and "Java" in result.output and "default-jre-headless" in result.output


def test_an_unknown_engine_in_the_environment_is_refused(tmp_path, monkeypatch):
    campaign = _groups_across_customers(tmp_path)
    monkeypatch.setenv("PROMO_ENGINE", "Hadoop")
    result = runner.invoke(app, ["validate", str(campaign), "--lang", "en"])
    assert result.exit_code == 1 and "[engine-unknown]" in result.output and "local, duckdb, spark" in result.output
    monkeypatch.setenv("PROMO_ENGINE", "DuckDB")          # a name in capitals is a name
    result = runner.invoke(app, ["validate", str(campaign), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["engine"]["name"] == "duckdb"


def test_a_spark_cluster_address_that_is_not_one_is_refused_before_spark_starts(tmp_path):
    campaign = _groups_across_customers(tmp_path)
    result = runner.invoke(app, ["settle", str(campaign), "--out", str(tmp_path / "o"), "--engine", "spark",
                                 "--spark-master", "sparkk://nowhere:7077", "--lang", "en"])
    assert result.exit_code == 1 and "[spark-master-invalid]" in result.output and "sparkk://nowhere:7077" in result.output
    assert not (tmp_path / "o").exists()


def test_a_spark_cluster_that_does_not_answer_is_a_finding(tmp_path):
    """A cluster Spark cannot start on (here: a YARN with no Hadoop configuration): exit 1,
    nothing written, Spark's reason in the finding, no Python traceback."""
    needs("spark")
    campaign = _groups_across_customers(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("HADOOP_CONF_DIR", "YARN_CONF_DIR")}
    result = subprocess.run([sys.executable, "-m", "promo_cli", "settle", str(campaign), "--out", str(tmp_path / "o"),
                             "--engine", "spark", "--spark-master", "yarn", "--lang", "en"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[engine-failed]" in result.stderr and "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "o").exists()



def test_a_job_the_cluster_fails_is_an_engine_error_with_its_first_line():
    """What Spark raises when a job fails (a Py4J error with a Java stack) reaches the clerk as
    the finding ``engine-failed`` with its first line, not as an internal error."""
    from promo_cli.engines import EngineError
    from promo_cli.engines.spark import on_cluster

    def job():
        raise RuntimeError("\nJob aborted due to stage failure: Task 0 in stage 2.0 failed\n\tat org.apache.spark…")

    with pytest.raises(EngineError, match=r"^Job aborted due to stage failure: Task 0 in stage 2.0 failed$"):
        on_cluster(job)
    assert on_cluster(lambda: 42) == 42


def test_the_policy_code_failing_on_an_executor_is_not_blamed_on_the_cluster():
    from promo_cli.engines.spark import on_cluster

    class PythonException(Exception):     # what PySpark raises for an executor's Python error
        pass

    def job():
        raise PythonException("An exception was thrown from the Python worker: ZeroDivisionError")

    with pytest.raises(PythonException):
        on_cluster(job)
