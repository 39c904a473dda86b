"""A second, deliberately simple reading of every ledger, to check the readers against the file.

The readers are clever (encodings, separators, title and total lines, typed columns); a
clever reader can be cleverly wrong. This one is plain on purpose: the csv module for text,
the standard library's zipfile and XML parser for xlsx, pyarrow's file reader for Parquet,
nothing shared with :mod:`promo_cli.io.readers` but the header texts the engine found. It
counts the data rows (a non-empty key cell) and adds up the amount column, and a row whose
fields do not line up with the header counts with an amount it cannot know. The audit
compares both readings; any difference is an error to review. Past REREAD_ROWS data rows
(REREAD_WORKBOOK_ROWS for a workbook, which it reads some 80,000 rows a second) a ledger is
checked on its first rows (a sample).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from xml.etree import ElementTree

from promo_cli.model import ROW_STRIDE, Finding, Ledger, finding
from promo_cli.money import format_display

REREAD_ROWS = 200_000
REREAD_WORKBOOK_ROWS = 50_000
_GRAND_TOTAL = re.compile(r"合计|合計|总计|總計|^\s*(grand\s+)?total", re.IGNORECASE)
_SUBTOTAL = re.compile(r"小计|小計|subtotal", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Reading:
    """What the simple reader saw in one sheet (or text file): data rows, the sum of the
    amounts it could read (cents), rows whose amount it could not read, the last Excel row
    it looked at."""

    rows: int
    cents: int
    unreadable: int
    last_row: int


def reread_ledger(ledger: Ledger, key: str) -> tuple[list[tuple[str, int, int, str]], list[Finding]]:
    """Reconciliation rows (engine vs second reading: rows, and the amount column when there is
    one) for every file and sheet of ``ledger``, and an error finding for each difference."""
    out, findings = [], []
    files = list(ledger.parts.values()) or [ledger]
    for part in files:
        sheets = list(part.sheets) or [part]
        for k, sheet in enumerate(sheets):
            headers = sheet.headers
            if key not in headers:
                continue
            amount = headers.get("amount", (None,))[0]
            try:
                reading = _read_query(part.query, headers[key][0], amount) if part.query is not None \
                    else _read(part.path, sheet.sheet, headers[key][0], amount)
            except RereadFailed as exc:     # the audit says it could not check, rather than nothing
                findings.append(finding("warning", "reread-failed", file=part.label, sheet=sheet.sheet,
                                        reason=str(exc)))
                continue
            if reading is None:
                continue
            where = f"{part.label}[{sheet.sheet}]" if sheet.sheet else part.label
            if ledger.spill is not None:      # read out of core: the engine's figures from its rows on disk
                engine_rows, engine_cents = ledger.spill.figures(reading.last_row)
                out.append((f"reread-rows:{where}", engine_rows, reading.rows, "count"))
                if amount is not None:
                    out.append((f"reread-amount:{where}", engine_cents, reading.cents, "money"))
                findings += _differ(part, sheet, reading, engine_rows, engine_cents if amount is not None else None)
                continue
            frame = ledger.frame
            if "_file" in frame and ledger.parts:
                frame = frame[frame["_file"] == part.path.name]
            rows = frame["_row"].to_numpy()
            mine = (rows >= k * ROW_STRIDE) & (rows < (k + 1) * ROW_STRIDE) & (rows % ROW_STRIDE <= reading.last_row) \
                if part.sheets else rows <= reading.last_row
            engine_rows = int(mine.sum())
            out.append((f"reread-rows:{where}", engine_rows, reading.rows, "count"))
            engine_cents = None
            if amount is not None:
                engine_cents = int(frame.loc[mine, "amount"].sum())
                out.append((f"reread-amount:{where}", engine_cents, reading.cents, "money"))
            findings += _differ(part, sheet, reading, engine_rows, engine_cents)
    return out, findings


def _differ(part: Ledger, sheet: Ledger, reading: Reading, engine_rows: int, engine_cents: int | None) -> list[Finding]:
    """An error for the first figure that differs; with rows it could not read, the amount is unknown."""
    checks = [("rows", f"{engine_rows:,}", f"{reading.rows:,}", engine_rows == reading.rows)]
    if engine_cents is not None:
        checks.append(("amount", format_display(engine_cents), format_display(reading.cents),
                       engine_cents == reading.cents))
    differs = [c for c in checks if not c[3]] or (checks[-1:] if reading.unreadable else [])
    return [finding("error", "reread-differs", file=part.label, sheet=sheet.sheet, what=(what, ()), engine=ours,
                    reread=theirs, unreadable=reading.unreadable, upto=reading.last_row)
            for what, ours, theirs, _ in differs[:1]]


def _read(path: Path, sheet: str | None, key: str, amount: str | None) -> Reading | None:
    if path.is_dir():
        return _read_parquet(path, key, amount)
    try:
        with path.open("rb") as handle:
            head = handle.read(262_144)
    except OSError:
        return None
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx(path, sheet, key, amount)
    if head.startswith(b"PAR1"):
        return _read_parquet(path, key, amount)
    if head.startswith(b"\xd0\xcf\x11\xe0") or head.lstrip()[:1] == b"<":
        return None            # xls, HTML, XML: no second reader of their own here
    encoding = _encoding(head, key)
    if encoding is None:
        return None
    skip = 3 if encoding == "gb18030" and head.startswith(codecs.BOM_UTF8) else 0   # GBK behind a UTF-8 mark
    for delimiter in (",", "\t", ";", "|"):
        # streamed: only the rows it counts are decoded; newline="" lets the csv module take
        # CRLF, LF and CR alike
        with path.open("rb") as handle:
            handle.read(skip)
            text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")
            try:
                reading = _count(csv.reader(text, delimiter=delimiter), key, amount, ragged=True)
            except csv.Error:
                continue
        if reading is not None:
            return reading
    return None


def _encoding(head: bytes, key: str) -> str | None:
    """The encoding under which the file's first bytes hold the key column's header."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig", "gb18030"]
    else:
        candidates = ["utf-8", "gb18030", "big5", "utf-16-le"]
    for encoding in candidates:
        body = head[3:] if encoding == "gb18030" and head.startswith(codecs.BOM_UTF8) else head
        if key in body.decode(encoding, errors="ignore"):
            return "utf-8-sig" if encoding == "utf-8" else encoding
    return None


