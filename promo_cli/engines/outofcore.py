"""Settling a ledger larger than memory, on DuckDB: read in batches, split by DuckDB, settled shard by shard.

A purchase (and payment) ledger in Parquet that holds at least OUT_OF_CORE_ROWS rows is never in
memory whole:

1. **Read in batches** (:func:`read_spilled`): the Parquet is read BATCH_ROWS records at a time,
   each batch typed and checked by the same reader as any ledger (its findings point at the
   records' own row numbers, capped per column over all batches as one reading caps them), and
   the typed rows are written to a *spill* (Parquet, in a temporary folder). A key used twice
   anywhere in the ledger is found by DuckDB over the spill.
2. **Split by DuckDB** (:func:`settle`): a rebate policy's figures are per customer (tiered,
   on-time) or per group (group purchase), so every row goes to its customer's shard
   (``hash mod n``, n = rows / SHARD_ROWS) and, when it has a group, also to its group's shard;
   every payment goes with its order. (Customers linked by groups cannot be kept together: on a
   real ledger they link up into one family that is most of it.)
3. **Settle shard by shard**, two at a time in forked workers: a shard's customers by the whole
   pipeline (:func:`promo_cli.engine.settle` with ``part=True``: the customer policies, their
   caps and rounding, the recomputation, the data checks, the reconciliation of its rows), and
   a shard's groups by the group policies (:func:`promo_cli.engine.group_rebates`: lines before
   caps and rounding). Each writes its lines to Parquet.
4. **Merge** (:func:`promo_cli.engine.settle_out_of_core`): the group lines of every shard capped
   and rounded per customer, customers by id, findings in the order of a whole-ledger run (the
   data checks' caps over all shards), the recomputation compared once, the reconciliation rows
   added up, the segments and the evaluation worked out from the purchase rows summed by
   customer, day, product and sign in DuckDB; then DuckDB sorts the lines into one file. The
   writers read the lines, and the orders from the spill (in ledger order already), a chunk at a
   time (:class:`Detail`).

What needs the whole ledger at once is not settled this way (the campaign is then read whole):
deposit and loyalty policies, a budget cap, ``applies_to``, ``tiers_by``, a baseline, target or
agreements ledger, or a SQL source (see :func:`wanted`).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from promo_cli import parallel
from promo_cli.io.columns import ARROW_TEXT, LEDGER_COLUMNS
from promo_cli.lines import sheet_order
from promo_cli.model import Finding, Ledger, finding

OUT_OF_CORE_ROWS = 2_000_000      # a Parquet ledger this long is settled out of core ($PROMO_OUT_OF_CORE_ROWS)
SHARD_ROWS = 150_000              # purchase rows per shard
BATCH_ROWS = 500_000              # records read and typed at a time
DUCKDB_MEMORY = "768MB"            # DuckDB's own limit; past it, it works from its temporary files
MAX_DUPLICATES = 20


def threshold() -> int:
    value = os.environ.get("PROMO_OUT_OF_CORE_ROWS", "").strip()
    return int(value) if value.isdigit() else OUT_OF_CORE_ROWS


# --------------------------------------------------------------------------- when

def wanted(campaign, paths: dict[str, list], engine: str) -> bool:
    """Whether this campaign is settled out of core: on ``duckdb``, a purchase ledger that is one
    Parquet file or folder of at least :func:`threshold` records (payments one Parquet too, or
    none), and only what is per customer or per group."""
    from promo_cli.model import ParquetInput
    if engine != "duckdb" or len(paths.get("purchases", [])) != 1 or len(paths.get("payments", [])) > 1:
        return False
    if any(paths.get(role) for role in ("baseline", "targets", "deposits", "agreements")):
        return False
    if any(p.type not in ("tiered", "on_time_payment", "group_purchase") or getattr(p, "applies_to", None) is not None
           or getattr(p, "tiers_by", None) for p in campaign.policies) or not campaign.policies:
        return False
    if campaign.budget is not None and campaign.budget.rebate_cap is not None:
        return False
    specs = [paths["purchases"][0]] + list(paths.get("payments", []))
    if not all(isinstance(s, ParquetInput) or (isinstance(s, Path) and _is_parquet(s)) for s in specs):
        return False
    return parquet_rows(_parquet_path(specs[0])) >= threshold()


def batches(spec) -> int:
    """How many batches a spilled ledger is read in (steps of the reading's progress)."""
    return max(1, -(-parquet_rows(_parquet_path(spec)) // BATCH_ROWS))


def _is_parquet(path: Path) -> bool:
    try:
        if path.is_dir():
            return any(path.rglob("*.parquet"))
        with path.open("rb") as handle:
            return handle.read(4) == b"PAR1"
    except OSError:
        return False


def _parquet_path(spec) -> Path:
    return Path(spec.parquet) if hasattr(spec, "parquet") else Path(spec)


def parquet_files(path: Path) -> list[Path]:
    """The files of a Parquet ledger, in the order they are read (names)."""
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))) \
        if path.is_dir() else [path]


