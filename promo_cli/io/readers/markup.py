"""Markup that web ERPs and banks save under an ``.xls`` name: an HTML table, or Excel 2003's
XML Spreadsheet (SpreadsheetML). Excel opens both; so does promo, row for row as Excel
numbers them. Values stay the text written in the file, so amounts are read exactly."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from xml.etree import ElementTree

from promo_cli.io.inspect import Unreadable
from promo_cli.io.readers.table import locate_header, rows_table

_SPREADSHEET_NS = "urn:schemas-microsoft-com:office:spreadsheet"
_ENTITY = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def markup_kind(text: str) -> str | None:
    """``html``, ``xml2003`` or None for the start of a decoded text file."""
    head = text[:4096].lstrip("\ufeff \t\r\n").lower()
    if head.startswith("<?xml") and _SPREADSHEET_NS in text[:8192]:
        return "xml2003"
    if head.startswith(("<html", "<!doctype html", "<table", "<meta", "<head", "<body")) \
            or (head.startswith("<") and "<table" in text[:65536].lower()):
        return "html"
    return None


def read_html(text: str, role: str):
    """Yield every ``<table>`` of an HTML file as a :class:`Table`."""
    parser = _TableParser()
    parser.feed(text)
    parser.close()
    for number, rows in enumerate(parser.tables, start=1):
        yield locate_header(rows_table(f"table {number}" if len(parser.tables) > 1 else None, rows, 1, 0), role)


class _TableParser(HTMLParser):
    """Rows of cell texts of each table (nested tables are flattened into their own)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._stack: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in ("td", "th") and self._stack:
            if not self._stack[-1]:
                self._stack[-1].append([])
            self._cell = []
            span = dict(attrs).get("colspan")
            self._span = int(span) if span and span.isdigit() else 1
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._stack:
            row = self._stack[-1][-1]
            row.append(" ".join("".join(self._cell).split()))
            row.extend([""] * (self._span - 1))
            self._cell = None
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def read_xml2003(text: str, role: str):
    """Yield every worksheet of an Excel 2003 XML Spreadsheet as a :class:`Table`."""
    if _ENTITY.search(text[:65536]):
        raise Unreadable("xml-entities", part="XML")
    try:
        root = ElementTree.fromstring(_xml_bytes(text))
    except ElementTree.ParseError as exc:
        raise Unreadable("workbook-corrupt", reason=f"XML: {exc}") from None
    ns = "{%s}" % _SPREADSHEET_NS
    for sheet in root.iter(f"{ns}Worksheet"):
        rows: list[list[object]] = []
        for table in sheet.iter(f"{ns}Table"):
            for row in table.iter(f"{ns}Row"):
                index = row.get(f"{ns}Index")
                while index and index.isdigit() and len(rows) < int(index) - 1:
                    rows.append([])
                cells: list[object] = []
                for cell in row.iter(f"{ns}Cell"):
                    at = cell.get(f"{ns}Index")
                    if at and at.isdigit():
                        cells.extend([""] * (int(at) - 1 - len(cells)))
                    data = cell.find(f"{ns}Data")
                    cells.append("" if data is None else "".join(data.itertext()))
                rows.append(cells)
            break   # one Table per Worksheet
        yield locate_header(rows_table(sheet.get(f"{ns}Name"), rows, 1, 0), role)


def _xml_bytes(text: str) -> bytes:
    """The decoded XML as UTF-8 bytes, without its declaration (which may name the encoding it
    had on disk, no longer true)."""
    body = text.lstrip("\ufeff")
    if body.startswith("<?xml"):
        body = body[body.find("?>") + 2:]
    return body.encode("utf-8")
