"""Where the rebate policies run, behind one interface (:class:`Engine`).

- ``local``: in this process, over the whole ledger at once (pandas); the audit recomputes in a
  process of its own meanwhile.
- ``duckdb``: DuckDB finds the partitions (whole customers and purchase groups, see
  :mod:`.partitions`); each is settled by the same policy code, and recomputed, in a worker
  process, as many at once as there are cores.
- ``spark``: Spark finds the same partitions and runs the same policy code on each of them, one
  task per partition on its executors, local or on a cluster (``--spark-master``).

Every engine gives the same figures to the cent; the policies and the recomputation do not know
which one runs them. DuckDB and Spark are optional parts (the ``duckdb`` and ``spark`` extras).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from typing import Protocol

from promo_cli.rebates import RebateResult, RebateWork, apply_rebates

NAMES = ("local", "duckdb", "spark")
# engine → (module it needs, extra that installs it)
EXTRAS = {"duckdb": ("duckdb", "duckdb"), "spark": ("pyspark", "spark")}


class Engine(Protocol):
    name: str
    recomputes: bool        # its result carries the independent recomputation

    def rebates(self, work: RebateWork) -> RebateResult:
        """Every rebate policy applied to ``work`` (see :func:`promo_cli.rebates.apply_rebates`)."""


class Local:
    name, recomputes = "local", False

    def rebates(self, work: RebateWork) -> RebateResult:
        return apply_rebates(work)


class EngineError(Exception):
    """The engine could not run (a cluster that does not answer): the message says why."""


def missing_part(name: str) -> tuple[str, str] | None:
    """(what is missing, how to install it) when the engine cannot run here, else None: its
    optional Python part (an extra), or for Spark a Java runtime."""
    if name in EXTRAS and not importlib.util.find_spec(EXTRAS[name][0]):
        return EXTRAS[name][1], f"pip install 'promo-cli[{EXTRAS[name][1]}]'"
    if name == "spark" and not _java():
        return "Java", "apt install default-jre-headless"
    return None


# what Spark accepts as a master: local, local[4], local[*], local[4,2], yarn, spark://…, k8s://…
_MASTER = re.compile(r"^(local(\[(\*|\d+)(,\d+)?\])?|yarn|(spark|k8s)://\S+)$")


def spark_master(given: str | None) -> str:
    """The Spark cluster: ``--spark-master``, else ``$PROMO_SPARK_MASTER``, else ``local[*]``."""
    return (given or os.environ.get("PROMO_SPARK_MASTER") or "local[*]").strip()


def valid_master(master: str) -> bool:
    return bool(_MASTER.match(master))


def _java() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and os.path.exists(os.path.join(home, "bin", "java"))))


def get_engine(name: str | None, spark_master: str | None = None) -> Engine:
    """The engine called ``name`` (None: local)."""
    if name in (None, "local"):
        return Local()
    if name == "duckdb":
        from promo_cli.engines.duckdb import DuckDB
        return DuckDB()
    if name == "spark":
        from promo_cli.engines.spark import Spark
        return Spark(spark_master)
    raise ValueError(f"unknown engine {name!r}")
