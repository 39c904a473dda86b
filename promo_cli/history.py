"""Settlement history in SQLite: runs, amounts to date, approvals, deltas, a run lock.

A month-end settlement is repeated every month over a growing period. What approved
earlier runs already settled must not be paid again: each run records, per customer and
policy, its amount to date; ``payable`` is that minus what the latest approved earlier
run recorded (negative = claw-back, e.g. after returns).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator

from promo_cli import __version__
from promo_cli.model import Settlement

DEFAULT_NAME = "promo-history.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    as_of TEXT NOT NULL,
    started_at TEXT NOT NULL,
    status TEXT NOT NULL,
    campaign_sha256 TEXT NOT NULL,
    inputs TEXT NOT NULL,            -- JSON: [{role, path, sha256, rows}]
    fingerprint TEXT NOT NULL,       -- campaign + inputs + as-of + tool version
    out_dir TEXT NOT NULL,
    total_rebate INTEGER NOT NULL,   -- cents, to date
    payable INTEGER NOT NULL,        -- cents, this run
    repeat_of INTEGER REFERENCES runs(id),
    reopen_reason TEXT,
    run_by TEXT,
    approved_by TEXT,
    approved_at TEXT,
    approval_note TEXT,
    accepted_findings TEXT           -- why a run needing review was approved anyway
);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    created_at TEXT NOT NULL,
    out_dir TEXT NOT NULL,
    total INTEGER NOT NULL,          -- cents: paid and offset in this batch
    confirmed_at TEXT
);
CREATE TABLE IF NOT EXISTS batch_lines (
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    customer_id TEXT NOT NULL,
    amount INTEGER NOT NULL,         -- cents; negative = claw-back
    payout_method TEXT NOT NULL,
    reference TEXT NOT NULL,
    state TEXT NOT NULL,             -- sent, paid, failed (due again), offset (settled on the account)
    reversed_in INTEGER,             -- the batch whose journal reversed this failed payment
    PRIMARY KEY (batch_id, customer_id)
);
CREATE TABLE IF NOT EXISTS accruals (
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    customer_id TEXT NOT NULL,
    amount INTEGER NOT NULL,         -- cents of approved rebate accrued in this batch's journal
    PRIMARY KEY (batch_id, customer_id)
);
CREATE TABLE IF NOT EXISTS amounts (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    customer_id TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    cents INTEGER NOT NULL,
    PRIMARY KEY (run_id, customer_id, policy_id)
);
"""


class HistoryError(Exception):
    """A refusal the CLI reports with its own exit code (``code``) and message key."""

    def __init__(self, key: str, code: int, **params: object) -> None:
        super().__init__(key)
        self.key, self.code, self.params = key, code, params


EXIT_APPROVED, EXIT_LOCKED = 5, 6


@dataclass(frozen=True, slots=True)
class Batch:
    id: int
    campaign_id: str
    run_id: int
    created_at: str
    out_dir: str
    total: int
    confirmed_at: str | None


@dataclass(frozen=True, slots=True)
class BatchLine:
    customer_id: str
    amount: int
    payout_method: str
    reference: str
    state: str
    batch_id: int = 0


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    campaign_id: str
    as_of: str
    started_at: str
    status: str
    campaign_sha256: str
    inputs: list[dict]
    fingerprint: str
    out_dir: str
    total_rebate: int
    payable: int
    repeat_of: int | None
    reopen_reason: str | None
    run_by: str | None
    approved_by: str | None
    approved_at: str | None
    approval_note: str | None
    accepted_findings: str | None = None


def default_path(campaign_path: Path) -> Path:
    """The history file next to the campaign file."""
    return campaign_path.resolve().parent / DEFAULT_NAME


def fingerprint(s: Settlement) -> str:
    """Same campaign file, same input files, same as-of, same tool: the same settlement."""
    parts = [s.campaign_sha256, f"{s.as_of:%Y-%m-%d}", __version__]
    parts += sorted(f"{l.role}:{l.sha256}" for l in s.ledgers.present())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


