"""Read a ledger file into a typed frame plus findings, whatever its format.

``read_ledger(path, role) -> (Ledger | None, findings)``. Nothing here raises for bad
input: every problem becomes a finding that names the file, sheet, Excel row (header
= 1) and column. The returned frame has canonical column names and ``_row``.

One module per source format turns bytes into :class:`~promo_cli.io.readers.table.Table` s:
:mod:`.text` (CSV, TSV, UTF-16 "Unicode text"), :mod:`.xlsx` (fastexcel), :mod:`.calamine`
(xls, xlsb, ods, odd xlsx), :mod:`.markup` (HTML and XML 2003 saved as .xls). The format is
judged by the bytes, never by the extension. :mod:`.values` types the cells for all of them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pandas as pd
from xlsxwriter.utility import xl_col_to_name

from promo_cli.messages import os_reason
from promo_cli.io import cells
from promo_cli.io.columns import LEDGER_COLUMNS, Column, header_unit, normalise_header
from promo_cli.io.inspect import Inspection, Limits, Unreadable, inspect_workbook, sniff
from promo_cli.io.readers import arrow, calamine, markup, text, xlsx
from promo_cli.io.readers.table import Table, match_header
from promo_cli.io.readers.values import MAX_FINDINGS_PER_COLUMN, build_frame
from promo_cli.model import Finding, Ledger, Ledgers, ParquetInput, SqlInput, finding

UNIQUE_KEY = {"purchases": "order_id", "payments": "payment_id", "deposits": "txn_id",
              "customers": "customer_id", "products": "product"}

__all__ = ["MAX_FINDINGS_PER_COLUMN", "UNIQUE_KEY", "Source", "from_warehouse", "open_ledger", "parse_ledger",
           "read_ledger"]


def read_ledger(path: Path, role: str, limits: Limits = Limits()) -> tuple[Ledger | None, list[Finding]]:
    """Read and type one ledger; returns None with blocking findings if it is unusable."""
    source, findings = open_ledger(path, role, limits)
    if source is None:
        return None, findings
    return parse_ledger(source)


@dataclass(slots=True)
class Source:
    """A ledger file read and inspected, not yet parsed (see :func:`open_ledger`)."""

    path: Path
    role: str
    raw: bytes | None
    kind: str                                  # xlsx, ole or text (by the first bytes)
    sha256: str
    inspection: Inspection | None              # a workbook's inspection
    findings: list[Finding]
    tables: list[Table] | None = None          # a Parquet or SQL source, read when opened
    query: SqlInput | None = None              # a SQL source's query and address

    @property
    def is_workbook(self) -> bool:
        return self.kind != "text"


def from_warehouse(ledgers: Ledgers) -> bool:
    """Whether a ledger was read from a query or from Parquet (a folder, or a file by its first
    bytes): the detail beside the workbooks then goes as Parquet too, unless asked otherwise."""
    for ledger in ledgers.present():
        if ledger.query is not None or ledger.path.is_dir():
            return True
        try:
            with ledger.path.open("rb") as handle:
                if handle.read(4) == b"PAR1":
                    return True
        except OSError:
            continue
    return False


def source_name(spec, role: str = "") -> str:
    """How a ledger is named in messages: its file name, a Parquet folder's name, or for a query
    ``purchases (SQL erp.db)``: its role and the database's name from its address (never a host,
    a user or a password)."""
    if isinstance(spec, SqlInput):
        address = urlsplit(spec.url)
        database = Path(address.netloc + address.path).name if address.scheme.lower().startswith("sqlite") \
            else address.path.strip("/") or address.hostname or address.scheme
        return f"{role} (SQL {database})".strip()
    if isinstance(spec, ParquetInput):
        return Path(spec.parquet).name or spec.parquet
    return Path(spec).name


def open_ledger(path, role: str, limits: Limits = Limits(), campaign_dir: Path = Path(".")
                ) -> tuple[Source | None, list[Finding]]:
    """Read a ledger file's bytes and, for a workbook, inspect them (see :mod:`promo_cli.io.inspect`);
    a Parquet or SQL input (``inputs: {purchases: {parquet: …}}``) is read whole here.

    The first, quick half of reading: a file that cannot be read or must not be parsed is
    refused here (None and blocking findings). :func:`parse_ledger` does the rest and returns
    every finding about the file, those of this half included."""
    if isinstance(path, (ParquetInput, SqlInput)):
        return _open_typed(path, role, campaign_dir)
    if path.is_dir() and any(path.rglob("*.parquet")):       # --purchases warehouse/purchases/
        return _open_typed(ParquetInput(parquet=str(path)), role, campaign_dir)
    name = path.name
    try:
        with path.open("rb") as handle:
            if handle.read(4) == b"PAR1":            # Parquet, by its magic bytes: read by pyarrow, not here
                return _open_typed(ParquetInput(parquet=str(path)), role, campaign_dir)
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [finding("error", "file-not-found", file=str(path), blocking=True, role=role)]
    except IsADirectoryError:
        return None, [finding("error", "file-is-folder", file=str(path), blocking=True, role=role)]
    except OSError as exc:
        return None, [finding("error", "file-unreadable", file=name, blocking=True,
                              reason=os_reason(exc))]
    if not raw.strip(b" \t\r\n\x00\x1a\xef\xbb\xbf\xff\xfe"):
        return None, [finding("error", "file-empty", file=name, blocking=True, role=role)]
    kind = sniff(raw)
    try:
        inspection = inspect_workbook(raw, limits) if kind != "text" else None
    except Unreadable as exc:
        return None, [finding("error", exc.code, file=name, blocking=True, **exc.params)]
    return Source(path, role, raw, kind, hashlib.sha256(raw).hexdigest(), inspection, []), []


def _open_typed(spec, role: str, campaign_dir: Path) -> tuple[Source | None, list[Finding]]:
    """A Parquet file or folder, or a query's result, as one table of text cells."""
    name = source_name(spec, role)
    try:
        if isinstance(spec, ParquetInput):
            path, kind = Path(spec.parquet), "parquet"
            data, digest = arrow.read_parquet(path)
        else:
            path, kind = Path(name), "sql"
            data, digest = arrow.run_query(spec.sql, spec.url, campaign_dir)
        table, findings = arrow.arrow_table(data, name)
    except arrow.SourceError as exc:
        return None, [finding("error", exc.code, file=name, blocking=True, role=role, **exc.params)]
    query = None
    if isinstance(spec, SqlInput):          # kept for the audit's second reading, the SQLite file found
        url = spec.url
        if url.lower().startswith("sqlite:"):
            url = "sqlite:///" + str(arrow.sqlite_path(url, campaign_dir).resolve())
        query = SqlInput(sql=spec.sql, url=url)
    return Source(path, role, None, kind, digest, None, findings, tables=[table], query=query), []


