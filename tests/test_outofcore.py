"""A Parquet ledger settled out of core on DuckDB gives the figures of the whole ledger (issue 22).

The thresholds are lowered so that a few thousand rows go the way tens of millions do: read in
batches into a typed spill, split by DuckDB into shards by customer and by group, settled shard
by shard in worker processes, merged, the lines sorted on disk and read back a chunk at a time.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from promo_cli.cli import app
from promo_cli.engine import load
from promo_cli.engines import outofcore
from promo_cli.io.writers import sheet
from promo_cli.model import ParquetInput

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench  # noqa: E402

runner = CliRunner()


@pytest.fixture
def small_shards(monkeypatch):
    """Out of core from 5,000 rows, read 3,000 at a time, 4,000 purchase rows a shard; the detail
    files written 7,000 rows at a time (read back from disk in 65,536-row steps: they straddle)."""
    monkeypatch.setenv("PROMO_OUT_OF_CORE_ROWS", "5000")
    monkeypatch.setattr(outofcore, "BATCH_ROWS", 3000)
    monkeypatch.setattr(outofcore, "SHARD_ROWS", 4000)
    monkeypatch.setattr(sheet, "CSV_CHUNK_ROWS", 7000)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """The benchmark's factory ledgers in Parquet, 20,000 orders (returns, groups, late payments)."""
    folder = tmp_path_factory.mktemp("warehouse")
    bench.write_factory_parquet(folder, 20_000)
    return folder


def _settle(campaign: Path, out: Path, engine: str, *extra: str, as_of: str = "2026-06-30") -> dict:
    result = runner.invoke(app, ["settle", str(campaign), "--out", str(out), "--history", str(out.parent / f"{out.name}.sqlite"),
                                 "--as-of", as_of, "--engine", engine, "--json", *extra])
    assert result.exit_code in (0, 3), result.output
    return json.loads(result.stdout)


def _sheets(path: Path) -> dict[str, list]:
    """Every sheet's cells, but the rows that say when and where it was made."""
    book = openpyxl.load_workbook(path, read_only=True)
    return {name: [row for row in book[name].iter_rows(values_only=True)
                   if row and row[0] not in ("生成时间", "Generated", "结算引擎", "Settled on")]
            for name in book.sheetnames}


@pytest.mark.parametrize("detail", ["parquet", "csv"])
def test_out_of_core_gives_every_figure_of_the_whole_ledger(warehouse, tmp_path, small_shards, detail):
    campaign = warehouse / "campaign.yaml"
    whole = _settle(campaign, tmp_path / "local", "local", "--detail-csv-rows", "1000", "--detail-format", detail)
    shards = _settle(campaign, tmp_path / "duckdb", "duckdb", "--detail-csv-rows", "1000", "--detail-format", detail)
    assert whole["engine"] == {"name": "local", "partitions": 1}
    assert shards["engine"] == {"name": "duckdb", "partitions": 5, "out_of_core": True}
    for key in sorted(set(whole) | set(shards)):
        if key not in ("engine", "run"):
            assert shards.get(key) == whole.get(key), key      # findings in the same order too
    assert whole["totals"]["rebate"] == "2500192.56"     # as settled whole (the policy suites compute by hand)
    assert len(whole["findings"]) > 100
    for name in ("rebate_detail.xlsx", "budget.xlsx", "audit_report.xlsx"):
        assert _sheets(tmp_path / "duckdb" / name) == _sheets(tmp_path / "local" / name), name
    for name in ("lines", "orders", "recompute"):       # the detail beside, row for row
        if detail == "csv":
            assert (tmp_path / "duckdb" / f"{name}.csv").read_bytes() == (tmp_path / "local" / f"{name}.csv").read_bytes()
        else:
            assert pq.read_table(tmp_path / "duckdb" / f"{name}.parquet").equals(
                pq.read_table(tmp_path / "local" / f"{name}.parquet")), name
    lines = tmp_path / "duckdb" / f"lines.{detail}"
    assert (pq.read_metadata(lines).num_rows if detail == "parquet" else len(lines.read_text(encoding="utf-8").splitlines())) > 20_000


