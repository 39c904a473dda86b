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
from promo_cli.engines.partitions import merge, row_parts, slice_work
from promo_cli.rebates import RebateResult, RebateWork, apply_rebates


class DuckDB:
    name, recomputes = "duckdb", True

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                      else os.cpu_count() or 1)

    def rebates(self, work: RebateWork) -> RebateResult:
        if not work.campaign.rebate_policies:        # nothing to split (deposit and loyalty policies run whole)
            return apply_rebates(work, recompute_too=True)
        import duckdb
        n = max(2, self.workers)        # one per core, at least two: a split always made is always checked
        with duckdb.connect(config={"threads": self.workers}) as db:
            def assign(keys: list[str]):
                db.register("keys", pa.table({"i": pa.array(range(len(keys)), pa.int64()), "k": pa.array(keys, pa.string())}))
                try:
                    return db.execute(f"select hash(k) % {n} as part from keys order by i").fetchnumpy()["part"]
                finally:
                    db.unregister("keys")
            parts = row_parts(work, assign)
        fork = work.rows >= parallel.APART_ROWS
        # every partition at once, the last one here while the others run apart
        running = [parallel.Apart(_settle_part, work, parts, k, fork=fork and k < n - 1) for k in range(n)]
        return merge(work, [job.result() for job in running])


@parallel.collector_paused()
def _settle_part(work: RebateWork, parts: dict[str, np.ndarray], k: int) -> RebateResult:
    return apply_rebates(slice_work(work, parts, k), recompute_too=True)