def parquet_rows(path: Path) -> int:
    """Records in a Parquet file or folder, from the files' footers (0 when unreadable)."""
    try:
        return sum(pq.ParquetFile(f).metadata.num_rows for f in parquet_files(path))
    except (OSError, pa.ArrowInvalid):
        return 0


# --------------------------------------------------------------------------- typed rows on disk

def encode(frame: pd.DataFrame, role: str) -> pa.Table:
    """Typed ledger rows as Arrow, exactly: a number column (int or Decimal) and every other
    Python-object column as text, the rest as they are typed."""
    kinds = {c.name: c.kind for c in LEDGER_COLUMNS[role]}
    arrays, names = [], []
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object:
            values = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in column]
            array = pa.array(values, type=pa.string())
        elif str(column.dtype) == "Int64":
            array = pa.array(column.array, type=pa.int64(), from_pandas=True)
        elif pd.api.types.is_datetime64_any_dtype(column.dtype):
            array = pa.array(column.to_numpy(dtype="datetime64[s]"), type=pa.timestamp("s"))
        elif name in ARROW_TEXT or kinds.get(name) in ("id", "text"):
            array = pa.array(column, type=pa.string(), from_pandas=True)
        else:
            array = pa.array(column.to_numpy())
        arrays.append(array)
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def _cents(column: pa.ChunkedArray) -> pd.arrays.IntegerArray:
    return column.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get).array


def decode(table: pa.Table, role: str) -> pd.DataFrame:
    """The typed frame :func:`encode` was given (its dtypes and Python values)."""
    kinds = {c.name: c.kind for c in LEDGER_COLUMNS[role]}
    out = {}
    for name in table.column_names:
        column = table.column(name)
        if name == "_row":
            out[name] = column.to_numpy().astype(np.int64)
        elif pa.types.is_timestamp(column.type):
            out[name] = column.to_numpy().astype("datetime64[s]")
        elif pa.types.is_integer(column.type):        # money: integer cents, <NA> where none
            out[name] = _cents(column)
        elif name in ARROW_TEXT:
            out[name] = pd.Series(pd.arrays.ArrowExtensionArray(column), dtype="str")
        elif kinds.get(name) == "number":
            out[name] = pd.Series([None if v is None else Decimal(v) if ("." in v or "E" in v.upper()) else int(v)
                                   for v in column.to_pylist()], dtype=object)
        else:       # Python strings (None where empty), as the reader gives them: not inferred as text
            out[name] = pd.Series(column.to_pylist(), dtype=object)
    return pd.DataFrame(out)


@dataclass(frozen=True, slots=True)
class Spill:
    """A ledger's typed rows, written to Parquet instead of kept in memory."""

    path: Path
    rows: int

    def figures(self, last_row: int) -> tuple[int, int]:
        """Rows and cents up to row ``last_row`` (the audit's second reading compares them)."""
        with _db(self.path.parent) as db:
            rows, cents = db.execute(f"select count(*), coalesce(sum(amount), 0)::hugeint from "
                                     f"read_parquet({_q(self.path)}) where _row <= ?", [last_row]).fetchone()
        return int(rows), int(cents)


class WorkFolderError(Exception):
    """The temporary folder of a settlement out of core could not be written (a full disk, no
    permission): not a bug, and nothing is settled."""

    def __init__(self, folder: Path | str, exc: Exception) -> None:
        super().__init__(f"{folder}: {exc}")
        self.folder, self.exc = str(folder), exc