def _messy(folder: Path) -> Path:
    """A warehouse folder of two Parquet files, typed as text the way an export is: an order id
    used again 5,000 rows later (another batch), 29 amounts and a date that are not ones, ids with
    spaces, a customer in two groups with another."""
    rows = []
    for i in range(7000):
        rows.append({"订单号": f"SO{i:06d}", "客户编号": f" C{i % 97:03d}" if i % 500 == 0 else f"C{i % 97:03d}",
                     "订单日期": "2026-02-30" if i == 4321 else f"2026-0{1 + i % 6}-1{i % 9}",
                     "金额": "12,3x" if i == 6001 or i % 250 == 7 else f"{(i % 50) * 10 + 5}.25",
                     "数量": str(1 + i % 7), "团购编号": "G1" if i in (10, 11) else ("G2" if i in (12, 13) else None)})
    rows[5500]["订单号"] = "SO000002"
    frame = pd.DataFrame(rows)
    (folder / "wh").mkdir()
    pq.write_table(pa.Table.from_pandas(frame.iloc[:4000], preserve_index=False), folder / "wh" / "a.parquet")
    pq.write_table(pa.Table.from_pandas(frame.iloc[4000:], preserve_index=False), folder / "wh" / "b.parquet")
    return folder / "wh"


def test_a_ledger_read_in_batches_reads_as_it_does_whole(tmp_path, small_shards):
    """The typed rows on disk are the rows of the whole ledger (dtypes, values, row numbers), and
    the findings are the same, the key used twice across batches included."""
    folder = _messy(tmp_path)
    whole_ledger, whole = __import__("promo_cli.io.readers", fromlist=["x"]).read_ledger(folder, "purchases")
    batched, findings = outofcore.read_spilled(ParquetInput(parquet=str(folder)), "purchases", tmp_path)
    assert any(f.blocking for f in whole) and any(f.blocking for f in findings)   # the order id used twice
    assert sorted(map(repr, findings)) == sorted(map(repr, whole))
    duplicate = [f for f in findings if f.code == "duplicate-id"]
    assert [(f.row, dict(f.params)["first_row"], f.cell) for f in duplicate] == [(5502, 4, "A5502")]
    # 29 amounts that are none, in all three batches: 20 shown, the other 9 counted once
    assert len([f for f in findings if f.code == "not-a-number"]) == 20
    assert [dict(f.params)["count"] for f in findings if f.code == "more-like-this"] == [9]


def test_the_typed_rows_on_disk_are_the_whole_ledgers_rows(tmp_path, small_shards):
    folder = _messy(tmp_path)
    table = pq.read_table(folder / "b.parquet").to_pandas()
    table.loc[1500, "订单号"] = "SO999999"                      # no key twice: the ledger reads
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), folder / "b.parquet")
    from promo_cli.io.readers import read_ledger
    whole, whole_findings = read_ledger(folder, "purchases")
    batched, findings = outofcore.read_spilled(ParquetInput(parquet=str(folder)), "purchases", tmp_path)
    assert batched.rows == len(whole.frame) == 7000
    assert sorted(map(repr, findings)) == sorted(map(repr, whole_findings))
    spilled = outofcore.decode(pq.read_table(batched.spill.path), "purchases")
    pd.testing.assert_frame_equal(spilled, whole.frame.reset_index(drop=True))
    assert spilled["customer_id"].iloc[0] == "C000"             # an id's spaces trimmed, as whole


