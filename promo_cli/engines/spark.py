"""The ``spark`` engine: the partitions settled on a Spark cluster's executors.

Spark hashes the distinct customer and group ids into partitions (see :mod:`.partitions`); the
driver (this process, which read and checked the ledgers) cuts the rows into those partitions,
and ``groupBy("part").applyInPandas`` runs the same policy code, and its recomputation, on each
of them on the executors. The executors need promo-cli installed in the same version (they
import ``promo_cli``); ``local[*]`` runs them on this machine.

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
from promo_cli.engines.partitions import keys, merge, row_parts, slice_work
from promo_cli.rebates import RebateResult, RebateWork, apply_rebates

PANDAS_WARNING = "PySpark does not yet fully support pandas"
# About this many ledger rows per partition (a partition travels to its executor in one piece).
PART_ROWS = 100_000


def session(master: str):
    """The Spark session of this run (one per process, reused)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)          # executors run this Python
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # PySpark warns that it does not know pandas 3 yet, on every call: what it runs here (Arrow
    # batches of ids and of bytes) is checked figure by figure against the local engine in the tests.
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
        from pyspark.sql import functions as F
        spark = session(self.master)
        n = max(2, spark.sparkContext.defaultParallelism, math.ceil(work.rows / PART_ROWS))
        maps = {}
        for column, values in keys(work).items():
            frame = spark.createDataFrame(pd.DataFrame({"k": pd.Series(values, dtype=object)}), schema="k string")
            found = frame.select("k", F.pmod(F.xxhash64("k"), F.lit(n)).alias("part")).toPandas()
            maps[column] = dict(zip(found["k"], found["part"].astype(int)))
        parts = row_parts(work, maps.__getitem__)
        jobs = pd.DataFrame({"part": range(n),
                             "payload": [pickle.dumps(slice_work(work, parts, k, ship=True),
                                                      protocol=pickle.HIGHEST_PROTOCOL) for k in range(n)]})
        done = (spark.createDataFrame(jobs, schema="part int, payload binary").repartition(n, "part")
                .groupBy("part").applyInPandas(settle_parts, schema="part int, payload binary").toPandas())
        return merge(work, [pickle.loads(payload) for payload in done.sort_values("part")["payload"]])


def settle_parts(frame: pd.DataFrame) -> pd.DataFrame:
    """On an executor: every partition of ``frame`` settled and recomputed, pickled back."""
    return pd.DataFrame({"part": frame["part"].to_numpy(),
                         "payload": [pickle.dumps(apply_rebates(pickle.loads(payload), recompute_too=True),
                                                  protocol=pickle.HIGHEST_PROTOCOL)
                                     for payload in frame["payload"]]})
