"""The ``spark`` engine: the partitions settled on a Spark cluster's executors.

Spark hashes the distinct customer and group ids into partitions (see :mod:`.partitions`); the
driver (this process, which read and checked the ledgers) cuts the rows into those partitions and
hands each to Spark as a broadcast; one Spark task per partition runs the same policy code, and
its recomputation, on an executor, and sends back its lines, findings and figures. The executors
need promo-cli installed in the same version (they import ``promo_cli``); ``local[*]`` runs them
on this machine.

The cluster is ``--spark-master`` (``spark://host:7077``, ``yarn``, ``k8s://…``), else
``$PROMO_SPARK_MASTER``, else ``local[*]``; the driver's memory ``$PROMO_SPARK_DRIVER_MEMORY``
(default 2g); any other Spark setting comes from ``spark-defaults.conf`` or ``$SPARK_CONF_DIR``
as Spark reads them.
"""

from __future__ import annotations

import math
import os
import pickle
import sys
import warnings
from pathlib import Path

import pandas as pd

from promo_cli.engines import EngineError, spark_master
from promo_cli.engines.partitions import merge, row_parts, slice_work
from promo_cli.rebates import RebateResult, RebateWork, apply_rebates

PANDAS_WARNING = "PySpark does not yet fully support pandas"
# About this many ledger rows per partition (a partition travels to its executor in one piece).
PART_ROWS = 500_000


def session(master: str):
    """The Spark session of this run (one per process: a second call gets the first one's, on the
    first one's master)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)          # executors run this Python
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # PySpark warns that it does not know pandas 3 yet, on every call: what goes through pandas here
    # (the keys to hash) is checked figure by figure against the local engine in the tests.
    os.environ.setdefault("PYTHONWARNINGS", f"ignore:{PANDAS_WARNING}:FutureWarning,"
                                            "ignore:The copy keyword is deprecated:DeprecationWarning")
    warnings.filterwarnings("ignore", message=PANDAS_WARNING, category=FutureWarning)
    warnings.filterwarnings("ignore", message="The copy keyword is deprecated", category=DeprecationWarning)
    from pyspark.sql import SparkSession
    log = f"-Dlog4j2.configurationFile={Path(__file__).with_name('log4j2.properties').as_uri()}"
    try:
        spark = (SparkSession.builder.master(master).appName("promo")
                 .config("spark.driver.memory", os.environ.get("PROMO_SPARK_DRIVER_MEMORY", "2g"))
                 .config("spark.driver.extraJavaOptions", log)
                 .config("spark.executor.extraJavaOptions", log)
                 .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                 .config("spark.sql.session.timeZone", "UTC")
                 .config("spark.driver.maxResultSize", os.environ.get("PROMO_SPARK_MAX_RESULT", "8g"))
                 .config("spark.ui.enabled", "false")
                 .config("spark.ui.showConsoleProgress", "false")
                 .getOrCreate())
    except Exception as exc:                    # no Java, no cluster at that address
        raise EngineError(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__) from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class Spark:
    name, recomputes = "spark", True

    def __init__(self, master: str | None = None) -> None:
        self.master = spark_master(master)

    def rebates(self, work: RebateWork) -> RebateResult:
        if not work.campaign.rebate_policies:        # nothing to send (deposit and loyalty policies run whole)
            return apply_rebates(work, recompute_too=True)
        from pyspark.sql import functions as F
        spark = session(self.master)
        n = max(2, spark.sparkContext.defaultParallelism, math.ceil(work.rows / PART_ROWS))

        def assign(keys: list[str]):
            frame = spark.createDataFrame(pd.DataFrame({"i": range(len(keys)), "k": pd.Series(keys, dtype=object)}),
                                          schema="i long, k string")
            found = on_cluster(frame.select("i", F.pmod(F.xxhash64("k"), F.lit(n)).alias("part")).toPandas)
            return found.sort_values("i")["part"].to_numpy()
        parts = row_parts(work, assign)
        # each partition travels as a broadcast (written to a file, fetched by the executor that
        # settles it), not through the driver's heap; one partition is pickled at a time
        shipped = [spark.sparkContext.broadcast(slice_work(work, parts, k, ship=True)) for k in range(n)]
        try:
            done = on_cluster(spark.sparkContext.parallelize(range(n), n)
                              .map(lambda k: settle_part(k, shipped[k])).collect)
        finally:
            for item in shipped:
                item.destroy()
        return merge(work, [pickle.loads(payload) for _, payload in sorted(done)])


def on_cluster(job):
    """``job()``, a Spark action; the cluster failing it (an executor lost, out of memory) is an
    :class:`EngineError` with Spark's first line. The policy code raising on an executor is a bug
    in promo, not the cluster's: it stays an error to report (with its traceback in the log)."""
    try:
        return job()
    except Exception as exc:
        if type(exc).__name__ == "PythonException":
            raise
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise EngineError(first[:300]) from None


def settle_part(k: int, shipped) -> tuple[int, bytes]:
    """On an executor: partition ``k`` settled and recomputed, pickled back."""
    return k, pickle.dumps(apply_rebates(shipped.value, recompute_too=True), protocol=pickle.HIGHEST_PROTOCOL)
