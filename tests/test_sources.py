"""Ledgers from Parquet and SQL (issue 22, item 1): the factory sample settled from a Hive-partitioned
Parquet folder, a Parquet file of float amounts, an SQLite database and a real PostgreSQL server
gives every figure of the spreadsheet run; what cannot be read exactly, or must not be in a campaign
file, is refused at once."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from promo_cli.cli import app
from promo_cli.engine import load, settle
from promo_cli.io.writers.summary_json import summary_dict

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
FIGURES = ("totals", "customers", "evaluation")


@pytest.fixture(scope="module")
def sample():
    """The factory sample as the spreadsheets give it: its ledgers' frames and summary."""
    loaded, findings = load(ROOT / "policies" / "factory_rebate.yaml", {}, date(2026, 12, 31))
    return loaded, summary_dict(settle(loaded, findings), "zh")


def _typed(frame, columns: dict[str, str]) -> pa.Table:
    """A ledger frame as a typed Arrow table: money as decimal(14, 2) (or float64), dates as date32."""
    arrays = {}
    for name, kind in columns.items():
        values = frame[name]
        if kind == "money":
            arrays[name] = pa.array([None if v is None or v != v else Decimal(int(v)) / 100 for v in values],
                                    type=pa.decimal128(14, 2))
        elif kind == "float":
            arrays[name] = pa.array([None if v != v else int(v) / 100 for v in values], type=pa.float64())
        elif kind == "date":
            arrays[name] = pa.array(values.dt.date.where(values.notna(), None), type=pa.date32())
        elif kind == "int":
            arrays[name] = pa.array(values.astype("Int64"), type=pa.int64(), from_pandas=True)
        else:
            arrays[name] = pa.array(values.astype(object).where(values.notna(), None), type=pa.string())
    return pa.table(arrays)


PURCHASES = {"order_id": "text", "customer_id": "text", "customer_name": "text", "order_date": "date",
             "amount": "money", "quantity": "int", "product": "text", "due_date": "date", "group_id": "text", "group_proof": "text"}
PAYMENTS = {"payment_id": "text", "order_id": "text", "customer_id": "text", "payment_date": "date", "amount": "float"}


def _campaign(folder: Path, inputs: dict) -> Path:
    campaign = yaml.safe_load((ROOT / "policies" / "factory_rebate.yaml").read_text(encoding="utf-8"))
    campaign["inputs"] = {**{role: str((ROOT / "policies" / name).resolve()) for role, name in campaign["inputs"].items()},
                          **inputs}
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(campaign, allow_unicode=True), encoding="utf-8")
    return path


def _reread(campaign: Path) -> dict[str, tuple[int, int]]:
    """The audit's second reading of each ledger: {reconciliation row: (engine, second reading)}."""
    loaded, findings = load(campaign, {}, date(2026, 12, 31))
    settlement = settle(loaded, findings)
    assert not [f for f in settlement.findings if f.code == "reread-differs"]
    return {row[0]: tuple(row[1:3]) for row in settlement.reconciliation if str(row[0]).startswith("reread-")}


def _settle(campaign: Path) -> tuple[dict, list]:
    loaded, findings = load(campaign, {}, date(2026, 12, 31))
    assert loaded is not None, [(f.code, f.params) for f in findings if f.blocking]
    return summary_dict(settle(loaded, findings), "zh"), findings


