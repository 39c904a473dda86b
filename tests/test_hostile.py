"""Hostile and broken workbooks: each is built here, and each ends in a clear finding
(exit 1, nothing written), never a traceback, a hang or an aborted process."""

import io
import os
import re
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import msoffcrypto.format.ooxml
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promo_cli.io.inspect import Limits
from promo_cli.io.readers import read_ledger
from tests.conftest import write_campaign

HEADER = ["订单号", "客户编号", "订单日期", "金额"]


def valid_xlsx(rows: int = 3, extra=None) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("销售台账")
    sheet.write_row(0, 0, HEADER)
    for r in range(1, rows + 1):
        sheet.write_row(r, 0, [f"A{r}", f"C{r}", "2026-08-01", 100 + r])
    if extra:
        extra(sheet)
    book.close()
    return buffer.getvalue()


def rezip(raw: bytes, replace: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            change = replace.get(info.filename)
            if callable(change):
                data = change(data)
            elif change is not None:
                data = change
            target.writestr(info.filename, data)
    return out.getvalue()


def read(tmp_path, raw: bytes, name="p.xlsx", limits=Limits()):
    path = tmp_path / name
    path.write_bytes(raw)
    return read_ledger(path, "purchases", limits)


def blocking(findings):
    return [f.code for f in findings if f.blocking]


def test_a_valid_workbook_reads(tmp_path):
    ledger, findings = read(tmp_path, valid_xlsx())
    assert ledger.rows == 3 and findings == []


def bomb(path: Path, megabytes: int = 200) -> None:
    """An xlsx whose sheet inflates to ``megabytes`` MB from a few hundred KB."""
    raw = valid_xlsx()
    with zipfile.ZipFile(io.BytesIO(raw)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                z.writestr(info.filename, source.read(info))
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b'<?xml version="1.0"?><worksheet><sheetData>')
            block = b" " * (1 << 20)
            for _ in range(megabytes):
                sheet.write(block)
            sheet.write(b"</sheetData></worksheet>")


def test_zip_bomb_is_refused_fast_with_little_memory(tmp_path):
    bomb(tmp_path / "purchases.xlsx")
    assert (tmp_path / "purchases.xlsx").stat().st_size < 2 << 20
    campaign = write_campaign(tmp_path, "- {id: t, type: tiered, tiers: [{from: 0, rate: 1%}]}\n",
                              inputs="{purchases: purchases.xlsx}")
    out = tmp_path / "out"
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "promo_cli", "settle", str(campaign), "--out", str(out),
                             "--lang", "en"], capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert result.returncode == 1, result.stderr
    assert "zip bomb" in result.stderr and "purchases.xlsx" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert elapsed < 10, elapsed          # the import of pandas dominates; the check itself is fast
    assert peak_mb < 600, peak_mb         # the 200 MB never reaches memory


def test_zip_bomb_limits_are_options(tmp_path):
    bomb(tmp_path / "b.xlsx", megabytes=3)
    assert blocking(read_ledger(tmp_path / "b.xlsx", "purchases")[1]) == ["zip-bomb"]
    assert blocking(read_ledger(tmp_path / "b.xlsx", "purchases", Limits(max_unzipped_mb=1))[1]) == ["zip-too-large"]


def test_password_protected_workbook(tmp_path):
    plain = tmp_path / "plain.xlsx"
    plain.write_bytes(valid_xlsx())
    encrypted = tmp_path / "locked.xlsx"
    with plain.open("rb") as source, encrypted.open("wb") as target:
        msoffcrypto.format.ooxml.OOXMLFile(source).encrypt("secret", target)
    ledger, findings = read_ledger(encrypted, "purchases")
    assert ledger is None and blocking(findings) == ["workbook-password"]
    campaign = write_campaign(tmp_path, "- {id: t, type: tiered, tiers: [{from: 0, rate: 1%}]}\n",
                              inputs="{purchases: locked.xlsx}")
    for lang, text in (("en", "password-protected: save it without a password and run again"),
                       ("zh", "工作簿有密码保护:请另存为无密码的文件后再运行")):
        result = subprocess.run([sys.executable, "-m", "promo_cli", "validate", str(campaign), "--lang", lang],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 1 and text in result.stderr


def test_entity_expansion_is_refused(tmp_path):
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                         for i in range(1, 10))
              + b']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
                b'uniqueCount="1"><si><t>&lol9;</t></si></sst>')
    raw = rezip(valid_xlsx(), {"xl/sharedStrings.xml": laughs})
    assert blocking(read(tmp_path, raw)[1]) == ["xml-entities"]


