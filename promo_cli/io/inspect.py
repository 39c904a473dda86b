"""Look at a workbook's bytes before any parser does, and refuse what would hurt.

The readers' own behaviour on hostile files is to abort the process (a zip bomb makes
calamine's Rust side abort), hang, or fail with a message a clerk cannot use. So:
- the real format is sniffed from the bytes, whatever the extension says;
- a zip's declared sizes and compression ratios are checked against limits, then the
  XML parts are inflated as a stream (never into memory) to check the real sizes, the
  CRCs, entity declarations (billion laughs), and columns far beyond any ledger;
- an encrypted OLE file is recognised as password-protected;
- cells that hold no usable value are collected: formulas a program wrote but never
  calculated (no cached value, or 0 in a workbook marked "calculate on load") and error
  values (``#N/A``), so the reader can name them instead of reading them as empty or 0.
Every refusal is an ``Unreadable(code, params)`` that the reader turns into a finding.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from xml.etree import ElementTree
from dataclasses import dataclass, field


ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_ENTITY = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
# a cell reference with three letters (past ZZ); the space before ``r`` is checked apart, since a
# pattern starting with a literal is searched many times faster than one starting with ``\s``
_WIDE_CELL = re.compile(rb'r="([A-Z]{3,})\d+"')
_DIMENSION = re.compile(rb'<dimension\s+ref="([A-Z]+\d+)(?::([A-Z]+\d+))?"')
_STRING_COUNT = re.compile(rb'<sst\b[^>]*?\b(?:uniqueCount|count)="(\d+)"')
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_HAS_VALUE = re.compile(rb"<(?:\w+:)?v>[^<]|<(?:\w+:)?is>", re.DOTALL)
_ROW_OF = re.compile(rb'\br="[A-Z]+([0-9]+)"')
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f\b")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</")
# Cheap tests that a window may hold a cell without a usable value: a formula (<f>, <x:f>) or an
# error value; the cell regex runs only then.
_SPECIAL_HINTS = (b"<f", b":f", b't="e"')
_FULL_CALC = re.compile(rb'fullCalcOnLoad="(?:1|true)"')
MAX_SPECIAL_CELLS = 10_000       # per sheet: enough to name them; more are counted as one
_MIN_STRING_BYTES = 8  # "<si><t/></si>" and more: a shared string never takes fewer bytes
_MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """How big a workbook may be. The defaults let a real 1,000,000-row ledger through."""

    max_unzipped_mb: int = 2048      # all parts of the xlsx together, inflated
    max_zip_ratio: int = 200         # inflated ÷ compressed size of one part (real sheets: 5–50)
    max_columns: int = 702           # column ZZ; a ledger has a few dozen
    max_cells: int = 150_000_000     # rows × columns a sheet may declare


@dataclass(slots=True)
class Inspection:
    """What the inspection learnt of a workbook: its ``format`` (xlsx, xlsx-odd for a zip that
    only the cell-by-cell reader places, xlsb, ods, xls), each xlsx worksheet part's first
    row with a value (0-based), and its cells without a usable value:
    ``special[part][(Excel row, 0-based column)] = ("formula" | "error", text)``."""

    format: str
    first_rows: dict[str, int] = field(default_factory=dict)
    special: dict[str, dict[tuple[int, int], tuple[str, str]]] = field(default_factory=dict)
    full_calc: bool = False


class Unreadable(Exception):
    """A file the readers must not or cannot parse; ``code`` and ``params`` make the finding."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code, self.params = code, params


def sniff(raw: bytes) -> str:
    """Return ``xlsx`` (a zip), ``ole`` (xls or an encrypted workbook) or ``text``."""
    if raw.startswith(ZIP_MAGIC):
        return "xlsx"
    if raw.startswith(OLE_MAGIC):
        return "ole"
    return "text"