def parse_ledger(source: Source) -> tuple[Ledger | None, list[Finding]]:
    """Parse and type an opened ledger: the long half of reading. A workbook spends most of it
    in fastexcel, outside the GIL, so it can go on while another thread reads a CSV.

    Every table (sheet) whose header names the ledger's columns is read, in order, each row
    keeping its sheet; a sheet that names none of them is skipped with a note."""
    name, role, findings = source.path.name, source.role, list(source.findings)
    raw, source.raw = source.raw, None            # the bytes are not needed once parsed
    try:
        fmt, tables = _tables(raw, source, role)
        findings += _mislabelled(source.path, fmt)
        chosen, problems = _choose_tables(tables, role, name)
    except Unreadable as exc:
        return None, findings + [finding("error", exc.code, file=name, blocking=True, **exc.params)]
    del raw
    findings += problems
    if not chosen or any(f.blocking for f in problems):
        return None, findings
    frames, parts = [], []
    for k, (table, columns) in enumerate(chosen):
        frame, cell_findings = build_frame(table, columns, role, name, part=k if len(chosen) > 1 else 0)
        frames.append(frame)
        findings += cell_findings
        headers = {c.name: (cells.parse_text(table.header[p]), xl_col_to_name(table.first_col + p))
                   for p, c in columns.items()}
        parts.append(Ledger(role=role, path=source.path, sheet=table.sheet, frame=frame.iloc[:0],
                            sha256=source.sha256, headers=headers))
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    ledger = Ledger(role=role, path=source.path, sheet=parts[0].sheet, frame=frame, sha256=source.sha256,
                    headers=parts[0].headers, sheets=tuple(parts) if len(parts) > 1 else (), query=source.query)
    if len(parts) > 1:
        findings.append(finding("info", "sheets-read", file=name, count=len(parts),
                                sheets=", ".join(str(p.sheet) for p in parts)))
    if frame.empty:
        findings.append(finding("warning", "no-data-rows", file=name, sheet=ledger.sheet, role=role))
    return ledger, findings + _duplicate_keys(ledger)


