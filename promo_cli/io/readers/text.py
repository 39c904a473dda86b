"""Text ledgers: CSV, TSV and Excel's "Unicode text", in the encodings Chinese offices use.

Decoded by byte-order mark or by trying UTF-8, then GB18030 and Big5 (the one whose first
rows name known columns wins); separated by whichever of ``,`` tab ``;`` ``|`` puts the
known column names in one row. Title lines above that header are skipped, and every
record keeps its row number as Excel shows it. Each deviation from a plain CSV is a note.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import compute as pc
from pyarrow import csv as pa_csv

from promo_cli.io.inspect import Unreadable
from dataclasses import replace

from promo_cli.io.readers.table import HEADER_SEARCH_ROWS, Table, header_score, is_header

DELIMITERS = (",", "\t", ";", "|")
_NAMES = {",": ",", "\t": "tab", ";": ";", "|": "|"}
_HEAD_CHARS = 65536
_BARE_CR = re.compile(r"\r(?!\n)")


def read_text(decoded: tuple[str, str, list[tuple[str, dict]]], role: str) -> Table:
    """The text ledger (as :func:`decode` gave it) as one :class:`Table`; raises
    :class:`Unreadable` for what is not text."""
    text, encoding, notes = decoded
    text = text.rstrip("\x1a\x00")           # DOS end-of-file mark, padding
    if "\x00" in text[:4096]:
        raise Unreadable("not-a-ledger", reason=("binary", ()))
    if "\r" in text:
        if "\n" not in text:                 # old Mac line endings
            text = text.replace("\r", "\n")
            notes.append(("cr-line-endings", {}))
        elif text.count("\r") != text.count("\r\n"):
            count = len(_BARE_CR.findall(text))
            text = _BARE_CR.sub(" ", text)
            notes.append(("bare-cr", {"count": count}))
    delimiter, head, header_at = _layout(text, role)
    if encoding not in ("utf-8", "GB18030") or delimiter != ",":
        notes.append(("read-as-text", {"encoding": encoding, "delimiter": _NAMES[delimiter]}))
    table = _arrow_table(text, delimiter, head, header_at) or _csv_table(text, delimiter, header_at)
    table = _unguard(table)
    if table.skipped_above:
        table = table.with_note("title-lines", count=table.skipped_above, header_row=table.first_row - 1)
    for code, params in notes:
        table = table.with_note(code, **params)
    return table


def decode(raw: bytes) -> tuple[str, str, list[tuple[str, dict]]]:
    """The text of a file, the encoding it was in, and notes on anything unusual."""
    notes: list[tuple[str, dict]] = []
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(raw, "utf-16"), "UTF-16", notes
    if raw.startswith(codecs.BOM_UTF8):
        body = raw[len(codecs.BOM_UTF8):]
        try:
            return body.decode("utf-8"), "utf-8", notes
        except UnicodeDecodeError:           # GBK bytes saved behind a UTF-8 mark
            notes.append(("gbk-behind-bom", {}))
            return _strict(body, "gb18030"), "GB18030", notes
    head = raw[:4096]
    if head.count(0) > len(head) // 4:        # UTF-16 without a mark: every other byte is zero
        odd_zeros = head[1::2].count(0)
        return _strict(raw, "utf-16-le" if odd_zeros > head[0::2].count(0) else "utf-16-be"), "UTF-16", notes
    try:
        return raw.decode("utf-8"), "utf-8", notes
    except UnicodeDecodeError:
        pass
    candidates = []
    for encoding in ("gb18030", "big5"):
        try:
            candidates.append((raw.decode(encoding), encoding))
        except UnicodeDecodeError:
            continue
    if not candidates:
        raise Unreadable("not-a-ledger", reason=("encoding", ()))
    # GB18030 decodes nearly any bytes; Big5 text comes out as nonsense that names no column
    text, encoding = max(candidates, key=lambda c: _best_header_score(c[0]))
    return text, "GB18030" if encoding == "gb18030" else "Big5", notes


def _strict(raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise Unreadable("not-a-ledger", reason=("encoding", ())) from None


def _head_rows(text: str, delimiter: str) -> list[list[str]]:
    head = text[:_HEAD_CHARS]
    if len(text) > _HEAD_CHARS:
        head = head[:head.rfind("\n") + 1] or head
    try:
        return list(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter))[:HEADER_SEARCH_ROWS * 2]
    except csv.Error:
        return []


def _best_header_score(text: str) -> int:
    return max((header_score(tuple(row)) for d in DELIMITERS for row in _head_rows(text, d)[:HEADER_SEARCH_ROWS]),
               default=0)


def _layout(text: str, role: str) -> tuple[str, list[list[str]], int]:
    """The delimiter, the first records split by it, and the index of the header record (the
    first of the first records holding every required column of ``role``; else the first
    non-blank one)."""
    for delimiter in DELIMITERS:
        rows = _head_rows(text, delimiter)
        for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
            if is_header(tuple(row), role):
                return delimiter, rows, i
    # no row names the columns: split by what the first non-blank line has most of, so the
    # refusal shows that line's cells
    first = next((line for line in text[:_HEAD_CHARS].split("\n") if line.strip()), "")
    delimiter = max(DELIMITERS, key=first.count)
    rows = _head_rows(text, delimiter)
    return delimiter, rows, next((i for i, row in enumerate(rows) if any(c.strip() for c in row)), 0)


def _arrow_table(text: str, delimiter: str, rows: list[list[str]], header_at: int) -> Table | None:
    """Every cell as text by Arrow's reader (threads, outside the GIL), or None when a record
    has another number of fields than the header (the csv module then reads it, row by row).
    ``rows`` are the first records (see :func:`_layout`)."""
    if header_at >= len(rows):
        return None
    offset = _record_offset(text, delimiter, header_at)
    if offset is None:
        return None
    header = rows[header_at]
    names = [f"c{j}" for j in range(max(len(header), 1))]
    try:
        table = pa_csv.read_csv(
            io.BytesIO(text[offset:].encode("utf-8")),
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True,
                                              newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, ValueError):
        return None
    columns = [pd.Series(pd.arrays.ArrowExtensionArray(table.column(j)), dtype="str")
               for j in range(table.num_columns)]
    skipped = sum(1 for r in rows[:header_at] if any(c.strip() for c in r))
    return Table(None, tuple(header), columns, header_at + 2, 0, skipped_above=skipped)


def _record_offset(text: str, delimiter: str, records: int) -> int | None:
    """Where record number ``records`` (0-based) starts in ``text``."""
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        for _ in range(records):     # the csv module pulls no line beyond the record it returns
            next(reader)
    except (StopIteration, csv.Error):
        return None
    return lines.position


class _Lines:
    """Lines of a text for the csv module, remembering where the next line starts."""

    def __init__(self, text: str) -> None:
        self.text, self.position = text, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.position >= len(self.text):
            raise StopIteration
        end = self.text.find("\n", self.position)
        end = len(self.text) if end < 0 else end + 1
        line, self.position = self.text[self.position:end], end
        return line


def _csv_table(text: str, delimiter: str, header_at: int) -> Table:
    """Record by record through the csv module, each record's field count kept."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise Unreadable("csv-malformed", reason=str(exc)) from None
    if header_at >= len(rows):
        return Table(None, (), [], 1, 0)
    header, body = rows[header_at], rows[header_at + 1:]
    widths = np.fromiter((len(r) for r in body), dtype=np.int64, count=len(body))
    width = max([len(header)] + widths.tolist())
    columns = [pd.Series([r[j] if j < len(r) else None for r in body], dtype="str") for j in range(width)]
    skipped = sum(1 for r in rows[:header_at] if any(c.strip() for c in r))
    return Table(None, tuple(header) + ("",) * (width - len(header)), columns, header_at + 2, 0,
                 widths=widths, skipped_above=skipped)


def _unguard(table: Table) -> Table:
    """Cells written ``="00012345"`` (Excel's guard that keeps text from becoming a number)
    read as the text inside; counted in a note."""
    count, columns = 0, []
    for column in table.columns:
        array = pa.array(column.array) if not isinstance(column.array, pd.arrays.ArrowExtensionArray) \
            else column.array._pa_array
        guarded = pc.match_substring_regex(array, r'^\s*="(.*)"\s*$')
        hits = pc.sum(guarded).as_py() or 0
        if hits:
            inner = pc.replace_substring(pc.replace_substring_regex(array, r'^\s*="(.*)"\s*$', r"\1"), '""', '"')
            column = pd.Series(pd.arrays.ArrowExtensionArray(pc.if_else(guarded, inner, array)), dtype="str")
            count += hits
        columns.append(column)
    return replace(table, columns=columns).with_note("text-guard", count=count) if count else table