_FOLDERS: list[str] = []


def work_folder() -> Path:
    """A temporary folder for this run's spills and shards, removed when the process ends."""
    try:
        folder = tempfile.mkdtemp(prefix="promo-duckdb-")
    except OSError as exc:
        raise WorkFolderError(tempfile.gettempdir(), exc) from None
    if not _FOLDERS:
        atexit.register(lambda: [shutil.rmtree(f, ignore_errors=True) for f in _FOLDERS])
    _FOLDERS.append(folder)
    return Path(folder)


def read_spilled(spec, role: str, folder: Path, progress=None) -> tuple[Ledger | None, list[Finding]]:
    """Read a Parquet ledger BATCH_ROWS records at a time: each batch typed and checked by the
    ledger reader (row numbers of the whole file), the typed rows spilled to ``folder``.
    Returns the ledger (its frame empty, its rows in ``spill``) and every finding, a key used
    twice (across batches too) included."""
    import pyarrow.dataset as ds
    from promo_cli.io.readers import Source, arrow, parse_ledger, source_name
    from promo_cli.model import ParquetInput
    spec = spec if isinstance(spec, ParquetInput) else ParquetInput(parquet=str(spec))
    name, path = source_name(spec, role), Path(spec.parquet)
    files = parquet_files(path)
    digest = arrow.parquet_digest(path, files)
    dataset = ds.dataset([str(f) for f in files], format="parquet", partitioning="hive" if path.is_dir() else None,
                         partition_base_dir=str(path) if path.is_dir() else None)
    target = folder / f"{role}.parquet"
    writer, first, findings, seen, rows, offset = None, None, [], set(), 0, 0
    try:
        for batch in dataset.to_batches(batch_size=BATCH_ROWS, batch_readahead=1, fragment_readahead=1):
            if not batch.num_rows:
                continue
            table, notes = arrow.arrow_table(pa.Table.from_batches([batch]), name)
            table = replace(table, first_row=table.first_row + offset)
            offset += batch.num_rows
            ledger, more = parse_ledger(Source(path, role, None, "parquet", digest, None, notes, tables=[table]))
            for f in more:      # the header's findings come with every batch: once; keys twice: below
                if f.code == "duplicate-id" or (f.code == "more-like-this" and dict(f.params).get("like") == "duplicate-id"):
                    continue
                if repr(f) not in seen:
                    seen.add(repr(f))
                    findings.append(f)
            if ledger is None:
                return None, findings
            first = first or replace(ledger, frame=ledger.frame.iloc[:0].copy())
            data = encode(ledger.frame, role)
            try:
                if writer is None:
                    writer = pq.ParquetWriter(target, data.schema)
                writer.write_table(data.cast(writer.schema))
            except OSError as exc:
                raise WorkFolderError(folder, exc) from None
            rows += len(ledger.frame)
            del ledger, data, table
            _release()
            if progress:
                progress("reading", what=f"{name} {offset:,}")      # one step a batch (see batches())
    except (pa.ArrowInvalid, OSError) as exc:
        return None, findings + [finding("error", "parquet-unreadable", file=name, blocking=True, role=role,
                                         reason=str(exc).splitlines()[0])]
    finally:
        if writer is not None:
            writer.close()
    if first is None:
        return None, [finding("error", "no-data-rows-needed", file=name, blocking=True, role=role, policy="—")]
    ledger = Ledger(role=role, path=path, sheet=None, frame=first.frame.iloc[:0], sha256=digest,
                    headers=first.headers, spill=Spill(target, rows))
    _release()
    return ledger, recap(findings) + duplicate_keys(ledger)


