"""Benchmark every campaign type at several sizes against the time it takes just to read its files.

For each campaign type (factory rebates, prepaid deposits, loyalty) and each size, generates the
ledgers deterministically, then measures in the same run:
- the floor: a fresh Python process that reads the same files with python-calamine (xlsx) and the
  csv module (csv) into Python rows, start-up included;
- ``promo settle`` end to end in a fresh process (every output written), its ratio to the floor,
  and in a second run the peak memory of all its processes together (PSS, sampled every 0.1 s);
- that every figure of summary.json equals the reference run recorded in
  ``benchmarks/reference/`` (``--record`` writes it; a size without a reference says so).

Ledgers (all deterministic, seed 7):
- factory: purchases.xlsx (N rows, 20,000 customers, groups, due dates) and payments.csv (N rows),
  the plan's tiered, on-time and group-purchase rebates;
- prepaid: deposits.csv (N transactions: deposits at every tier, consumes under and over the
  deduction cap, approved transfers within families, lots that expire and turn into points,
  referrals) and the customer master;
- loyalty: purchases.xlsx (N rows, with points redeemed) and the customer master: membership
  levels, points with redemptions and returns, coupon return, a gift campaign, segments.

Usage:
  python benchmarks/bench.py                       # every type at 10k and 100k rows
  python benchmarks/bench.py --rows 10000,100000,1000000 --campaign prepaid
  python benchmarks/bench.py --keep /tmp/bench     # keep (and reuse) the generated ledgers
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference"
CUSTOMERS = 20_000

FACTORY = """\
campaign: {id: bench-factory, name: benchmark, period: {start: 2026-01-01, end: 2026-06-30}}
inputs: {purchases: purchases.xlsx, payments: payments.csv}
policies:
  - {id: ladder, type: tiered, tiers: [{from: 0, rate: 1%}, {from: 100000, rate: 2%}, {from: 500000, rate: 3%}]}
  - {id: on_time, type: on_time_payment, rate: 0.5%, grace_days: 3}
  - {id: group_buy, type: group_purchase, basis: quantity, tiers: [{from: 500, rate: 2%}, {from: 2000, rate: 3%}]}
"""

PREPAID = """\
campaign: {id: bench-prepaid, name: benchmark, period: {start: 2026-01-01, end: 2026-06-30}}
inputs: {deposits: deposits.csv, customers: customers.csv}
policies:
  - id: prepaid
    type: prepaid_deposit
    tiers:
      - {from: 1000, bonus_rate: 0%, voucher: 100, discount: 95%}
      - {from: 5000, bonus_rate: 5%, voucher: 300, gift: 200, discount: 90%}
      - {from: 20000, bonus_rate: 10%, voucher: 1000, gift: 500, discount: 88%}
    deduction_cap: {rate: 50%, amount: 2000}
    validity_months: 3
    expiry_points: {monthly_rate: 10%, points_per_yuan: 1}
    transfers: {within: family, require_approval: true}
    referral: {referrer_gift: 100, referee_bonus: 50}
    target: {deposited: 1500000, new_customers: 150}
"""

LOYALTY = """\
campaign: {id: bench-loyalty, name: benchmark, period: {start: 2026-01-01, end: 2026-06-30}}
inputs: {purchases: purchases.xlsx, customers: customers.csv}
policies:
  - id: members
    type: membership
    levels:
      - {name: 普通会员, from: 0, discount: 0%, points_per_yuan: 1}
      - {name: 银卡, from: 300000, discount: 2%, points_per_yuan: 1.2}
      - {name: 金卡, from: 1000000, discount: 3%, points_per_yuan: 1.5}
  - {id: points, type: points, points_per_yuan: 1, expiry_months: 12, yuan_per_point: 0.01}
  - {id: coupons, type: coupon_return, scope: order, tiers: [{from: 5000, coupon: 200}, {from: 20000, coupon: 500}]}
  - id: gifts
    type: gift
    card_cost: 8
    classes:
      - {name: 重点客户, grade: premium, unit_price: 388, rule: {top_percent: 20%}}
      - {name: 经销商, grade: standard, unit_price: 128, rule: {channel: dealer}}
      - {name: 老客户, grade: standard, unit_price: 128, rule: {bought_in_period: true, min_spend: 100000}}