def test_a_customers_rows_go_to_one_shard_and_a_groups_rows_to_one_shard(tmp_path, small_shards):
    """Customer-keyed policies see all of a customer's rows, the group policy all of a group's
    rows and payments, whatever shards the hash gives them."""
    rows = [("A1", "C1", None), ("A2", "C1", "G1"), ("B1", "C2", "G1"), ("B2", "C2", "G2"), ("C1", "C3", "G2"),
            ("D1", "C4", None)] + [(f"X{i}", f"Z{i % 40}", f"H{i % 13}" if i % 3 else None) for i in range(300)]
    frame = pd.DataFrame({"order_id": [r[0] for r in rows], "customer_id": [r[1] for r in rows],
                          "order_date": date(2026, 7, 1), "amount": "10.00", "group_id": [r[2] for r in rows]})
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "p.parquet")
    pays = pd.DataFrame({"payment_id": [f"P{i}" for i in range(len(rows) + 1)],
                         "order_id": [r[0] for r in rows] + ["NO-SUCH-ORDER"], "payment_date": date(2026, 7, 9),
                         "amount": "10.00"})
    pq.write_table(pa.Table.from_pandas(pays, preserve_index=False), tmp_path / "q.parquet")
    ledger, findings = outofcore.read_spilled(ParquetInput(parquet=str(tmp_path / "p.parquet")), "purchases", tmp_path)
    payments, more = outofcore.read_spilled(ParquetInput(parquet=str(tmp_path / "q.parquet")), "payments", tmp_path)
    assert ledger is not None and payments is not None, findings + more
    with outofcore._db(tmp_path) as db:
        outofcore._split(db, ledger, payments, tmp_path, 8)

    def shard_of(name: str) -> pd.DataFrame:
        table = pq.read_table(tmp_path / "shards" / name).to_pandas()
        return table.assign(k=table["k"].astype(int))

    by_customer, by_group = shard_of("purchases"), shard_of("grouped")
    assert len(by_customer) == len(rows) and by_customer["_row"].is_unique
    assert (by_customer.groupby("customer_id")["k"].nunique() == 1).all()
    assert by_customer["k"].nunique() > 2                        # spread over the shards
    assert sorted(by_group["order_id"]) == sorted(r[0] for r in rows if r[2])
    assert (by_group.groupby("group_id")["k"].nunique() == 1).all()
    paid, paid_grouped = shard_of("payments"), shard_of("grouped_payments")
    home = dict(zip(by_customer["order_id"], by_customer["k"]))
    assert len(paid) == len(rows) + 1
    assert all(k == home.get(order, 0) for order, k in zip(paid["order_id"], paid["k"]))   # an unknown order: 0
    group_home = dict(zip(by_group["order_id"], by_group["k"]))
    assert sorted(paid_grouped["order_id"]) == sorted(group_home)
    assert all(k == group_home[order] for order, k in zip(paid_grouped["order_id"], paid_grouped["k"]))


def test_a_customer_in_two_groups_in_two_shards_is_settled_as_whole(tmp_path, monkeypatch):
    """The engines' hand-computed case (C2 in groups G1 and G2, a ladder with a per-customer cap,
    a payment of no order), in Parquet, one row a shard: every figure equal to the whole ledger's."""
    from tests.test_engines import _groups_across_customers
    campaign = _groups_across_customers(tmp_path)
    for name in ("purchases", "payments"):
        table = pd.read_csv(tmp_path / f"{name}.csv", dtype=str, encoding="utf-8-sig")
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp_path / f"{name}.parquet")
    campaign.write_text(campaign.read_text(encoding="utf-8").replace(".csv", ".parquet"), encoding="utf-8")
    whole = _settle(campaign, tmp_path / "local", "local", as_of="2026-12-31")
    monkeypatch.setenv("PROMO_OUT_OF_CORE_ROWS", "1")
    monkeypatch.setattr(outofcore, "SHARD_ROWS", 1)
    shards = _settle(campaign, tmp_path / "duckdb", "duckdb", as_of="2026-12-31")
    assert shards["engine"] == {"name": "duckdb", "partitions": 6, "out_of_core": True}
    for key in sorted(set(whole) | set(shards)):
        if key not in ("engine", "run"):
            assert shards.get(key) == whole.get(key), key
    # by hand (see test_engines): C2's group shares 6.00 of G1 and 0.40 of G2, from two shards
    assert [(c["customer_id"], c["rebates"]) for c in shards["customers"]] == [
        ("C1", {"ladder": "7.00", "on_time": "3.01", "group_buy": "0.02"}),
        ("C2", {"ladder": "3.20", "on_time": "1.60", "group_buy": "6.40"}),
        ("C3", {"ladder": "1.50", "on_time": "0.25", "group_buy": "2.00"})]
    assert _sheets(tmp_path / "duckdb" / "rebate_detail.xlsx") == _sheets(tmp_path / "local" / "rebate_detail.xlsx")


def test_what_needs_the_whole_ledger_is_read_whole(warehouse, tmp_path, small_shards):
    """A budget cap ranks every customer's lines together: the campaign is read whole."""
    campaign = tmp_path / "capped.yaml"
    text = (warehouse / "campaign.yaml").read_text(encoding="utf-8").replace(
        "purchases.parquet", str(warehouse / "purchases.parquet")).replace(
        "payments.parquet", str(warehouse / "payments.parquet"))
    campaign.write_text(text + "budget: {rebate_cap: {amount: 1000000, rule: prorate}}\n", encoding="utf-8")
    summary = _settle(campaign, tmp_path / "out", "duckdb")
    assert summary["engine"]["name"] == "duckdb" and "out_of_core" not in summary["engine"]
    loaded, _ = load(warehouse / "campaign.yaml", {}, date(2026, 6, 30), engine="duckdb")
    assert loaded.ledgers.purchases.spill is not None and loaded.ledgers.purchases.frame.empty