def recap(findings: list[Finding]) -> list[Finding]:
    """The batches' findings as one reading gives them: at most MAX_FINDINGS_PER_COLUMN cells of a
    kind per column, the rest counted in one ``more-like-this`` (where the first one stood)."""
    from promo_cli.io.readers import MAX_FINDINGS_PER_COLUMN
    shown: dict[tuple, int] = {}
    more: dict[tuple, int] = {}
    out: list[Finding | tuple] = []
    for f in findings:
        if f.code == "more-like-this":
            key = (dict(f.params).get("like"), f.column)
            if key not in more:
                out.append(("more", key, f))
            more[key] = more.get(key, 0) + dict(f.params).get("count", 0)
            continue
        key = (f.code, f.column)
        if f.row is not None and shown.get(key, 0) >= MAX_FINDINGS_PER_COLUMN:
            if key not in more:
                out.append(("more", key, f))
            more[key] = more.get(key, 0) + 1
            continue
        shown[key] = shown.get(key, 0) + 1
        out.append(f)
    result = []
    for item in out:
        if not isinstance(item, tuple):
            result.append(item)
            continue
        _, key, sample = item
        if sample.code == "more-like-this":
            result.append(replace(sample, params=tuple({**dict(sample.params), "count": more[key]}.items())))
        else:
            result.append(finding(sample.severity, "more-like-this", file=sample.file, sheet=sample.sheet,
                                  column=sample.column, blocking=sample.blocking, count=more[key], like=key[0]))
    return result


def _db(folder: Path):
    import duckdb
    threads = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    db = duckdb.connect(config={"threads": threads, "memory_limit": DUCKDB_MEMORY,
                                "temp_directory": str(folder / "duckdb.tmp"), "preserve_insertion_order": False})
    return db


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def duplicate_keys(ledger: Ledger) -> list[Finding]:
    """A key (order id, payment id) used twice anywhere in a spilled ledger: the reader's
    ``duplicate-id`` findings, worked out by DuckDB."""
    from promo_cli.io.readers import MAX_FINDINGS_PER_COLUMN, UNIQUE_KEY
    key = UNIQUE_KEY.get(ledger.role)
    if key is None or key not in ledger.frame:
        return []
    spill = f"read_parquet({_q(ledger.spill.path)})"
    with _db(ledger.spill.path.parent) as db:      # the keys used twice first (none, as a rule), then their rows
        db.execute(f'create temp table twice as select "{key}" as v from {spill} where "{key}" is not null '
                   f'group by "{key}" having count(*) > 1')
        rows = db.execute(f"""
            with k as (select "{key}" as v, _row, min(_row) over (partition by "{key}") as first
                       from {spill} where "{key}" in (select v from twice))
            select v, _row, first from k where _row > first order by _row""").fetchall()
    out = []
    for count, (value, row, first) in enumerate(rows):
        if count >= MAX_FINDINGS_PER_COLUMN:
            out.append(finding("error", "more-like-this", **ledger.at(key), blocking=True, count=len(rows) - count,
                               like="duplicate-id"))
            break
        out.append(finding("error", "duplicate-id", **ledger.at(key, int(row)), value=value, blocking=True,
                           first_row=int(first)))
    return out


# --------------------------------------------------------------------------- the detail on disk

@dataclass(slots=True)
class Detail:
    """Every line and every order of a settlement settled out of core, each one Parquet file in
    the order of the workbooks' Lines and Orders sheets (the orders: the purchase ledger's
    spill), read back a chunk at a time."""

    lines: Path
    orders: Path
    line_count: int
    order_count: int
    finest: int                         # the finest scale of any line (exact amounts' decimals)
    status: Callable[[pd.DataFrame], np.ndarray]     # how each purchase row counted (counted, before-start …)
    _open: dict = field(default_factory=dict)

    def chunk(self, which: str, start: int, stop: int) -> pd.DataFrame:
        """Rows ``start`` to ``stop`` of ``lines`` or ``orders``, typed as the settlement's frames.
        The writers ask for them in order: each file is read once, 65,536 rows at a time."""
        cursor = self._open.get(which)
        if cursor is None or start < cursor.offset:
            cursor = self._open[which] = _Cursor(self.lines if which == "lines" else self.orders)
        table = cursor.take(start, stop)
        if which == "lines":
            return decode_lines(table)
        orders = decode(table, "purchases")
        return orders.assign(status=self.status(orders))