"""

START = date(2026, 1, 1)
CHANNELS = ["经销商", "代理商", "零售商", "终端客户"]


def _customer(n: int) -> str:
    return f"C{n:05d}"


def write_customers(path: Path, rng: random.Random) -> None:
    """The customer master: families of two, one customer in ten referred by an earlier one."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["客户编号", "客户名称", "渠道", "家庭编号", "推荐人编号"])
        for n in range(CUSTOMERS):
            referrer = _customer(rng.randrange(n)) if n and rng.random() < 0.1 else ""
            writer.writerow([_customer(n), f"客户{n:05d}", rng.choice(CHANNELS), f"F{n // 2:05d}", referrer])


def write_purchases(folder: Path, rows: int, rng: random.Random, payments: bool, redeemed: bool) -> None:
    """purchases.xlsx (and payments.csv): N orders over the half-year, 2% returns, groups of five."""
    book = xlsxwriter.Workbook(folder / "purchases.xlsx", {"constant_memory": True, "strings_to_numbers": False})
    book.set_properties({"created": datetime(2026, 1, 1)})      # the same bytes every time
    sheet = book.add_worksheet("销售台账")
    day_format = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["订单号", "客户编号", "客户名称", "订单日期", "采购金额", "数量", "付款截止日期",
                           "团购编号", "团购证明"] + (["积分抵扣"] if redeemed else []))
    handle = (folder / "payments.csv").open("w", encoding="utf-8", newline="") if payments else None
    writer = csv.writer(handle) if handle else None
    if writer:
        writer.writerow(["收款单号", "订单号", "客户编号", "收款日期", "收款金额"])
    earned: dict[str, int] = {}                 # points a customer holds, roughly: redeem well within it
    for r in range(1, rows + 1):
        customer = _customer(rng.randrange(CUSTOMERS))
        day = START + timedelta(days=rng.randrange(181))
        quantity = rng.randint(1, 300)
        cents = quantity * rng.choice([2350, 4890, 12000]) * (-1 if rng.random() < 0.02 else 1)
        due = day + timedelta(days=30)
        order_id = f"SO{r:08d}"
        sheet.write_string(r, 0, order_id)
        sheet.write_string(r, 1, customer)
        sheet.write_string(r, 2, f"客户{customer[1:]}")
        sheet.write_datetime(r, 3, datetime(day.year, day.month, day.day), day_format)
        sheet.write_number(r, 4, cents / 100)
        sheet.write_number(r, 5, quantity)
        sheet.write_datetime(r, 6, datetime(due.year, due.month, due.day), day_format)
        if r % 200 < 5:
            sheet.write_string(r, 7, f"G{r // 200:06d}")
            if r % 200 == 0:
                sheet.write_string(r, 8, "团购协议")
        if redeemed and cents > 0:
            earned[customer] = earned.get(customer, 0) + cents // 100
            if day.month >= 4 and earned[customer] > 100_000 and rng.random() < 0.02:
                points = rng.randint(1, 50) * 100
                sheet.write_number(r, 9, points)
                earned[customer] -= points
        if writer:
            paid_on = due + timedelta(days=rng.choice([-20, -5, 0, 2, 10]))
            paid = cents if rng.random() < 0.9 else cents // 2
            writer.writerow([f"RC{r:08d}", order_id, customer, paid_on.isoformat(), f"{paid / 100:.2f}"])
    book.close()
    if handle:
        handle.close()


