"""Ledgers that are already typed tables: Parquet files (a file, or a folder of them with Hive
partitions) and the result of a SQL query (SQLite, PostgreSQL).

Each becomes a :class:`~promo_cli.io.readers.table.Table` of text cells, so that the column
names, aliases, value rules and findings are those of every other ledger: a column is written
out as the exact text of its values (a decimal as its digits, a date as ``2026-07-01``) and
typed again by :mod:`.values`. A binary floating-point column cannot hold exact money: it is
read from each value's shortest decimal text (``1234.5``), which is what was stored when the
value was a whole number of cents, with a warning naming the column; a value with more decimals
than cents is then judged at its cell by the same rule as a spreadsheet's. Row numbers in findings count the header as row
1, as in a spreadsheet export of the same table (row 2 is the first record).
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from datetime import date, datetime, time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd
import pyarrow as pa
from pyarrow import compute as pc

from promo_cli.io.readers.table import Table
from promo_cli.model import Finding, finding


class SourceError(Exception):
    """A source that cannot be read: ``code`` and ``params`` of its blocking finding."""

    def __init__(self, code: str, **params) -> None:
        super().__init__(code)
        self.code, self.params = code, params


def read_parquet(path: Path) -> tuple[pa.Table, str]:
    """The Parquet file, or every Parquet file under the folder (Hive partitions such as
    ``month=2026-07/`` become columns), and a digest of the bytes read."""
    import pyarrow.dataset as ds
    if not path.exists():
        raise SourceError("file-not-found")
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))) \
        if path.is_dir() else [path]
    if not files:
        raise SourceError("parquet-empty-folder")
    digest = parquet_digest(path, files)
    try:
        dataset = ds.dataset([str(f) for f in files], format="parquet",
                             partitioning="hive" if path.is_dir() else None,
                             partition_base_dir=str(path) if path.is_dir() else None)
        return dataset.to_table(), digest
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError("parquet-unreadable", reason=str(exc).splitlines()[0]) from None


def parquet_digest(path: Path, files: list[Path]) -> str:
    """A digest of a Parquet ledger's files: their names (in a folder) and bytes."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


# user:password@ in a database address: credentials belong in the environment, never in a campaign file
_PASSWORD = re.compile(r"^[a-z+]+://[^/@]*:[^/@]*@", re.IGNORECASE)


def run_query(sql: str, url: str, campaign_dir: Path) -> tuple[pa.Table, str]:
    """The rows of a query against ``sqlite:///file.db`` (a path relative to the campaign file)
    or ``postgresql://host/db`` (user and password from PGUSER/PGPASSWORD or ~/.pgpass, as
    libpq reads them), and a digest of the query and the rows it returned."""
    if _PASSWORD.match(url):
        raise SourceError("sql-password-in-url")
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        table = _sqlite(sql, url, campaign_dir)
    elif scheme in ("postgresql", "postgres"):
        table = _postgres(sql, url)
    else:
        raise SourceError("sql-unknown-database", scheme=scheme or url)
    digest = hashlib.sha256(f"{url}\n{sql}\n".encode())
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    digest.update(sink.getvalue().to_pybytes())
    return table, digest.hexdigest()


def sqlite_path(url: str, campaign_dir: Path) -> Path:
    """The file of ``sqlite:///erp.db`` (relative to the campaign file) or ``sqlite:////abs/erp.db``."""
    name = unquote(url.split("://", 1)[1])
    if name.startswith("//"):
        return Path(name[1:])
    return campaign_dir / name.removeprefix("/")


def _sqlite(sql: str, url: str, campaign_dir: Path) -> pa.Table:
    """SQLite through the standard library; every value as the text SQLite holds (a REAL as
    its shortest decimal text, marked as a float column)."""
    path = sqlite_path(url, campaign_dir)
    if not path.exists():
        raise SourceError("file-not-found", path=str(path))
    try:
        with sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True) as connection:
            cursor = connection.execute(sql)
            names = [d[0] for d in cursor.description or []]
            rows = cursor.fetchall()
    except sqlite3.Error as exc:
        raise SourceError("sql-failed", reason=str(exc)) from None
    columns, fields = [], []
    for j, name in enumerate(names):
        values = [row[j] for row in rows]
        floats = any(isinstance(v, float) for v in values)
        if floats and all(isinstance(v, (float, int, type(None))) for v in values):
            columns.append(pa.array(values, type=pa.float64()))
            fields.append(pa.field(name, pa.float64()))
            continue
        # text (a REAL among text as its shortest decimal text, the column still said to hold floats)
        columns.append(pa.array([None if v is None else v if isinstance(v, str) else repr(v) if isinstance(v, float)
                                 else str(v) for v in values], type=pa.string()))
        fields.append(pa.field(name, pa.string(), metadata={b"float": b"1"} if floats else None))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields)) if names else pa.table({})


def _postgres(sql: str, url: str) -> pa.Table:
    """PostgreSQL through psycopg (the ``postgres`` extra); numeric as its exact digits, dates
    as dates, double precision as a float column."""
    try:
        import psycopg
    except ImportError:
        raise SourceError("extra-missing", extra="postgres", command="pip install 'promo-cli[postgres]'") from None
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=int(os.environ.get("PGCONNECT_TIMEOUT", 10))) \
                as connection, connection.cursor() as cursor:
            cursor.execute("set default_transaction_read_only = on")      # the query only reads
            cursor.execute(sql)
            names = [d.name for d in cursor.description or []]
            floats = [d.type_code in (700, 701) for d in cursor.description or []]   # real, double precision
            rows = cursor.fetchall()
    except psycopg.Error as exc:
        raise SourceError("sql-failed", reason=str(exc).strip().splitlines()[0]) from None
    columns = []
    for j, name in enumerate(names):
        values = [row[j] for row in rows]
        if floats[j]:
            columns.append(pa.array(values, type=pa.float64()))
        else:
            columns.append(pa.array([_pg_text(v) for v in values], type=pa.string()))
    return pa.table(columns, names=names) if names else pa.table({})


def _pg_text(value) -> str | None:
    """A PostgreSQL value as the text a ledger cell would hold: numeric as its digits, a date (or
    a timestamp at midnight) as 2026-07-01, a boolean as 是/否."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) and value.tzinfo is None else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def arrow_table(data: pa.Table, name: str) -> tuple[Table, list[Finding]]:
    """The typed table as text cells under its column names, and a warning for each binary
    floating-point column."""
    columns, findings = [], []
    for field, column in zip(data.schema, data.columns):
        texts = _texts(column, field.type)
        if texts is None:
            raise SourceError("column-type-unsupported", column=field.name, type=str(field.type))
        if pa.types.is_floating(field.type) or (field.metadata or {}).get(b"float"):
            findings.append(finding("warning", "float-column", file=name, column=field.name))
        columns.append(pd.Series(pd.arrays.ArrowExtensionArray(texts), dtype="str"))
    return Table(None, tuple(data.column_names), columns, 2, 0), findings


def _texts(column: pa.ChunkedArray, kind: pa.DataType) -> pa.ChunkedArray | None:
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column.cast(pa.string())
    if pa.types.is_timestamp(kind):
        midnight = pc.all(pc.equal(pc.cast(column, pa.date32()).cast(kind), column)).as_py()
        if midnight is not False:          # a date stored as a timestamp: its day
            return pc.cast(pc.cast(column, pa.date32()), pa.string())
    if pa.types.is_boolean(kind):
        return pc.if_else(column, "是", "否")
    if pa.types.is_decimal(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind) \
            or pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        return pc.cast(column, pa.string())
    return None