class _Cursor:
    """A Parquet file read forward: ``buffer`` holds its rows from ``offset`` on."""

    def __init__(self, path: Path) -> None:
        file = pq.ParquetFile(path)
        self.batches = file.iter_batches(batch_size=65_536)
        self.buffer, self.offset = file.schema_arrow.empty_table(), 0

    def take(self, start: int, stop: int) -> pa.Table:
        while self.offset + self.buffer.num_rows < stop:
            batch = next(self.batches, None)
            if batch is None:
                break
            self.buffer = pa.concat_tables([self.buffer, pa.Table.from_batches([batch])])
        part = self.buffer.slice(start - self.offset, stop - start)
        self.buffer = self.buffer.slice(min(stop - self.offset, self.buffer.num_rows))
        self.offset = max(stop, self.offset)
        return part


_DECIMALS = ("rate", "lower", "upper")


def encode_lines(lines: pd.DataFrame) -> pa.Table:
    """Rebate lines as Arrow: Decimal columns as their exact text."""
    frame = lines.copy()
    for name in _DECIMALS:
        frame[name] = pd.array([None if v is None else str(v) for v in frame[name]], dtype=pd.ArrowDtype(pa.string()))
    return pa.Table.from_pandas(frame, preserve_index=False)


def decode_lines(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas(types_mapper=lambda t: pd.ArrowDtype(t) if pa.types.is_string(t) else None)
    for name in _DECIMALS:
        frame[name] = np.array([None if v is None else Decimal(v) for v in table.column(name).to_pylist()],
                               dtype=object)
    for name in ("policy_id", "customer_id", "kind", "ref", "note"):
        frame[name] = frame[name].astype("str")
    frame["source_row"] = frame["source_row"].astype("Int64")
    for name in ("due_date", "paid_on"):
        frame[name] = frame[name].to_numpy(dtype="datetime64[s]")
    return frame


# --------------------------------------------------------------------------- settling

# what the totals read of the lines they need: pending orders (on-time), rebates taken at payment
KEPT = ("policy_id", "kind", "note", "base")


@dataclass(frozen=True, slots=True)
class ShardResult:
    """What a shard settled: its customers (their customer-keyed policies), findings by where they
    come from, the recomputed cents and line sums per (customer, policy), its reconciliation rows
    of the ledgers, the lines the totals need; and its groups' raw rebates (``RebateResult`` of
    the group-keyed policies, before caps and rounding), or None."""

    customers: tuple
    groups: dict
    second: dict
    by_pair: dict
    reconciliation: tuple
    kept: pd.DataFrame
    lines: int
    finest: int
    grouped: Any = None


def settle(loaded, progress, settle_part: Callable, group_part: Callable, finish: Callable, status: Callable):
    """The campaign's settlement from its spilled ledgers (see the module's description).
    ``settle_part(loaded)`` settles one shard's customers as the pipeline does,
    ``group_part(loaded)`` the group-keyed policies of one shard's groups, ``finish(results,
    reduced, write_lines, shards)`` makes the Settlement from what they gave; ``status(rows)``
    says how each purchase row counted."""
    import duckdb
    folder = loaded.ledgers.purchases.spill.path.parent
    try:
        return _settle(loaded, progress, settle_part, group_part, finish, status)
    except (OSError, duckdb.IOException) as exc:        # a full disk: nothing settled
        raise WorkFolderError(folder, exc) from None


def _settle(loaded, progress, settle_part: Callable, group_part: Callable, finish: Callable, status: Callable):
    purchases, payments = loaded.ledgers.purchases, loaded.ledgers.payments
    folder = purchases.spill.path.parent
    shards = max(2, -(-purchases.spill.rows // SHARD_ROWS))
    progress("settling", total=shards + 3)
    progress("settling", what="duckdb split")
    with _db(folder) as db:
        _split(db, purchases, payments, folder, shards)
    _release()
    (folder / "lines").mkdir(exist_ok=True)
    jobs, results = [], []
    workers = max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2))
    for k in range(shards):
        jobs.append(parallel.Apart(_settle_shard, loaded, folder, k, settle_part, group_part, fork=True))
        if len(jobs) >= workers:
            results.append(jobs.pop(0).result())
            progress("settling", what=f"shard {len(results)}/{shards}")
    results += [job.result() for job in jobs]

    def write_lines(lines: pd.DataFrame) -> None:
        """More lines (the group-keyed policies', rounded in the merge) beside the shards'."""
        pq.write_table(encode_lines(_ranked(lines, loaded.campaign)), folder / "lines" / "part-groups.parquet")

    settlement, more_lines = finish(results, lambda: _reduced_of(folder, purchases), write_lines, shards)
    progress("settling", what="duckdb lines")
    with _db(folder) as db:
        db.execute(f"copy (select * exclude (rank, seq) from read_parquet({_q(folder / 'lines' / '*.parquet')}, "
                   f"union_by_name = true) order by customer_id, rank, seq) to {_q(folder / 'lines.parquet')} "
                   f"(format parquet, row_group_size 100000)")
    finest = max([r.finest for r in results] + [int(more_lines["scale"].max()) if len(more_lines) else 2])
    detail = Detail(folder / "lines.parquet", purchases.spill.path, sum(r.lines for r in results) + len(more_lines),
                    purchases.spill.rows, finest, status)
    return replace(settlement, detail=detail)


def _release() -> None:
    """Give back to the system what the reading and the split freed (forked workers then start small)."""
    import gc
    gc.collect()
    pa.default_memory_pool().release_unused()


def _split(db, purchases: Ledger, payments: Ledger | None, folder: Path, shards: int) -> None:
    """Every purchase row to its customer's shard, and again, when it has a group, to its
    group's shard; every payment to its order's shard (shard 0 for an order no purchase row
    has), and a grouped order's payments to its group's shard too."""
    (folder / "shards").mkdir(exist_ok=True)
    p = f"read_parquet({_q(purchases.spill.path)})"
    of = lambda column: f"coalesce(hash({column}) % {shards}, 0)"      # noqa: E731
    db.execute(f"copy (select *, {of('customer_id')} as k from {p}) "
               f"to {_q(folder / 'shards' / 'purchases')} (format parquet, partition_by (k))")
    db.execute(f"copy (select *, {of('group_id')} as k from {p} where group_id is not null) "
               f"to {_q(folder / 'shards' / 'grouped')} (format parquet, partition_by (k))")
    if payments is None:
        return
    db.execute(f"create temp table orders as select order_id, any_value({of('customer_id')}) as k, "
               f"any_value(group_id) as g, any_value({of('group_id')}) as gk from {p} "
               f"where order_id is not null group by order_id")
    q = f"read_parquet({_q(payments.spill.path)})"
    db.execute(f"copy (select q.*, coalesce(o.k, 0) as k from {q} q left join orders o on o.order_id = q.order_id) "
               f"to {_q(folder / 'shards' / 'payments')} (format parquet, partition_by (k))")
    db.execute(f"copy (select q.*, o.gk as k from {q} q join orders o on o.order_id = q.order_id "
               f"where o.g is not null) to {_q(folder / 'shards' / 'grouped_payments')} (format parquet, partition_by (k))")


def _reduced_of(folder: Path, purchases: Ledger) -> pd.DataFrame:
    with _db(folder) as db:
        return _reduced(db, purchases)


def _reduced(db, purchases: Ledger) -> pd.DataFrame:
    """The purchase rows summed by customer, day, product and sign (``n`` rows each): what the
    segments, the evaluation and the budget's months need of them."""
    product = "product" if "product" in purchases.frame else "null::varchar"
    # quantities exactly (a value past 18 decimals or 20 digits stops the run: never dropped or rounded)
    quantity = "sum(cast(quantity as decimal(38, 18)))" if "quantity" in purchases.frame else "null::decimal(38, 18)"
    table = db.sql(f"""
        select customer_id, order_date, {product} as product,
               count(*)::bigint as n, sum(amount)::bigint as amount, {quantity} as quantity
        from read_parquet({_q(purchases.spill.path)})
        group by customer_id, order_date, {product}, amount > 0
        order by customer_id, order_date""").to_arrow_table()
    frame = pd.DataFrame({
        "customer_id": pd.arrays.ArrowExtensionArray(table.column("customer_id")),
        "order_date": table.column("order_date").to_numpy().astype("datetime64[s]"),
        "product": pd.arrays.ArrowExtensionArray(table.column("product")),
        "n": table.column("n").to_numpy(),
        "amount": _cents(table.column("amount")),
        "quantity": pd.arrays.ArrowExtensionArray(table.column("quantity")),
    })
    if "product" not in purchases.frame:
        frame = frame.drop(columns="product")
    if "quantity" not in purchases.frame:
        frame = frame.drop(columns="quantity")
    return frame


def _shard_ledger(ledger: Ledger | None, folder: Path, name: str, k: int) -> Ledger | None:
    if ledger is None:
        return None
    part = folder / "shards" / name / f"k={k}"
    files = sorted(part.glob("*.parquet")) if part.exists() else []
    if files:
        table = pa.concat_tables([pq.read_table(f) for f in files])
        table = table.drop_columns([c for c in ("k",) if c in table.column_names])
        frame = decode(table, ledger.role).sort_values("_row", kind="stable", ignore_index=True)
    else:
        frame = ledger.frame.iloc[:0]
    return replace(ledger, frame=frame, spill=None)


def _ranked(lines: pd.DataFrame, campaign) -> pd.DataFrame:
    """Lines in the order of the Lines sheet (customer, then policy as in the campaign), with that
    order's ``rank`` (the policy's) and ``seq`` (its place) for DuckDB's final sort."""
    order, rank = sheet_order(lines, [p.id for p in campaign.rebate_policies])
    lines = lines.take(order).reset_index(drop=True)
    return lines.assign(rank=rank[order], seq=np.arange(len(lines), dtype=np.int64))


def split_policies(campaign) -> tuple[list, list]:
    """The rebate policies settled where the customer's rows are, and those where the group's are."""
    from promo_cli.policies import PARTITION_KEY
    policies = campaign.rebate_policies
    return ([p for p in policies if PARTITION_KEY[p.type] == "customer_id"],
            [p for p in policies if PARTITION_KEY[p.type] != "customer_id"])


@parallel.collector_paused()
def _settle_shard(loaded, folder: Path, k: int, settle_part: Callable, group_part: Callable) -> ShardResult:
    by_customer, by_group = split_policies(loaded.campaign)
    ledgers = replace(loaded.ledgers, purchases=_shard_ledger(loaded.ledgers.purchases, folder, "purchases", k),
                      payments=_shard_ledger(loaded.ledgers.payments, folder, "payments", k))
    s = settle_part(replace(loaded, ledgers=ledgers, engine="local",
                            campaign=loaded.campaign.model_copy(update={"policies": by_customer})))
    grouped = None
    if by_group:
        ledgers = replace(loaded.ledgers, purchases=_shard_ledger(loaded.ledgers.purchases, folder, "grouped", k),
                          payments=_shard_ledger(loaded.ledgers.payments, folder, "grouped_payments", k))
        grouped = group_part(replace(loaded, ledgers=ledgers,
                                     campaign=loaded.campaign.model_copy(update={"policies": by_group})))
    lines = _ranked(s.lines, loaded.campaign)
    pq.write_table(encode_lines(lines), folder / "lines" / f"part-{k:05d}.parquet")
    by_pair = {key: int(cents) for key, cents in
               s.lines.groupby(["customer_id", "policy_id"], sort=False)["rebate"].sum().items()}
    second = {(c, p): theirs for c, p, _, theirs in s.recomputed if theirs is not None}
    return ShardResult(s.customers, s.groups, second, by_pair, s.reconciliation, kept(lines), len(lines),
                       int(lines["scale"].max()) if len(lines) else 2, grouped)


def kept(lines: pd.DataFrame) -> pd.DataFrame:
    """The lines the totals read (pending orders, rebates taken at payment), their columns they read."""
    if not len(lines):
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in KEPT})
    mine = (lines["note"] == "not-yet-due").to_numpy() | (lines["kind"] == "taken-at-payment").to_numpy()
    return lines.loc[mine, list(KEPT)].reset_index(drop=True)


def reconciliation(parts: list[tuple]) -> list[tuple[str, int, int, str]]:
    """The shards' reconciliation rows, added up key by key (all are counts or sums)."""
    totals: dict[str, list] = {}
    for rows in parts:
        for key, left, right, unit in rows:
            if key in totals:
                totals[key][0] += left
                totals[key][1] += right
            else:
                totals[key] = [left, right, unit]
    return [(key, left, right, unit) for key, (left, right, unit) in totals.items()]