_FORMAT_NAMES = {"parquet": "Parquet", "sql": "SQL",
                 "xlsx": "xlsx", "xlsx-odd": "xlsx", "xlsb": "xlsb", "ods": "ods", "xls": "xls",
                 "text": "CSV", "html": "HTML", "xml2003": "XML 2003"}
_EXTENSIONS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".xlsb": "xlsb", ".ods": "ods",
               ".csv": "CSV", ".txt": "CSV", ".tsv": "CSV"}


def _tables(raw: bytes, source: Source, role: str) -> tuple[str, Iterator[Table]]:
    """The file's format and its tables, by the format module that reads it."""
    if source.tables is not None:
        return source.kind, iter(source.tables)
    if source.kind == "text":
        decoded = text.decode(raw)
        kind = markup.markup_kind(decoded[0])
        if kind == "html":
            return kind, markup.read_html(decoded[0], role)
        if kind == "xml2003":
            return kind, markup.read_xml2003(decoded[0], role)
        return "text", iter([text.read_text(decoded, role)])
    fmt = source.inspection.format
    if fmt == "xlsx":
        return fmt, xlsx.read_xlsx(raw, source.inspection, role)
    return fmt, calamine.read_workbook(raw, role)


def _mislabelled(path: Path, fmt: str) -> list[Finding]:
    expected = _EXTENSIONS.get(path.suffix.lower())
    actual = _FORMAT_NAMES[fmt]
    if expected and expected != actual:
        return [finding("info", "mislabelled", file=path.name, extension=path.suffix.lower(), actual=actual)]
    return []


def _choose_tables(tables: Iterator[Table], role: str, name: str
                   ) -> tuple[list[tuple[Table, dict[int, Column]]], list[Finding]]:
    """The tables whose header holds every required column of ``role`` (each with its mapped
    columns), and findings: a sheet naming only some of them is an error (its rows would be
    lost), one naming none is skipped with a note, unless no sheet qualifies at all."""
    chosen: list[tuple[Table, dict[int, Column]]] = []
    problems: list[Finding] = []
    refused: list[list[Finding]] = []
    skipped: list[str] = []
    any_table = False
    for table in tables:
        any_table = True
        if not table.header:
            refused.append([finding("error", "sheet-empty", file=name, sheet=table.sheet, blocking=True)])
            continue
        columns, table_problems, relevant = _map_header(table, role, name)
        if not table_problems:
            chosen.append((table, columns))
        elif relevant:
            problems += table_problems
        else:
            refused.append(table_problems)
            skipped.append(str(table.sheet))
    if not any_table:
        return [], [finding("error", "sheet-empty", file=name, blocking=True)]
    if not chosen and not problems:
        return [], refused[0]
    if chosen and skipped:
        problems.append(finding("info", "sheets-skipped", file=name, sheets=", ".join(skipped), role=role))
    return chosen, problems


