"""Property test of the readers (issue 16): random messy ledgers written into every container
the readers accept. Every value read must equal the value written, or a finding must name its
row; nothing may raise. ``PROMO_FUZZ_EXAMPLES=5000`` runs the long version."""

from __future__ import annotations

import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
import tempfile

import openpyxl
import pandas as pd
import xlsxwriter
import xlwt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promo_cli.io.readers import read_ledger

EXAMPLES = int(os.environ.get("PROMO_FUZZ_EXAMPLES", "40"))
HEADER = ["订单号", "客户编号", "订单日期", "金额"]
FULL_WIDTH = str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ")

ids = st.builds(lambda zeros, body: "0" * zeros + body, st.integers(0, 4),
                st.text(alphabet="ABC0123456789", min_size=1, max_size=8))
id_forms = st.sampled_from(["plain", "nbsp", "zero-width", "full-width", "ideographic-space"])
days = st.dates(date(2020, 1, 1), date(2030, 12, 31))
date_forms = st.sampled_from(["cell", "iso", "slash", "chinese"])
cents = st.integers(-10**11, 10**11)
amount_forms = st.sampled_from(["number", "plain", "yuan-sign", "grouped", "accounting", "trailing-minus",
                                "full-width", "space-grouped"])
row = st.one_of(st.none(), st.tuples(ids, id_forms, ids, id_forms, days, date_forms, cents, amount_forms))
container = st.sampled_from(["openpyxl", "xlsxwriter", "xls"] + [
    f"csv:{enc}:{sep}:{quoted}:{nl}" for enc in ("utf-8", "utf-8-sig", "gb18030", "utf-16")
    for sep in (",", ";", "\t") for quoted in ("q", "u") for nl in ("\r\n", "\n", "\r")])


def render_id(value: str, form: str) -> str:
    return {"plain": value, "nbsp": f"\u00a0{value} ", "zero-width": value[:1] + "\u200b" + value[1:],
            "full-width": value.translate(FULL_WIDTH), "ideographic-space": f"\u3000{value}"}[form]


def render_amount(value: int, form: str, workbook: bool):
    sign, whole, part = ("-" if value < 0 else ""), abs(value) // 100, abs(value) % 100
    if form == "number" and workbook:
        return float(Decimal(value) / 100)
    return {"number": f"{sign}{whole}.{part:02d}", "plain": f"{sign}{whole}.{part:02d}",
            "yuan-sign": f"{sign}¥{whole}.{part:02d}", "grouped": f"{sign}{whole:,}.{part:02d}",
            "accounting": f"({whole:,}.{part:02d})" if sign else f"{whole}.{part:02d}",
            "trailing-minus": f"{whole}.{part:02d}{sign}",
            "full-width": f"{sign}{whole}.{part:02d}".translate(FULL_WIDTH).replace(".", "．"),
            "space-grouped": f"{sign}{whole:,}.{part:02d}".replace(",", " ")}[form]


def render_date(value: date, form: str, workbook: bool):
    if form == "cell" and workbook:
        return value
    return {"cell": value.isoformat(), "iso": value.isoformat(), "slash": f"{value.year}/{value.month}/{value.day}",
            "chinese": f"{value.year}年{value.month}月{value.day}日"}[form]


def write(path: Path, kind: str, rows: list[list | None]) -> Path:
    workbook = not kind.startswith("csv")
    cells = [None if r is None else [render_id(r[0], r[1]), render_id(r[2], r[3]), render_date(r[4], r[5], workbook),
                                     render_amount(r[6], r[7], workbook)] for r in rows]
    if kind == "openpyxl":
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(HEADER)
        for r in cells:
            sheet.append(r or [])
        book.save(path)
    elif kind == "xlsxwriter":
        book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
        sheet, fmt = book.add_worksheet(), book.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, HEADER)
        for i, r in enumerate(cells, start=1):
            for j, v in enumerate(r or []):
                if isinstance(v, date):
                    sheet.write_datetime(i, j, datetime(v.year, v.month, v.day), fmt)
                elif isinstance(v, str):
                    sheet.write_string(i, j, v)
                else:
                    sheet.write_number(i, j, v)
        book.close()
    elif kind == "xls":
        book, fmt = xlwt.Workbook(), xlwt.easyxf(num_format_str="yyyy-mm-dd")
        sheet = book.add_sheet("S")
        for j, h in enumerate(HEADER):
            sheet.write(0, j, h)
        for i, r in enumerate(cells, start=1):
            for j, v in enumerate(r or []):
                sheet.write(i, j, datetime(v.year, v.month, v.day), fmt) if isinstance(v, date) else sheet.write(i, j, v)
        book.save(str(path))
    else:
        _, encoding, sep, quoted, newline = kind.split(":")
        quote = (lambda c: '"' + c.replace('"', '""') + '"') if quoted == "q" else (lambda c: c)
        lines = [sep.join(quote(c) for c in HEADER)] + [sep.join(quote(c) for c in r) if r else "" for r in cells]
        text = newline.join(lines) + newline
        path.write_bytes(text.encode("utf-16") if encoding == "utf-16" else text.encode(encoding))
    return path


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=container, rows=st.lists(row, min_size=1, max_size=12))
def test_every_value_is_read_as_written_or_named(kind, rows):
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / ("p.xls" if kind == "xls" else "p.xlsx" if not kind.startswith("csv") else "p.csv"),
                     kind, rows)
        ledger, findings = read_ledger(path, "purchases")
    named = {f.row for f in findings if f.severity == "error"}
    file_level = any(f.blocking and f.row is None for f in findings)
    expected = {}
    excel_row = 1
    for r in rows:
        excel_row += 1
        if r is not None:
            expected[excel_row] = (r[0], r[2], pd.Timestamp(r[4]), r[6])
    if ledger is None:
        assert file_level or named, [f.code for f in findings]
        return
    frame = ledger.frame
    read = {int(r): (o, c, d, None if pd.isna(a) else int(a)) for r, o, c, d, a in
            zip(frame["_row"], frame["order_id"], frame["customer_id"], frame["order_date"], frame["amount"])}
    for excel_row, want in expected.items():
        got = read.get(excel_row)
        assert got == want or excel_row in named or file_level, (kind, excel_row, want, got,
                                                                 [(f.code, f.row) for f in findings])
    assert set(read) <= set(expected), (kind, sorted(set(read) - set(expected)))