def test_a_ladder_alone_without_payments_is_settled_out_of_core(warehouse, tmp_path, small_shards):
    """No group policy (no group shards) and no payment ledger: the same figures as whole."""
    campaign = tmp_path / "ladder.yaml"
    campaign.write_text(f"""\
campaign: {{id: ladder-only, name: 阶梯, period: {{start: 2026-01-01, end: 2026-06-30}}}}
inputs: {{purchases: {{parquet: {warehouse / 'purchases.parquet'}}}}}
policies:
  - {{id: ladder, type: tiered, tiers: [{{from: 0, rate: 1%}}, {{from: 100000, rate: 2.5%}}], cap: {{per_customer: 50}}}}
""", encoding="utf-8")
    whole = _settle(campaign, tmp_path / "local", "local", as_of="2026-05-31")
    shards = _settle(campaign, tmp_path / "duckdb", "duckdb", as_of="2026-05-31")
    assert shards["engine"]["out_of_core"] is True
    for key in sorted(set(whole) | set(shards)):
        if key not in ("engine", "run"):
            assert shards.get(key) == whole.get(key), key
    assert any(c["rebates"]["ladder"] == "50.00" for c in shards["customers"])      # the cap bit somewhere
    assert _sheets(tmp_path / "duckdb" / "rebate_detail.xlsx") == _sheets(tmp_path / "local" / "rebate_detail.xlsx")


def test_a_full_temporary_disk_is_said_plainly_and_nothing_is_written(warehouse, tmp_path, small_shards, monkeypatch):
    """No space left for the shards: exit 7 (cannot write), the folder and the reason in words, no
    crash log to report, no output, no run in the history."""
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(outofcore, "_split", full)
    result = runner.invoke(app, ["settle", str(warehouse / "campaign.yaml"), "--out", str(tmp_path / "out"),
                                 "--history", str(tmp_path / "h.sqlite"), "--as-of", "2026-06-30", "--engine", "duckdb",
                                 "--lang", "zh"])
    assert result.exit_code == 7, result.output
    assert "无法在临时文件夹" in result.output and "promo-duckdb-" in result.output and "TMPDIR" in result.output
    assert "promo-crash-" not in result.output
    assert not (tmp_path / "out").exists()
    listed = runner.invoke(app, ["history", "--history", str(tmp_path / "h.sqlite"), "--format", "tsv"])
    assert "bench-factory" not in listed.output


def test_each_customers_lines_are_read_from_disk_customer_by_customer(tmp_path, monkeypatch):
    """What a payout's statements show: each customer's lines, the same as the whole Lines sheet's
    rows of that customer, read two rows at a time (a customer's lines across chunks kept together)."""
    from promo_cli.engine import settle
    from promo_cli.io.writers.rebate_detail import lines_by_customer, lines_table
    from tests.test_engines import _groups_across_customers
    campaign = _groups_across_customers(tmp_path)
    for name in ("purchases", "payments"):
        table = pd.read_csv(tmp_path / f"{name}.csv", dtype=str, encoding="utf-8-sig")
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp_path / f"{name}.parquet")
    campaign.write_text(campaign.read_text(encoding="utf-8").replace(".csv", ".parquet"), encoding="utf-8")
    whole = lines_table(settle(*load(campaign, {}, date(2026, 12, 31), engine="local")), "zh")
    monkeypatch.setenv("PROMO_OUT_OF_CORE_ROWS", "1")
    monkeypatch.setattr(outofcore, "SHARD_ROWS", 1)
    monkeypatch.setattr(sheet, "CSV_CHUNK_ROWS", 2)
    shards = settle(*load(campaign, {}, date(2026, 12, 31), engine="duckdb"))
    assert shards.detail is not None and shards.detail.line_count == len(whole) > 6
    seen = list(lines_by_customer(shards, "zh"))
    assert [customer for customer, _ in seen] == ["C1", "C2", "C3"]
    for customer, frame in seen:
        expected = whole[whole["customer_id"] == customer].reset_index(drop=True)
        pd.testing.assert_frame_equal(frame.astype(str), expected.astype(str))