class History:
    """One SQLite file; every write happens in a transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        columns = {row["name"] for row in self.db.execute("PRAGMA table_info(runs)")}
        if "accepted_findings" not in columns:          # a history written by an earlier version
            self.db.execute("ALTER TABLE runs ADD COLUMN accepted_findings TEXT")

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ reading
    def runs(self, campaign_id: str | None = None) -> list[Run]:
        query = "SELECT * FROM runs" + (" WHERE campaign_id = ?" if campaign_id else "") + " ORDER BY id"
        return [_run(row) for row in self.db.execute(query, (campaign_id,) if campaign_id else ())]

    def run(self, ref: str, campaign_id: str | None = None) -> Run:
        """A run by id, or ``latest`` (of ``campaign_id`` when given)."""
        if ref == "latest":
            row = self.db.execute("SELECT * FROM runs" + (" WHERE campaign_id = ?" if campaign_id else "")
                                  + " ORDER BY id DESC LIMIT 1", (campaign_id,) if campaign_id else ()).fetchone()
        elif ref.isdigit():
            row = self.db.execute("SELECT * FROM runs WHERE id = ?", (int(ref),)).fetchone()
        else:
            row = None
        if row is None:
            raise HistoryError("history-no-run", 1, run=ref, path=str(self.path))
        return _run(row)

    def amounts(self, run_id: int) -> dict[tuple[str, str], int]:
        rows = self.db.execute("SELECT customer_id, policy_id, cents FROM amounts WHERE run_id = ?", (run_id,))
        return {(r["customer_id"], r["policy_id"]): r["cents"] for r in rows}

    def latest_approved(self, campaign_id: str) -> Run | None:
        """The campaign's approved run with the latest as-of (the latest approval of it)."""
        row = self.db.execute("SELECT * FROM runs WHERE campaign_id = ? AND approved_by IS NOT NULL "
                              "ORDER BY as_of DESC, approved_at DESC, id DESC LIMIT 1", (campaign_id,)).fetchone()
        return _run(row) if row else None

    def check_period(self, campaign_id: str, as_of: str, reopen: str | None) -> Run | None:
        """Refuse (exit 5) a settlement of a closed period: on or before the latest approved
        as-of, unless it reopens exactly that as-of. Returns the latest approved run, against
        which every payable is measured (so an approved amount is never payable twice)."""
        latest = self.latest_approved(campaign_id)
        if latest is None or as_of > latest.as_of:
            return latest
        if as_of < latest.as_of:
            raise HistoryError("history-closed", EXIT_APPROVED, campaign=campaign_id, as_of=as_of,
                               latest=latest.as_of, run=latest.id, by=latest.approved_by)
        if not reopen:
            raise HistoryError("history-approved", EXIT_APPROVED, campaign=campaign_id, as_of=as_of,
                               by=latest.approved_by, run=latest.id)
        return latest

    def settled_before(self, campaign_id: str) -> tuple[Run | None, dict[tuple[str, str], int]]:
        """The latest approved run of the campaign, and its amounts to date."""
        latest = self.latest_approved(campaign_id)
        return (latest, self.amounts(latest.id)) if latest else (None, {})

    # ------------------------------------------------------------------ writing
    @contextmanager
    def recording(self, s: Settlement, out_dir: Path, payable: int, reopen_reason: str | None,
                  run_by: str) -> Iterator[tuple[int, int | None]]:
        """Insert the run in a transaction that commits only if the body (writing the
        outputs) completes; yields (new run id, id of an identical earlier run or None)."""
        print_ = fingerprint(s)
        total = sum(c.total_rebate for c in s.customers)
        earlier = self.db.execute("SELECT id, total_rebate FROM runs WHERE fingerprint = ? ORDER BY id DESC LIMIT 1",
                                  (print_,)).fetchone()
        repeat_of = earlier["id"] if earlier and earlier["total_rebate"] == total else None
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self.db.execute(
                "INSERT INTO runs (campaign_id, as_of, started_at, status, campaign_sha256, inputs, fingerprint, "
                "out_dir, total_rebate, payable, repeat_of, reopen_reason, run_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (s.campaign.campaign.id, f"{s.as_of:%Y-%m-%d}", datetime.now().isoformat(timespec="seconds"),
                 s.status, s.campaign_sha256,
                 json.dumps([{"role": l.role, "path": str(l.path), "sha256": l.sha256, "rows": l.rows}
                             for l in s.ledgers.present()], ensure_ascii=False),
                 print_, str(out_dir), total, payable, repeat_of, reopen_reason, run_by))
            run_id = cursor.lastrowid
            self.db.executemany("INSERT INTO amounts VALUES (?, ?, ?, ?)",
                                [(run_id, c.customer_id, pid, cents)
                                 for c in s.customers for pid, cents in c.rebates.items()])
            yield run_id, repeat_of
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def approve(self, ref: str, by: str, note: str | None, campaign_id: str,
                accept_findings: str | None = None) -> Run:
        """Approve a run as the checker. Refused (exit 5, nothing recorded): no approver, the
        preparer approving their own run, a run needing review without ``accept_findings``,
        a run of another campaign, one already approved, and one that would reopen a closed
        period (an as-of before the latest approved one, or an older run of that as-of)."""
        run = self.run(ref, campaign_id)
        by = by.strip()
        if run.campaign_id != campaign_id:
            raise HistoryError("approve-other-campaign", EXIT_APPROVED, run=run.id, campaign=run.campaign_id,
                               expected=campaign_id)
        if run.approved_by:
            raise HistoryError("history-already-approved", EXIT_APPROVED, run=run.id, by=run.approved_by,
                               at=run.approved_at)
        if not by:
            raise HistoryError("approve-no-approver", EXIT_APPROVED, run=run.id)
        if run.run_by and by.casefold() == run.run_by.strip().casefold():
            raise HistoryError("approve-own-run", EXIT_APPROVED, run=run.id, by=by)
        if run.status != "ok" and not (accept_findings or "").strip():
            raise HistoryError("approve-needs-review", EXIT_APPROVED, run=run.id)
        latest = self.latest_approved(campaign_id)
        if latest is not None and (run.as_of < latest.as_of or run.as_of == latest.as_of and run.id < latest.id):
            raise HistoryError("approve-closed", EXIT_APPROVED, run=run.id, as_of=run.as_of, latest=latest.as_of,
                               latest_run=latest.id)
        self.db.execute("UPDATE runs SET approved_by = ?, approved_at = ?, approval_note = ?, accepted_findings = ? "
                        "WHERE id = ?", (by, datetime.now().isoformat(timespec="seconds"), note,
                                         (accept_findings or "").strip() or None, run.id))
        return self.run(str(run.id))


    # ------------------------------------------------------------------ payout
    def paid_so_far(self, campaign_id: str) -> dict[str, int]:
        """{customer: cents} paid or offset by the campaign's batches (lines confirmed failed
        count as unpaid: they are due again)."""
        rows = self.db.execute("SELECT l.customer_id, SUM(l.amount) AS cents FROM batch_lines l JOIN batches b "
                               "ON b.id = l.batch_id WHERE b.campaign_id = ? AND l.state != 'failed' "
                               "GROUP BY l.customer_id", (campaign_id,))
        return {r["customer_id"]: r["cents"] for r in rows}

    def accrued_so_far(self, campaign_id: str) -> dict[str, int]:
        rows = self.db.execute("SELECT a.customer_id, SUM(a.amount) AS cents FROM accruals a JOIN batches b "
                               "ON b.id = a.batch_id WHERE b.campaign_id = ? GROUP BY a.customer_id", (campaign_id,))
        return {r["customer_id"]: r["cents"] for r in rows}

    def failed_unreversed(self, campaign_id: str) -> list[BatchLine]:
        """Payments the bank returned whose journal entry has not been reversed yet."""
        rows = self.db.execute("SELECT l.* FROM batch_lines l JOIN batches b ON b.id = l.batch_id WHERE "
                               "b.campaign_id = ? AND l.state = 'failed' AND l.reversed_in IS NULL "
                               "ORDER BY l.batch_id, l.customer_id", (campaign_id,))
        return [_line(r) for r in rows]

    def batches(self, campaign_id: str | None = None) -> list[Batch]:
        query = "SELECT * FROM batches" + (" WHERE campaign_id = ?" if campaign_id else "") + " ORDER BY id"
        return [Batch(**dict(r)) for r in self.db.execute(query, (campaign_id,) if campaign_id else ())]

    def batch(self, ref: str, campaign_id: str) -> Batch:
        """A batch of the campaign by number, or ``latest``."""
        row = None
        if ref == "latest":
            row = self.db.execute("SELECT * FROM batches WHERE campaign_id = ? ORDER BY id DESC LIMIT 1",
                                  (campaign_id,)).fetchone()
        elif ref.isdigit():
            row = self.db.execute("SELECT * FROM batches WHERE id = ? AND campaign_id = ?",
                                  (int(ref), campaign_id)).fetchone()
        if row is None:
            raise HistoryError("history-no-batch", 1, batch=ref, campaign=campaign_id, path=str(self.path))
        return Batch(**dict(row))

    def batch_lines(self, batch_id: int) -> list[BatchLine]:
        rows = self.db.execute("SELECT * FROM batch_lines WHERE batch_id = ? ORDER BY reference", (batch_id,))
        return [_line(r) for r in rows]

    def next_batch_id(self) -> int:
        return (self.db.execute("SELECT MAX(id) FROM batches").fetchone()[0] or 0) + 1

    @contextmanager
    def recording_batch(self, batch_id: int, campaign_id: str, run_id: int, out_dir: Path,
                        lines: list[BatchLine], accruals: dict[str, int], reversed_lines: list[BatchLine]
                        ) -> Iterator[None]:
        """Record a payout batch in a transaction that commits only if the body (writing its
        files) completes: a killed payout records nothing."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT INTO batches (id, campaign_id, run_id, created_at, out_dir, total) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (batch_id, campaign_id, run_id, datetime.now().isoformat(timespec="seconds"),
                             str(out_dir), sum(line.amount for line in lines)))
            self.db.executemany("INSERT INTO batch_lines (batch_id, customer_id, amount, payout_method, reference, "
                                "state) VALUES (?, ?, ?, ?, ?, ?)",
                                [(batch_id, l.customer_id, l.amount, l.payout_method, l.reference, l.state)
                                 for l in lines])
            self.db.executemany("INSERT INTO accruals VALUES (?, ?, ?)",
                                [(batch_id, customer, cents) for customer, cents in accruals.items() if cents])
            self.db.executemany("UPDATE batch_lines SET reversed_in = ? WHERE batch_id = ? AND customer_id = ?",
                                [(batch_id, l.batch_id, l.customer_id) for l in reversed_lines])
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def confirm(self, batch: Batch, failed: set[str]) -> list[BatchLine]:
        """Record the bank's answer: lines whose reference is in ``failed`` failed (due again),
        the other sent lines are paid. Refused (exit 5) for a batch confirmed before; an unknown
        reference refuses the whole answer (exit 1). Returns the batch's lines as recorded."""
        if batch.confirmed_at:
            raise HistoryError("payout-already-confirmed", EXIT_APPROVED, batch=batch.id, at=batch.confirmed_at)
        lines = self.batch_lines(batch.id)
        sent = {l.reference for l in lines if l.state == "sent"}
        unknown = sorted(failed - sent)
        if unknown:
            raise HistoryError("payout-unknown-reference", 1, batch=batch.id, references=", ".join(unknown[:10]))
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("UPDATE batch_lines SET state = ? WHERE batch_id = ? AND reference = ?",
                                [("failed" if ref in failed else "paid", batch.id, ref) for ref in sent])
            self.db.execute("UPDATE batches SET confirmed_at = ? WHERE id = ?",
                            (datetime.now().isoformat(timespec="seconds"), batch.id))
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return self.batch_lines(batch.id)


def _line(row: sqlite3.Row) -> BatchLine:
    return BatchLine(row["customer_id"], row["amount"], row["payout_method"], row["reference"], row["state"],
                     row["batch_id"])


def _run(row: sqlite3.Row) -> Run:
    data = dict(row)
    data["inputs"] = json.loads(data["inputs"])
    return Run(**data)


@contextmanager
def run_lock(history_path: Path) -> Iterator[None]:
    """Hold an exclusive lock for one settlement of the campaigns sharing this history.

    A second run finds the lock taken and is refused at once (exit 6), naming the holder.
    The lock is released by the OS if the holder dies, so a killed run never blocks the next.
    """
    lock_path = history_path.with_name(history_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise HistoryError("history-locked", EXIT_LOCKED, holder=handle.read().strip() or "?",
                               path=str(lock_path)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now().isoformat(timespec='seconds')}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