def write_deposits(path: Path, rows: int, rng: random.Random) -> None:
    """deposits.csv: N transactions. Every customer deposits, then buys from the deposit (mostly within
    the cap), now and then tops up or passes money to a family member with approval; deposits from
    January expire in the period."""
    lots: dict[str, list[list]] = {}                 # [expires, cents] oldest first
    family_of = lambda n: n ^ 1  # noqa: E731 - families of two: C00000/C00001, …
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["流水号", "客户编号", "交易日期", "类型", "金额", "消费金额", "转入账户", "已审核"])
        days = sorted(START + timedelta(days=rng.randrange(181)) for _ in range(rows))
        for r, day in enumerate(days, start=1):
            n = rng.randrange(CUSTOMERS)
            customer = _customer(n)
            held = _usable(lots.setdefault(customer, []), day)
            roll = rng.random()
            if held < 50_000 or roll < 0.08:
                amount = rng.choice([1000, 2000, 5000, 5000, 8000, 20000, 30000]) * 100
                writer.writerow([f"YC{r:08d}", customer, day.isoformat(), "预存", f"{amount / 100:.2f}", "", "", ""])
                lots[customer].append([day + timedelta(days=88), amount])
            elif roll < 0.09:
                writer.writerow([f"YC{r:08d}", customer, day.isoformat(), "转移", "100.00", "",
                                 _customer(family_of(n)), "是"])
                _take(lots[customer], 10_000)
            else:
                bill = rng.randint(200, 9000) * 100
                use = min(bill // 2, 200_000, held // 2)
                if rng.random() < 0.03:
                    use = min(held // 2, use + 5000)              # the till let a little too much through
                writer.writerow([f"YC{r:08d}", customer, day.isoformat(), "消费", f"{use / 100:.2f}",
                                 f"{bill / 100:.2f}", "", ""])
                _take(lots[customer], use)


def _usable(lots: list[list], day: date) -> int:
    """Drop the lots expired by ``day`` (kept short of the 3 months of validity) and sum the rest."""
    while lots and (lots[0][0] <= day or not lots[0][1]):
        lots.pop(0)
    return sum(cents for _, cents in lots)


def _take(lots: list[list], cents: int) -> None:
    for lot in lots:
        part = min(lot[1], cents)
        lot[1] -= part
        cents -= part


FACTORY_PARQUET = FACTORY.replace("inputs: {purchases: purchases.xlsx, payments: payments.csv}",
                                  "inputs: {purchases: {parquet: purchases.parquet}, payments: {parquet: payments.parquet}}")
BATCH = 1_000_000


def write_factory_parquet(folder: Path, rows: int) -> None:
    """purchases.parquet and payments.parquet as a warehouse holds them (canonical column names,
    decimal(18,2) amounts, dates): the factory ledgers of :func:`write_purchases` (N orders of
    20,000 customers over the half-year, 2% returns, groups of five in every 200 orders, one
    payment per order), made a million rows at a time with numpy (seed 7), in row groups of a
    million."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    rng = np.random.default_rng(7)
    customers = pa.array([_customer(n) for n in range(CUSTOMERS)])
    names = pa.array([f"客户{n:05d}" for n in range(CUSTOMERS)])
    money = pa.decimal128(18, 2)
    purchases = pq.ParquetWriter(folder / "purchases.parquet", pa.schema([
        ("order_id", pa.string()), ("customer_id", pa.string()), ("customer_name", pa.string()),
        ("order_date", pa.date32()), ("amount", money), ("quantity", pa.int32()), ("due_date", pa.date32()),
        ("group_id", pa.string()), ("group_proof", pa.string())]))
    payments = pq.ParquetWriter(folder / "payments.parquet", pa.schema([
        ("payment_id", pa.string()), ("order_id", pa.string()), ("customer_id", pa.string()),
        ("payment_date", pa.date32()), ("amount", money)]))

    def ids(prefix: str, numbers) -> pa.Array:
        return pc.binary_join_element_wise(prefix, pc.utf8_lpad(pa.array(numbers).cast(pa.string()), 9, "0"), "")

    def cents_to_yuan(cents) -> pa.Array:
        """decimal(18,2) from integer cents, exactly: a decimal is its unscaled 128-bit integer."""
        words = np.empty((len(cents), 2), dtype=np.int64)
        words[:, 0], words[:, 1] = cents, np.where(cents < 0, -1, 0)
        return pa.Array.from_buffers(money, len(cents), [None, pa.py_buffer(words.tobytes())])

    start = np.datetime64(START.isoformat(), "D")
    for first in range(1, rows + 1, BATCH):
        r = np.arange(first, min(first + BATCH, rows + 1))
        n = len(r)
        who = rng.integers(0, CUSTOMERS, n)
        day = start + rng.integers(0, 181, n).astype("timedelta64[D]")
        quantity = rng.integers(1, 301, n)
        cents = quantity * rng.choice([2350, 4890, 12000], n) * np.where(rng.random(n) < 0.02, -1, 1)
        due = day + np.timedelta64(30, "D")
        grouped = r % 200 < 5
        group = pa.array(np.where(grouped, np.char.add("G", np.char.zfill((r // 200).astype(str), 6)), None),
                         type=pa.string())
        proof = pa.array(np.where(r % 200 == 0, "团购协议", None), type=pa.string())
        order_ids = ids("SO", r)
        who_ids = customers.take(pa.array(who))
        purchases.write_table(pa.table([order_ids, who_ids, names.take(pa.array(who)), pa.array(day), cents_to_yuan(cents),
                                        pa.array(quantity, pa.int32()), pa.array(due), group, proof],
                                       schema=purchases.schema))
        paid_on = due + rng.choice([-20, -5, 0, 2, 10], n).astype("timedelta64[D]")
        paid = np.where(rng.random(n) < 0.9, cents, cents // 2)
        payments.write_table(pa.table([ids("RC", r), order_ids, who_ids, pa.array(paid_on), cents_to_yuan(paid)],
                                      schema=payments.schema))
    purchases.close()
    payments.close()
    (folder / "campaign.yaml").write_text(FACTORY_PARQUET, encoding="utf-8")


def generate(kind: str, folder: Path, rows: int) -> None:
    rng = random.Random(7)
    if kind == "factory":
        write_purchases(folder, rows, rng, payments=True, redeemed=False)
        (folder / "campaign.yaml").write_text(FACTORY, encoding="utf-8")
    elif kind == "prepaid":
        write_customers(folder / "customers.csv", rng)
        write_deposits(folder / "deposits.csv", rows, rng)
        (folder / "campaign.yaml").write_text(PREPAID, encoding="utf-8")
    else:
        write_customers(folder / "customers.csv", rng)
        write_purchases(folder, rows, rng, payments=False, redeemed=True)
        (folder / "campaign.yaml").write_text(LOYALTY, encoding="utf-8")


FLOOR = """\
import csv, sys
from python_calamine import CalamineWorkbook
import pyarrow.parquet as pq
for name in sys.argv[1:]:
    if name.endswith(".xlsx"):
        rows = CalamineWorkbook.from_path(name).get_sheet_by_index(0).to_python()
    elif name.endswith(".parquet"):
        rows = pq.read_table(name)
    else:
        with open(name, encoding="utf-8", errors="replace", newline="") as handle:
            rows = list(csv.reader(handle))
"""


def ledgers(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.iterdir() if p.suffix in (".xlsx", ".csv", ".parquet"))


def read_floor(folder: Path) -> float:
    """Seconds a fresh Python process takes to start and read every ledger of the folder into rows."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR, *ledgers(folder)], check=True)
    return time.perf_counter() - began


SAMPLES = {"factory": "factory_rebate.yaml", "prepaid": "prepaid_deposit.yaml", "loyalty": "loyalty.yaml"}


def sample_folder(kind: str, base: Path) -> Path:
    """A folder with the sample campaign ``kind`` (policies/…) and copies of its ledgers."""
    import yaml
    root = HERE.parent
    campaign = yaml.safe_load((root / "policies" / SAMPLES[kind]).read_text(encoding="utf-8"))
    folder = base / f"sample-{kind}"
    folder.mkdir(parents=True, exist_ok=True)
    for role, name in campaign["inputs"].items():
        source = (root / "policies" / name).resolve()
        shutil.copy(source, folder / source.name)
        campaign["inputs"][role] = source.name
    (folder / "campaign.yaml").write_text(yaml.safe_dump(campaign, allow_unicode=True), encoding="utf-8")
    return folder


def settle(folder: Path, watch_memory: bool = False, as_of: str = "2026-06-30", engine: str | None = None
           ) -> tuple[float, float | None, int]:
    """Seconds of ``promo settle`` end to end and its exit code; with ``watch_memory``, also the peak
    of all its processes together (MiB: PSS summed over the process tree, sampled every 0.1 s; None
    where /proc cannot tell). Reading PSS costs a page-table walk, so that run is not the timed one."""
    out = folder / "out"
    shutil.rmtree(out, ignore_errors=True)
    for history in folder.glob("history.sqlite*"):
        history.unlink()
    began = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen([sys.executable, "-m", "promo_cli", "settle", str(folder / "campaign.yaml"),
                                    "--out", str(out), "--history", str(folder / "history.sqlite"),
                                    "--as-of", as_of, "--quiet", *(["--engine", engine] if engine else [])],
                                   stdout=subprocess.DEVNULL, stderr=errors)
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
    """MiB of memory a process and its descendants hold together (proportional set size: a page
    shared by a forked child counts once in all)."""
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


def figures(folder: Path) -> dict:
    """Every figure of summary.json (all of it but the run's own facts: when, where, on which engine), as a
    digest per top-level key, with the headline totals in clear for the reader of the reference."""
    summary = json.loads((folder / "out" / "summary.json").read_text(encoding="utf-8"))
    summary.pop("run", None)
    summary.pop("engine", None)         # where it ran: every engine gives the same figures
    # what was read, not where from or the file's bytes (a workbook's bytes hold when it was made)
    summary["inputs"] = [{k: v for k, v in entry.items() if k not in ("path", "file", "sha256")}
                         for entry in summary.get("inputs", [])]
    digests = {key: hashlib.sha256(json.dumps(value, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]
               for key, value in sorted(summary.items())}
    headline = summary.get("totals") or {}
    for name, figures in (summary.get("deposits") or {}).items():
        headline = {**headline, name: {k: figures.get(k) for k in ("deposited", "bonus", "consumed", "expired",
                                                                     "closing_balance")}}
    return {"digests": digests, "totals": headline, "status": summary.get("status")}


def compare(kind: str, rows, folder: Path, record: bool) -> str:
    reference = REFERENCE / f"{kind}-{rows}.json"
    got = figures(folder)
    if record:
        REFERENCE.mkdir(exist_ok=True)
        reference.write_text(json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return "recorded"
    if not reference.exists():
        return "no reference"
    expected = json.loads(reference.read_text(encoding="utf-8"))
    if expected == got:
        return "equal"
    keys = set(expected["digests"]) | set(got["digests"])
    return "DIFFERS: " + ", ".join(sorted(k for k in keys if expected["digests"].get(k) != got["digests"].get(k)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--campaign", default="all", choices=["all", "factory", "prepaid", "loyalty"])
    parser.add_argument("--rows", default="10000,100000",
                        help="sizes, comma-separated (default 10000,100000); 'sample' settles the sample campaign")
    parser.add_argument("--format", default="xlsx", choices=["xlsx", "parquet"],
                        help="the ledgers' format: xlsx/csv as exported, or Parquet as a warehouse holds them "
                             "(the factory campaign only)")
    parser.add_argument("--engine", default="",
                        help="engines to settle on, comma-separated (local, duckdb, spark; default: promo's "
                             "choice for the ledgers); each one's figures are compared with the reference, or "
                             "where there is none with the first engine's")
    parser.add_argument("--keep", type=Path, help="generate into (and reuse from) this folder")
    parser.add_argument("--record", action="store_true", help="record the figures as the reference")
    parser.add_argument("--no-memory", action="store_true", help="skip the second run that samples memory")
    args = parser.parse_args()
    kinds = ["factory", "prepaid", "loyalty"] if args.campaign == "all" else [args.campaign]
    if args.format == "parquet":
        kinds = [kind for kind in kinds if kind == "factory"]
    sizes = [size if size == "sample" else int(size.replace("_", "")) for size in args.rows.split(",")]
    engines = [e.strip() or None for e in args.engine.split(",")]
    base = args.keep or Path(tempfile.mkdtemp(prefix="promo-bench-"))
    print(f"{'campaign':<9} {'rows':>10} {'engine':<7} {'floor s':>8} {'settle s':>9} {'ratio':>6} {'peak MiB':>9}"
          "  figures")
    failed = False
    for kind in kinds:
        for rows in sizes:
            name = kind if args.format == "xlsx" else f"{kind}-parquet"
            folder = base / f"{name}-{rows}"
            if rows == "sample":
                folder = sample_folder(kind, base)
            elif not (folder / "campaign.yaml").exists():
                folder.mkdir(parents=True, exist_ok=True)
                write_factory_parquet(folder, rows) if args.format == "parquet" else generate(kind, folder, rows)
            floor = read_floor(folder)
            as_of = "2026-12-31" if rows == "sample" else "2026-06-30"
            first = None
            for engine in engines:
                seconds, _, code = settle(folder, as_of=as_of, engine=engine)
                peak = None if args.no_memory else settle(folder, watch_memory=True, as_of=as_of, engine=engine)[1]
                if code not in (0, 3):
                    verdict = f"exit {code}"
                elif (REFERENCE / f"{name}-{rows}.json").exists() or args.record:
                    verdict = compare(name, rows, folder, args.record)
                elif first is None:
                    first, verdict = (engine, figures(folder)), "no reference"
                else:
                    verdict = f"same as {first[0]}" if figures(folder) == first[1] else f"DIFFERS from {first[0]}"
                failed |= verdict.startswith(("DIFFERS", "exit"))
                memory = f"{peak:>9.0f}" if peak else f"{'-':>9}"
                size = rows if rows == "sample" else f"{rows:,}"
                print(f"{kind:<9} {size:>10} {engine or '-':<7} {floor:>8.2f} {seconds:>9.2f} {seconds / floor:>6.1f} "
                      f"{memory}  {verdict}", flush=True)
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