def test_parquet_folder_and_file_give_the_spreadsheets_figures(sample, tmp_path):
    loaded, expected = sample
    purchases = _typed(loaded.ledgers.purchases.frame, PURCHASES)
    months = pa.array([d.strftime("%Y-%m") if d else "none" for d in purchases["order_date"].to_pylist()])
    for month in sorted(set(months.to_pylist())):            # warehouse/purchases/month=2026-07/part-0.parquet, …
        part = tmp_path / "warehouse" / "purchases" / f"month={month}"
        part.mkdir(parents=True)
        pq.write_table(purchases.filter(pa.compute.equal(months, month)), part / "part-0.parquet")
    pq.write_table(_typed(loaded.ledgers.payments.frame, PAYMENTS), tmp_path / "payments.parquet")
    campaign = _campaign(tmp_path, {"purchases": {"parquet": "warehouse/purchases/"},
                                    "payments": {"parquet": "payments.parquet"}})
    got, findings = _settle(campaign)
    for key in FIGURES:
        assert got[key] == expected[key], key
    assert got["totals"]["rebate"] == "3089954.77"
    # the float amounts are exact to the cent here, and said to be a risk
    assert [f.column for f in findings if f.code == "float-column"] == ["amount"]
    # the audit read the Parquet a second time, its own way, and found the same rows and amounts
    reread = _reread(campaign)
    assert {"reread-rows:purchases", "reread-amount:purchases", "reread-rows:payments.parquet",
            "reread-amount:payments.parquet"} <= set(reread), reread
    assert all(ours == theirs for ours, theirs in reread.values())
    assert reread["reread-amount:purchases"][1] == sum(loaded.ledgers.purchases.frame["amount"])
    # settled from the warehouse: on DuckDB by default, the detail past the limit beside as Parquet
    # (CSV when asked)
    for asked, written in ((), "lines.parquet"), (("--detail-format", "csv"), "lines.csv"):
        out = tmp_path / f"out-{written}"
        result = runner.invoke(app, ["settle", str(campaign), "--as-of", "2026-12-31", "--out", str(out), "--history",
                                     str(tmp_path / "h.sqlite"), "--detail-csv-rows", "100", "--json", *asked])
        assert result.exit_code == 0, result.output
        engine = json.loads(result.stdout)["engine"]
        assert engine["name"] == (os.environ.get("PROMO_ENGINE") or "duckdb") and engine["partitions"] >= 2
        assert sorted(p.name for p in out.iterdir() if p.name.startswith("lines")) == [written]
    # the same ledgers named on the command line: a folder of Parquet files, a file by its bytes
    (tmp_path / "payments.parquet").rename(tmp_path / "payments.dat")
    result = runner.invoke(app, ["validate", str(campaign), "--as-of", "2026-12-31", "--json",
                                 "--purchases", str(tmp_path / "warehouse" / "purchases"),
                                 "--payments", str(tmp_path / "payments.dat")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"] == expected["totals"]


def test_a_float_amount_with_more_than_cents_is_said_at_its_cell(tmp_path):
    """The spreadsheet rule: a binary float's leftover digits are rounded half-up to the cent
    with a warning at the cell, and the column is named as a risk."""
    pq.write_table(pa.table({"订单号": ["A1", "A2"], "客户编号": ["C1", "C2"], "订单日期": pa.array([date(2026, 7, 1)] * 2),
                             "金额": pa.array([0.1 + 0.2, 100.0])}), tmp_path / "p.parquet")
    campaign = tmp_path / "c.yaml"
    campaign.write_text("campaign: {id: c, period: {start: 2026-07-01, end: 2026-12-31}}\n"
                        "inputs: {purchases: {parquet: p.parquet}}\n"
                        "policies: [{id: a, type: tiered, tiers: [{from: 0, rate: 1%}]}]\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(campaign), "--as-of", "2026-12-31"])
    assert result.exit_code == 0, result.output
    assert "p.parquet!D2" in result.output and "[amount-rounded]" in result.output   # the file, row 2, column D
    assert "0.30000000000000004" in result.output and "[float-column]" in result.output


def test_sqlite_gives_the_spreadsheets_figures(sample, tmp_path):
    loaded, expected = sample
    db = tmp_path / "erp.db"
    with sqlite3.connect(db) as connection:
        for name, columns, frame in (("orders", PURCHASES, loaded.ledgers.purchases.frame),
                                     ("receipts", PAYMENTS, loaded.ledgers.payments.frame)):
            table = _typed(frame, {k: ("money" if v == "float" else v) for k, v in columns.items()})
            connection.execute(f"create table {name} ({', '.join(f'{c} text' for c in columns)})")
            rows = [[None if v is None else str(v) for v in row.values()] for row in table.to_pylist()]
            connection.executemany(f"insert into {name} values ({', '.join('?' * len(columns))})", rows)
    _settled_from_sql(tmp_path, "sqlite:///erp.db", "erp.db", loaded, expected)   # reread through sqlite3


def _settled_from_sql(folder: Path, url: str, database: str, loaded, expected: dict) -> None:
    """The sample settled from the tables orders and receipts at ``url``: the spreadsheets' figures,
    and the audit's second reading (the query run again by the database's own driver) agreeing."""
    campaign = _campaign(folder, {"purchases": {"sql": "select * from orders", "url": url},
                                  "payments": {"sql": "select * from receipts", "url": url}})
    got, _ = _settle(campaign)
    for key in FIGURES:
        assert got[key] == expected[key], key
    reread = _reread(campaign)
    assert reread[f"reread-rows:purchases (SQL {database})"] == (2789, 2789)
    assert reread[f"reread-amount:purchases (SQL {database})"][1] == sum(loaded.ledgers.purchases.frame["amount"])
    payments = reread[f"reread-rows:payments (SQL {database})"]
    assert payments[0] == payments[1] > 0


def test_a_query_the_second_reading_cannot_run_is_said(tmp_path):
    """The table goes away between the engine's reading and the audit's: the audit says it could
    not check that ledger (a warning naming the database's reason), it does not pass over it."""
    db = tmp_path / "erp.db"
    with sqlite3.connect(db) as connection:
        connection.execute("create table orders (order_id text, customer_id text, order_date text, amount text)")
        connection.execute("insert into orders values ('A1', 'C1', '2026-07-03', '600.00')")
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text("campaign: {id: t, name: t, period: {start: 2026-07-01, end: 2026-12-31}}\n"
                        "inputs: {purchases: {sql: 'select * from orders', url: 'sqlite:///erp.db'}}\n"
                        "policies:\n  - {id: ladder, type: tiered, tiers: [{from: 0, rate: 1%}]}\n", encoding="utf-8")
    loaded, findings = load(campaign, {}, date(2026, 12, 31))
    with sqlite3.connect(db) as connection:
        connection.execute("drop table orders")
    settlement = settle(loaded, findings)
    failed = [f for f in settlement.findings if f.code == "reread-failed"]
    assert [(f.severity, f.file) for f in failed] == [("warning", "purchases (SQL erp.db)")]
    assert "no such table: orders" in dict(failed[0].params)["reason"]
    assert settlement.customers[0].rebates["ladder"] == 600


def test_a_password_in_the_address_is_refused(tmp_path):
    campaign = tmp_path / "c.yaml"
    campaign.write_text("campaign: {id: c, period: {start: 2026-07-01, end: 2026-12-31}}\n"
                        "inputs: {purchases: {sql: 'select 1', url: 'postgresql://clerk:secret@db/erp'}}\n"
                        "policies: [{id: a, type: tiered, tiers: [{from: 0, rate: 1%}]}]\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(campaign)])
    assert result.exit_code == 1
    assert "PGPASSWORD" in result.output and "secret" not in result.output


def _postgres_bin() -> Path | None:
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


@pytest.fixture(scope="module")
def postgres():
    """A real PostgreSQL server of Debian's package, on a socket in a temporary folder (outside
    pytest's own, which only root may enter: as root the server runs as nobody)."""
    binaries = _postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed: apt-get install postgresql (.ci/run does)")
    pytest.importorskip("psycopg", reason="pip install 'promo-cli[postgres]'")
    folder = Path(tempfile.mkdtemp(prefix="promo-pg-"))
    folder.chmod(0o755)
    data, socket = folder / "data", folder / "socket"
    socket.mkdir()
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    user = []
    if os.geteuid() == 0:            # the server refuses to run as root: as nobody, in a folder it owns
        shutil.chown(folder, "nobody")
        shutil.chown(socket, "nobody")
        user = ["runuser", "-u", "nobody", "--"]
    subprocess.run(user + [str(binaries / "initdb"), "-D", str(data), "-U", "promo", "-A", "trust", "-E", "UTF8"],
                   check=True, capture_output=True, env=env)
    subprocess.run(user + [str(binaries / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
                           f"-k {socket} -c listen_addresses='' -p 5433", "start"], check=True, capture_output=True,
                   env=env)
    try:
        yield f"postgresql://promo@/postgres?host={socket}&port=5433"
    finally:
        subprocess.run(user + [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, env=env)
        shutil.rmtree(folder, ignore_errors=True)


def test_postgresql_gives_the_spreadsheets_figures(sample, postgres, tmp_path):
    import psycopg
    loaded, expected = sample
    with psycopg.connect(postgres, autocommit=True) as connection:
        connection.execute("drop table if exists orders, receipts")
        for name, columns, frame in (("orders", PURCHASES, loaded.ledgers.purchases.frame),
                                     ("receipts", PAYMENTS, loaded.ledgers.payments.frame)):
            kinds = {k: ("money" if v == "float" else v) for k, v in columns.items()}
            types = {"money": "numeric(14,2)", "date": "date", "int": "integer", "text": "text"}
            connection.execute(f"create table {name} ({', '.join(f'{c} {types[k]}' for c, k in kinds.items())})")
            with connection.cursor() as cursor:
                cursor.executemany(f"insert into {name} values ({', '.join(['%s'] * len(columns))})",
                                   [list(row.values()) for row in _typed(frame, kinds).to_pylist()])
    _settled_from_sql(tmp_path, postgres, "postgres", loaded, expected)           # reread through psycopg