def _map_header(table: Table, role: str, name: str) -> tuple[dict[int, Column], list[Finding], bool]:
    """{position: column} of a table's header, the problems with it, and whether it names any
    required column of ``role`` at all (a sheet of another kind does not)."""
    found, _ = match_header(table.header, role)
    row_number = table.first_row - 1
    columns: dict[int, Column] = {}
    problems: list[Finding] = []
    seen: dict[str, int] = {}
    for position, column in found.items():
        cell = table.header[position]
        if column.name in seen:
            problems.append(finding(
                "error", "duplicate-column", file=name, sheet=table.sheet, row=row_number,
                column=str(cell), blocking=True, canonical=column.name,
                other=str(table.header[seen[column.name]])))
            continue
        seen[column.name] = position
        columns[position] = column
    required = [c for c in LEDGER_COLUMNS[role] if c.required]
    missing = [c for c in required if c.name not in seen]
    shown = " | ".join(cells.parse_text(c) for c in table.header if not cells.is_blank(c))
    if missing == required:
        problems.append(finding(
            "error", "not-this-ledger", file=name, sheet=table.sheet, row=row_number,
            blocking=True, role=role, needed=", ".join(c.name for c in required), header=shown[:160]))
        return columns, problems, False
    in_unit = set()
    for column in LEDGER_COLUMNS[role]:     # a known column named with a unit it is not read in
        unit = _unit_header(table.header, column) if column.name not in seen else None
        if unit is not None:
            in_unit.add(column.name)
            problems.append(finding("error", "header-unit", file=name, sheet=table.sheet, row=row_number,
                                    column=unit[0], blocking=True, unit=unit[1]))
    for column in missing:
        if column.name in in_unit:
            continue
        problems.append(finding(
            "error", "missing-column", file=name, sheet=table.sheet, row=row_number,
            column=column.name, blocking=True, role=role,
            aliases=", ".join([a for a in column.aliases if not a.isascii()][:4] + [column.name]), header=shown[:160]))
    return columns, problems, True


def _unit_header(header: tuple[object, ...], column: Column) -> tuple[str, str] | None:
    """A header cell that names ``column`` with a unit that would change the figures
    (``金额(万元)``): (the cell, the unit)."""
    names = {normalise_header(s) for s in (column.name, *column.aliases)}
    for cell in header:
        named = header_unit(cell) if not cells.is_blank(cell) else None
        if named and named[0] in names:
            return cells.parse_text(cell), named[1]
    return None


def _duplicate_keys(ledger: Ledger) -> list[Finding]:
    """A key (order id, payment id …) used twice, across all sheets of the ledger."""
    key = UNIQUE_KEY[ledger.role] if ledger.role in UNIQUE_KEY else None
    frame = ledger.frame
    if frame.empty or key not in frame:
        return []
    values = frame[key]
    dupes = values.notna() & values.duplicated(keep="first")
    if not dupes.any():
        return []
    first_rows = frame.loc[values.notna() & ~values.duplicated(keep="first")].set_index(key)["_row"]
    out = []
    for count, (value, row) in enumerate(zip(values[dupes], frame.loc[dupes, "_row"])):
        if count >= MAX_FINDINGS_PER_COLUMN:
            out.append(finding("error", "more-like-this", **ledger.at(key), blocking=True,
                               count=int(dupes.sum()) - count, like="duplicate-id"))
            break
        first = ledger.at(key, int(first_rows[value]))
        out.append(finding("error", "duplicate-id", **ledger.at(key, int(row)), value=value, blocking=True,
                           first_row=first["row"] if first["sheet"] == ledger.at(key, int(row))["sheet"]
                           else f"{first['sheet']}!{first['row']}"))
    return out