def inspect_workbook(raw: bytes, limits: Limits) -> Inspection:
    """Raise :class:`Unreadable` if a workbook's bytes are unsafe or broken; else what the
    reader needs to know (see :class:`Inspection`). A sheet without any value has no first row."""
    try:
        return _inspect(raw, limits)
    except Unreadable:
        raise
    except Exception as exc:  # zipfile raises ValueError, OSError, struct.error … on damaged headers
        raise Unreadable("workbook-corrupt", reason=f"{type(exc).__name__}: {exc}"[:300]) from None


def _inspect(raw: bytes, limits: Limits) -> Inspection:
    kind = sniff(raw)
    if kind == "ole":
        if _ENCRYPTED in raw or _legacy_encrypted(raw):
            raise Unreadable("workbook-password")
        return Inspection("xls")
    if kind != "xlsx":
        return Inspection(kind)
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise Unreadable("workbook-truncated") from None
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        result = Inspection(_zip_format(archive, names))
        declared = sum(info.file_size for info in infos)
        if declared > limits.max_unzipped_mb * _MB:
            raise Unreadable("zip-too-large", size=declared // _MB, limit=limits.max_unzipped_mb)
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > _MB and ratio > limits.max_zip_ratio:
                raise Unreadable("zip-bomb", part=info.filename, size=info.file_size // _MB,
                                 ratio=int(ratio), limit=limits.max_zip_ratio)
        budget = limits.max_unzipped_mb * _MB
        for info in infos:
            if info.filename.endswith((".xml", ".rels", ".bin")):
                budget -= _stream_part(archive, info, budget, limits, result)
        if not result.full_calc:        # a cached 0 is a real 0 where the workbook was calculated
            result.special = {part: {k: v for k, v in cells.items() if v != ("formula", "0")}
                              for part, cells in result.special.items()}
        return result


def _zip_format(archive: zipfile.ZipFile, names: set[str]) -> str:
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if "mimetype" in names and archive.read("mimetype").startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return "ods"
    if any(n.replace("\\", "/").lower() == "xl/workbook.xml" for n in names):
        return "xlsx-odd"      # backslashes or odd case in part names: calamine still reads it
    raise Unreadable("not-a-workbook")


def _legacy_encrypted(raw: bytes) -> bool:
    """An Excel 97-2003 workbook protected by a password: its workbook stream starts with a BOF
    record followed by a FILEPASS record (0x002F)."""
    at = raw.find(b"\x09\x08", 512)
    while 0 <= at < min(len(raw), 1 << 20):
        size = int.from_bytes(raw[at + 2:at + 4], "little")
        if size in (8, 16) and raw[at + 4 + size:at + 6 + size] == b"\x2f\x00":
            return True
        at = raw.find(b"\x09\x08", at + 2)
    return False


def _stream_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, limits: Limits,
                 result: Inspection) -> int:
    """Inflate one part as a stream: check its real size, CRC and content; return its size."""
    is_sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
    first_rows = result.first_rows
    if info.filename == "xl/workbook.xml":
        result.full_calc = bool(_FULL_CALC.search(archive.read(info)[:_MB]))
    declared_strings = 0
    seen, tail = 0, b""
    try:
        with archive.open(info) as part:
            while chunk := part.read(_MB):
                seen += len(chunk)
                if seen > budget or seen > info.file_size + _MB:
                    raise Unreadable("zip-bomb", part=info.filename, size=seen // _MB,
                                     ratio=seen // max(info.compress_size, 1), limit=limits.max_zip_ratio)
                window = tail + chunk
                if seen <= 4 * _MB and _ENTITY.search(window):
                    raise Unreadable("xml-entities", part=info.filename)
                if seen == len(chunk) and info.filename == "xl/sharedStrings.xml":
                    counts = _STRING_COUNT.findall(chunk[:4096])
                    declared_strings = max((int(c) for c in counts), default=0)
                if is_sheet:
                    if seen == len(chunk):
                        _check_dimension(window, info.filename, limits)
                    if info.filename not in first_rows:
                        first = _first_value_row(window)
                        if first is not None:
                            first_rows[info.filename] = first
                    _check_width(window, info.filename, limits)
                    if any(hint in window for hint in _SPECIAL_HINTS):
                        _collect_special(window, result.special.setdefault(info.filename, {}))
                tail = chunk[-4096:]
    except zipfile.BadZipFile:
        raise Unreadable("workbook-corrupt", reason=f"{info.filename}: bad CRC") from None
    except (zlib.error, EOFError, NotImplementedError) as exc:
        raise Unreadable("workbook-corrupt", reason=f"{info.filename}: {exc}") from None
    if declared_strings * _MIN_STRING_BYTES > seen + _MB:
        # calamine reserves memory for the declared count up front: a forged count aborts it
        raise Unreadable("workbook-corrupt", reason=f"{info.filename} declares {declared_strings} strings "
                                                    f"but holds only {seen} bytes")
    return seen


def sheet_parts(raw: bytes) -> dict[str, str] | None:
    """{name: its part in the zip} of an inspected xlsx's visible sheets, in the workbook's
    order (None if it cannot tell)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return None
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    parts = {}
    # by local names, whatever the namespace (transitional, Strict OOXML, a prefix)
    for sheet in (e for e in book.iter() if e.tag.rpartition("}")[2] == "sheet"):
        if sheet.get("state", "visible") != "visible":
            continue
        rel = next((v for k, v in sheet.attrib.items() if k.rpartition("}")[2] == "id" and k.startswith("{")), None)
        target = targets.get(rel, "")
        parts[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return parts


def _collect_special(window: bytes, found: dict[tuple[int, int], tuple[str, str]]) -> None:
    """Add the cells of ``window`` that hold a formula without a cached value (or with 0, kept
    apart until the workbook is known to calculate on load) or an error value."""
    for match in _CELL.finditer(window):
        if len(found) >= MAX_SPECIAL_CELLS:
            return
        attrs, content = match.group(1), match.group(2) or b""
        value = _VALUE.search(content)
        text = value.group(1).decode("utf-8", "replace") if value else ""
        if b't="e"' in attrs:
            kind = ("error", text or "#VALUE!")
        elif _FORMULA.search(content) and text in ("", "0"):
            kind = ("formula", text)
        else:
            continue
        ref = _REF.search(attrs)
        key = (int(ref.group(2)), _column_number(ref.group(1)) - 1) if ref else (0, -1 - len(found))
        found[key] = kind


def _first_value_row(head: bytes) -> int | None:
    """The 0-based row of the first cell holding a value (``<v>`` or an inline string)."""
    for match in _CELL.finditer(head):
        if match.group(2) and _HAS_VALUE.search(match.group(2)):
            row = _ROW_OF.search(match.group(1))
            return int(row.group(1)) - 1 if row else None
    return None


def _check_width(window: bytes, part: str, limits: Limits) -> None:
    for wide in _WIDE_CELL.finditer(window):
        if window[wide.start() - 1:wide.start()].isspace() and _column_number(wide.group(1)) > limits.max_columns:
            raise Unreadable("sheet-too-wide", part=part, column=wide.group(1).decode(), max=limits.max_columns)


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters.decode():
        number = number * 26 + ord(ch) - 64
    return number


def _check_dimension(head: bytes, part: str, limits: Limits) -> None:
    match = _DIMENSION.search(head[:4096])
    if not match or not match.group(2):
        return
    from xlsxwriter.utility import xl_cell_to_rowcol
    (r1, c1), (r2, c2) = (xl_cell_to_rowcol(m.decode()) for m in match.groups())
    rows, columns = r2 - r1 + 1, c2 - c1 + 1
    # the declared width alone refuses nothing: LibreOffice declares A1:AMJ25 for a sheet
    # formatted across all its columns; the cells themselves are checked by _check_width
    if rows * columns > limits.max_cells:
        raise Unreadable("sheet-too-large", part=part, rows=rows, columns=columns,
                         cells=rows * columns, max=limits.max_cells)
