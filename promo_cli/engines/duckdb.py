"""The ``duckdb`` engine: DuckDB hashes the keys into partitions, worker processes settle them.

DuckDB (embedded, in this process) hashes the distinct customer and group ids into partitions
(see :mod:`.partitions`); each partition is then settled and recomputed by the same policy code, as
many at once as there are cores: in forked workers that read the parent's rows without copying
them, the last one in this process.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa

from promo_cli import parallel
from promo_cli.engines.partitions import keys, merge, row_parts, slice_work
from promo_cli.rebates import RebateResult, RebateWork, apply_rebates


class DuckDB:
    name, recomputes = "duckdb", True

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                      else os.cpu_count() or 1)

    def partitions(self, work: RebateWork) -> tuple[dict[str, dict[str, int]], int]:
        """Per key column {value: partition}, and the number of partitions (one per core, at
        least two: a split that is always made is always checked)."""
        import duckdb
        n = max(2, self.workers)
        out = {}
        with duckdb.connect(config={"threads": self.workers}) as db:
            for column, values in keys(work).items():
                db.register("key_values", pa.table({"k": pa.array(values, type=pa.string())}))
                found = db.execute(f"select k, hash(k) % {n} as part from key_values").fetchnumpy()
                out[column] = dict(zip(found["k"].tolist(), found["part"].tolist()))
                db.unregister("key_values")
        return out, n

    def rebates(self, work: RebateWork) -> RebateResult:
        if not work.campaign.rebate_policies:        # nothing to split (deposit and loyalty policies run whole)
            return apply_rebates(work, recompute_too=True)
        maps, n = self.partitions(work)
        parts = row_parts(work, maps.__getitem__)
        fork = work.rows >= parallel.APART_ROWS
        # every partition at once, the last one here while the others run apart
        running = [parallel.Apart(_settle_part, work, parts, k, fork=fork and k < n - 1) for k in range(n)]
        return merge(work, [job.result() for job in running])


@parallel.collector_paused()
def _settle_part(work: RebateWork, parts: dict[str, np.ndarray], k: int) -> RebateResult:
    return apply_rebates(slice_work(work, parts, k), recompute_too=True)