def _read_xlsx(path: Path, sheet: str | None, key: str, amount: str | None) -> Reading | None:
    """The sheet straight from the zip with the standard library's XML parser: shared strings,
    then the sheet's rows; numbers stay the decimal text the file holds."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = {n.replace("\\", "/"): n for n in archive.namelist()}
            part = _sheet_part(archive, names, sheet)
            if part is None:
                return None
            strings = _shared_strings(archive, names)
            with archive.open(names[part]) as xml:
                return _count(_xlsx_rows(xml, strings), key, amount, ragged=False, limit=REREAD_WORKBOOK_ROWS)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, ElementTree.ParseError):
        return None


class RereadFailed(Exception):
    """A source the engine read that the second reading could not (its database's error)."""


def _read_query(query, key: str, amount: str | None) -> Reading | None:
    """The query run again through the database's own driver (the standard library's sqlite3,
    or psycopg), the key and amount columns only, each value as the driver gives it."""
    name = lambda column: '"' + column.replace('"', '""') + '"'  # noqa: E731 - a quoted column name
    sql = f"select {name(key)}{', ' + name(amount) if amount else ''} from ({query.sql}) as ledger"
    try:
        if query.url.lower().startswith("sqlite:"):
            import sqlite3
            connection = sqlite3.connect(Path(query.url.split("://", 1)[1][1:]).as_uri() + "?mode=ro", uri=True)
        else:
            import psycopg
            connection = psycopg.connect(query.url, autocommit=True)
        with connection:
            rows = connection.execute(sql).fetchmany(REREAD_ROWS + 1)
        connection.close()
    except Exception as exc:        # noqa: BLE001 - any driver's error (the server went away, a lock)
        raise RereadFailed((str(exc).strip().splitlines() or [type(exc).__name__])[0]) from None
    count = cents = unreadable = 0
    for seen, row in enumerate(rows[:REREAD_ROWS], start=1):
        if row[0] is None or not str(row[0]).strip():
            continue
        count += 1
        parsed = _amount(row[1]) if amount and row[1] is not None else 0
        if parsed is None:
            unreadable += 1
        else:
            cents += parsed
    return Reading(count, cents, unreadable, min(len(rows), REREAD_ROWS) + 1)


def _read_parquet(path: Path, key: str, amount: str | None) -> Reading | None:
    """A Parquet file, or the files of a folder in name order, straight from pyarrow's file
    reader: the key and amount columns only, each value as Python gives it (a decimal as its
    digits, a float by its repr), at most REREAD_ROWS records."""
    import pyarrow.parquet as pq
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))) \
        if path.is_dir() else [path]
    count = cents = unreadable = seen = 0
    try:
        for file in files:
            reader = pq.ParquetFile(file)
            names = reader.schema_arrow.names
            if key not in names or (amount is not None and amount not in names):
                return None
            for batch in reader.iter_batches(columns=[key] + ([amount] if amount else [])):
                keys = batch.column(0).to_pylist()
                amounts = batch.column(1).to_pylist() if amount else [None] * len(keys)
                for value, money in zip(keys, amounts):
                    if count >= REREAD_ROWS:
                        return Reading(count, cents, unreadable, seen + 1)
                    seen += 1
                    if value is None or not str(value).strip():
                        continue
                    count += 1
                    parsed = _amount(money) if money is not None else 0
                    if parsed is None:
                        unreadable += 1
                    else:
                        cents += parsed
    except (OSError, ValueError):
        return None
    return Reading(count, cents, unreadable, seen + 1)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _sheet_part(archive: zipfile.ZipFile, names: dict[str, str], sheet: str | None) -> str | None:
    book = ElementTree.fromstring(archive.read(names["xl/workbook.xml"]))
    rels = ElementTree.fromstring(archive.read(names["xl/_rels/workbook.xml.rels"]))
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    for element in book.iter():
        if _local(element.tag) == "sheet" and (sheet is None or element.get("name") == sheet):
            rel = next((v for k, v in element.attrib.items() if _local(k) == "id" and k.startswith("{")), None)
            target = targets.get(rel, "").replace("\\", "/")
            part = target.lstrip("/") if target.startswith("/") else "xl/" + target
            return part if part in names else None
    return None


