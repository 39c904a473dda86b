"""Benchmark: settle a factory campaign over N purchase rows and N payment rows.

Generates a purchase ledger (xlsx, 20,000 customers, groups, due dates) and a payment
ledger (csv) of N rows each, then times, in the same run:
- the floor: python-calamine reading the xlsx into Python rows, plus the csv module
  reading the payments;
- ``promo settle`` end to end (a subprocess, every output written), and its memory: the
  peak RSS of its largest process and the peak of all its processes together.

Usage: python benchmarks/bench_settle.py --rows 1000000 [--keep DIR [--reuse]]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import xlsxwriter
from python_calamine import CalamineWorkbook

CAMPAIGN = """\
campaign: {id: bench, name: benchmark, period: {start: 2026-01-01, end: 2026-06-30}}
inputs: {purchases: purchases.xlsx, payments: payments.csv}
policies:
  - {id: ladder, type: tiered, tiers: [{from: 0, rate: 1%}, {from: 100000, rate: 2%}, {from: 500000, rate: 3%}]}
  - {id: on_time, type: on_time_payment, rate: 0.5%, grace_days: 3}
  - {id: group_buy, type: group_purchase, basis: quantity, tiers: [{from: 500, rate: 2%}, {from: 2000, rate: 3%}]}
"""


def generate(folder: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    start = date(2026, 1, 1)
    book = xlsxwriter.Workbook(folder / "purchases.xlsx", {"constant_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("销售台账")
    day_format = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["订单号", "客户编号", "客户名称", "订单日期", "采购金额", "数量", "付款截止日期",
                           "团购编号", "团购证明"])
    with (folder / "payments.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["收款单号", "订单号", "客户编号", "收款日期", "收款金额"])
        for r in range(1, rows + 1):
            customer = f"C{rng.randrange(20000):05d}"
            day = start + timedelta(days=rng.randrange(181))
            quantity = rng.randint(1, 300)
            cents = quantity * rng.choice([2350, 4890, 12000]) * (-1 if rng.random() < 0.02 else 1)
            due = day + timedelta(days=30)
            order_id = f"SO{r:08d}"
            sheet.write_string(r, 0, order_id)
            sheet.write_string(r, 1, customer)
            sheet.write_string(r, 2, f"客户{customer}")
            sheet.write_datetime(r, 3, datetime(day.year, day.month, day.day), day_format)
            sheet.write_number(r, 4, cents / 100)
            sheet.write_number(r, 5, quantity)
            sheet.write_datetime(r, 6, datetime(due.year, due.month, due.day), day_format)
            if r % 200 < 5:
                sheet.write_string(r, 7, f"G{r // 200:06d}")
                if r % 200 == 0:
                    sheet.write_string(r, 8, "团购协议")
            paid_on = due + timedelta(days=rng.choice([-20, -5, 0, 2, 10]))
            paid = cents if rng.random() < 0.9 else cents // 2
            writer.writerow([f"RC{r:08d}", order_id, customer, paid_on.isoformat(), f"{paid / 100:.2f}"])
    book.close()
    (folder / "campaign.yaml").write_text(CAMPAIGN, encoding="utf-8")


def read_floor(folder: Path) -> float:
    """Seconds python-calamine and the csv module take to read the two files into Python rows."""
    began = time.perf_counter()
    rows = CalamineWorkbook.from_path(str(folder / "purchases.xlsx")).get_sheet_by_index(0).to_python()
    with (folder / "payments.csv").open(encoding="utf-8", newline="") as handle:
        payments = list(csv.reader(handle))
    elapsed = time.perf_counter() - began
    del rows, payments
    return elapsed


def settle(folder: Path, watch_memory: bool = False) -> tuple[float, float | None, int]:
    """Seconds of ``promo settle`` end to end and its exit code; with ``watch_memory``, also
    the peak of all its processes together (MiB: PSS summed over the process tree, sampled
    every 0.1 s; None where /proc cannot tell). Reading PSS costs the kernel a page-table walk
    each time, so a run that watches memory is not the run that is timed."""
    shutil.rmtree(folder / "out", ignore_errors=True)
    for history in folder.glob("history.sqlite*"):
        history.unlink()
    began = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen([sys.executable, "-m", "promo_cli", "settle", str(folder / "campaign.yaml"),
                                    "--out", str(folder / "out"), "--history", str(folder / "history.sqlite"),
                                    "--quiet"], stdout=subprocess.DEVNULL, stderr=errors)
        tree = 0.0
        while watch_memory and process.poll() is None:
            tree = max(tree, _tree_pss(process.pid) or 0.0)
            time.sleep(0.1)
        process.wait()
        elapsed = time.perf_counter() - began
        if process.returncode not in (0, 3):
            errors.seek(0)
            sys.stderr.write(errors.read().decode("utf-8", "replace"))
    return elapsed, (tree or None), process.returncode


def _tree_pss(pid: int) -> float | None:
    """MiB of memory a process and its descendants hold together (proportional set size: a
    page shared by a forked child counts once in all)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            if current == pid and not total:
                return None
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this folder")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: use the ledgers already there (generated with the same --rows)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="promo-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    if args.reuse and args.keep and (folder / "purchases.xlsx").exists():
        print(f"rows              {args.rows:>12,}   (ledgers reused from {folder})")
    else:
        generate(folder, args.rows)
        print(f"rows              {args.rows:>12,}   (generated in {time.perf_counter() - began:.1f} s)")
    floor = read_floor(folder)
    seconds, _, code = settle(folder)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    outputs = sorted(p.name for p in (folder / "out").iterdir()) if (folder / "out").exists() else []
    _, tree, _ = settle(folder, watch_memory=True)
    print(f"read floor        {floor:>12.2f} s   (python-calamine xlsx + csv module)")
    print(f"promo settle      {seconds:>12.2f} s   (exit {code}; {len(outputs)} outputs: {', '.join(outputs)})")
    print(f"ratio             {seconds / floor:>12.2f} x")
    print(f"peak RSS          {peak:>12.0f} MiB   (its largest process)")
    if tree is not None:
        print(f"peak memory       {tree:>12.0f} MiB   (all its processes together: PSS, sampled every 0.1 s "
              f"in a second run)")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if code in (0, 3) else 1)


if __name__ == "__main__":
    main()