def test_truncated_download(tmp_path):
    raw = valid_xlsx(rows=200)
    assert blocking(read(tmp_path, raw[: len(raw) // 2])[1]) == ["workbook-truncated"]


def test_corrupt_crc(tmp_path):
    raw = bytearray(valid_xlsx(rows=200))
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    name_len, extra_len = int.from_bytes(raw[info.header_offset + 26:info.header_offset + 28], "little"), \
        int.from_bytes(raw[info.header_offset + 28:info.header_offset + 30], "little")
    data_start = info.header_offset + 30 + name_len + extra_len
    raw[data_start + info.compress_size // 2] ^= 0x55
    ledger, findings = read(tmp_path, bytes(raw))
    assert ledger is None and blocking(findings) == ["workbook-corrupt"]


def test_forged_string_count_would_abort_calamine(tmp_path):
    raw = rezip(valid_xlsx(), {"xl/sharedStrings.xml": lambda d: re.sub(
        rb'(unique)?[cC]ount="\d+"', lambda m: m.group(0)[:-1].split(b'"')[0] + b'"4000000000"', d)})
    assert blocking(read(tmp_path, raw)[1]) == ["workbook-corrupt"]


def test_sheet_claiming_a_huge_dimension(tmp_path):
    raw = valid_xlsx(extra=lambda sheet: sheet.write(1_048_575, 300, 1))
    assert blocking(read(tmp_path, raw, limits=Limits(max_cells=10_000_000))[1]) == ["sheet-too-large"]
    raw = valid_xlsx(extra=lambda sheet: sheet.write(5, 16383, 1))            # a real cell in column XFD
    assert blocking(read(tmp_path, raw)[1]) == ["sheet-too-wide"]
    no_dimension = rezip(raw, {"xl/worksheets/sheet1.xml": lambda d: re.sub(rb"<dimension[^>]*/>", b"", d)})
    assert blocking(read(tmp_path, no_dimension)[1]) == ["sheet-too-wide"]


def test_a_declared_width_alone_refuses_nothing(tmp_path):
    # LibreOffice declares A1:AMJ25 (1,024 columns) for a sheet formatted across its columns
    raw = rezip(valid_xlsx(), {"xl/worksheets/sheet1.xml":
                               lambda d: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:AMJ25"/>', d)})
    ledger, findings = read(tmp_path, raw)
    assert ledger is not None and ledger.rows == 3 and blocking(findings) == []


def test_mislabelled_extensions_are_read_by_content(tmp_path):
    csv_text = ("\n".join([",".join(HEADER), "A1,C1,2026-08-01,5"]) + "\n").encode()
    ledger, findings = read(tmp_path, csv_text, name="p.xlsx")
    assert ledger.rows == 1 and [(f.code, f.severity) for f in findings] == [("mislabelled", "info")]
    ledger, findings = read(tmp_path, valid_xlsx(), name="p.csv")
    assert ledger.rows == 3 and [f.code for f in findings] == ["mislabelled"]


def test_not_a_workbook_zip(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "hello")
    assert blocking(read(tmp_path, out.getvalue())[1]) == ["not-a-workbook"]


# --------------------------------------------------------------------------- fuzzing

FUZZ_EXAMPLES = int(os.environ.get("PROMO_FUZZ_EXAMPLES", "60"))
XLSX = valid_xlsx(rows=20)
CSV = ("\n".join([",".join(HEADER)] + [f"A{i},C{i},2026-08-0{i % 9 + 1},¥{i}.50" for i in range(20)]) + "\n"
       ).encode("gb18030")


@st.composite
def mutated(draw, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        how = draw(st.sampled_from(["flip", "cut", "insert", "zero"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if how == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif how == "cut":
            del data[at: at + draw(st.integers(1, 64))]
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif data:
            data[at: at + 4] = b"\x00\x00\x00\x00"
    return bytes(data)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(mutated(XLSX).map(lambda b: ("p.xlsx", b)), mutated(CSV).map(lambda b: ("p.csv", b))))
def test_fuzzed_files_end_in_a_ledger_or_a_finding(tmp_path_factory, case):
    name, raw = case
    ledger, findings = read(tmp_path_factory.mktemp("fuzz"), raw, name=name)
    assert ledger is not None or any(f.blocking for f in findings)