def _shared_strings(archive: zipfile.ZipFile, names: dict[str, str]) -> list[str]:
    if "xl/sharedStrings.xml" not in names:
        return []
    strings = []
    with archive.open(names["xl/sharedStrings.xml"]) as xml:
        for _, element in ElementTree.iterparse(xml):
            if _local(element.tag) == "si":
                strings.append("".join(t.text or "" for t in element.iter() if _local(t.tag) == "t"))
                element.clear()
    return strings


def _xlsx_rows(xml, strings: list[str]):
    """Each row's cell values (text) in column order, an empty row for every row number the
    sheet skips, so rows are numbered as Excel numbers them."""
    number, row_tag = 0, None
    for _, element in ElementTree.iterparse(xml):
        if row_tag is None and _local(element.tag) == "row":   # its namespace (transitional, Strict) names the rest
            ns = element.tag[:element.tag.find("}") + 1]
            row_tag, cell_tag, value_tag, text_tag = ns + "row", ns + "c", ns + "v", ns + "t"
        if element.tag != row_tag:
            continue
        at = element.get("r")
        while at and at.isdigit() and number + 1 < int(at):
            number += 1
            yield []
        number += 1
        values: list[object] = []
        for cell in element.iter(cell_tag):
            ref = cell.get("r")
            if ref:
                column = 0
                for ch in ref.rstrip("0123456789"):
                    column = column * 26 + ord(ch) - 64
                if column - 1 > len(values):
                    values += [""] * (column - 1 - len(values))
            kind = cell.get("t")
            if kind == "inlineStr":
                value = "".join(t.text or "" for t in cell.iter(text_tag))
            else:
                value = cell.findtext(value_tag) or ""
                if kind == "s":
                    value = strings[int(value)] if value.isdigit() and int(value) < len(strings) else ""
                elif kind == "e":
                    value = f"error {value}"      # no amount: counted as unreadable
            values.append(value)
        element.clear()
        yield values


def _count(rows, key: str, amount: str | None, ragged: bool, limit: int | None = None) -> Reading | None:
    """Walk rows until the header (the row holding the key's and the amount's header texts),
    then count data rows, at most ``limit`` (REREAD_ROWS). None when no header is found in
    the first 100 rows."""
    limit = REREAD_ROWS if limit is None else limit
    header = None
    count = cents = unreadable = 0
    last = 0
    for number, row in enumerate(rows, start=1):
        cells = ["" if v is None else v.strip("\x1a\x00") if isinstance(v, str) else v for v in row]
        if header is None:
            texts = [str(v).strip() for v in cells]
            if key in texts and (amount is None or amount in texts):
                header = (texts.index(key), texts.index(amount) if amount else None, len(texts), _width(texts))
            elif number > 100:
                return None
            continue
        k, a, fields, named = header
        value = str(cells[k]).strip() if k < len(cells) else ""
        if not value and (not ragged or not any(str(v).strip() for v in cells)):
            continue
        if _GRAND_TOTAL.search(value) or _SUBTOTAL.search(value) or not value and _is_total(cells):
            if _GRAND_TOTAL.search(value) or not value and any(_GRAND_TOTAL.search(str(v)) for v in cells):
                break           # a grand total: what follows is not data
            continue
        if count >= limit:
            break
        count += 1
        last = number
        if a is None:
            continue
        if ragged and (len(cells) < named or _width([str(v) for v in cells]) > fields):
            unreadable += 1      # fields out of line with the header: its amount is unknown
            continue
        parsed = _amount(cells[a] if a < len(cells) else "")
        if parsed is None:
            unreadable += 1
        else:
            cents += parsed
    return None if header is None else Reading(count, cents, unreadable, last)


def _is_total(cells) -> bool:
    return any(_GRAND_TOTAL.search(str(v)) or _SUBTOTAL.search(str(v)) for v in cells)


def _width(texts: list[str]) -> int:
    """Fields up to the last non-empty one."""
    width = len(texts)
    while width and not str(texts[width - 1]).strip():
        width -= 1
    return width


def _amount(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        text = repr(value)
    else:
        text = str(value).strip()
        if text.startswith('="') and text.endswith('"'):
            text = text[2:-1]
        text = text.replace(",", "").replace("¥", "").replace("￥", "").replace(" ", "")
        if text.startswith("(") and text.endswith(")"):
            text = "-" + text[1:-1]
    if not text:
        return 0
    try:
        return int((Decimal(text) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return None
