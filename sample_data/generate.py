"""Generate the sample ledgers of the factory campaign (deterministic: same output every run).

Writes, next to this script:
- ``purchases.xlsx``: the ERP's purchase ledger, sheet 销售台账, Chinese headers, messy
  values (amounts as text with ¥ and separators, dates as text in three spellings,
  ids with leading zeros, an extra 备注 column), returns, orders outside the period,
  group purchases with and without proof;
- ``payments.csv``: the receipts ledger as Chinese Excel exports it (GB18030), with late,
  partial and missing payments, a payment for an unknown order and an overpayment;
- ``purchases_2025h2.xlsx``: last year's second half, the baseline of the evaluation;
- ``customers.csv``: the customer master (UTF-8 with BOM), with families and referrers;
- ``deposits.xlsx``: a store's prepaid ledger (sheet 预存流水): deposits at every tier, purchases
  paid from the deposit (some over the deduction cap), approved transfers within families,
  lots that expire before the period end.

Run: ``python sample_data/generate.py`` (or ``make sample``).
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent
START, END = date(2026, 7, 1), date(2026, 12, 31)
CITIES = "北京 上海 广州 深圳 杭州 南京 苏州 成都 重庆 武汉 西安 长沙 郑州 青岛 宁波 厦门 福州 合肥 济南 天津".split()
WORDS = "华盛 恒通 鑫源 永泰 宏达 瑞丰 金桥 东方 新星 天成 汇丰 佳美 博远 兴业 嘉禾".split()
KINDS = "贸易有限公司 商贸行 建材店 五金经营部 实业有限公司".split()
CHANNELS = ["经销商", "代理商", "零售商", "终端客户"]
PRODUCTS = ["P-100", "P-200", "P-300", "P-450", "P-800"]


def main() -> None:
    rng = random.Random(2026)
    customers = _customers(rng)
    orders = _orders(rng, customers)
    payments = _payments(rng, orders)
    _write_purchases(rng, orders, HERE / "purchases.xlsx")
    _write_payments(payments, HERE / "payments.csv")
    _write_customers(customers, HERE / "customers.csv")
    deposits = _deposits(rng, customers)
    _write_deposits(deposits, HERE / "deposits.xlsx")
    baseline = _baseline_orders(random.Random(2025), customers)
    _write_purchases(random.Random(2025), baseline, HERE / "purchases_2025h2.xlsx")
    print(f"{len(customers)} customers, {len(orders)} purchase rows, {len(payments)} payments, "
          f"{len(deposits)} deposit ledger rows")


def _customers(rng: random.Random) -> list[dict]:
    out = []
    for n in range(1, 201):
        # A fifth of the ERP's customer codes are numeric with leading zeros.
        cid = f"{n:08d}" if n % 5 == 0 else f"C{n:04d}"
        name = f"{rng.choice(CITIES)}{rng.choice(WORDS)}{rng.choice(KINDS)}"
        out.append({"id": cid, "name": name, "channel": rng.choice(CHANNELS),
                    "size": rng.choice([0.3, 0.6, 1, 1, 1.5, 3, 6]),
                    "family": f"F{(n + 1) // 2:03d}" if n <= 60 else "",   # pairs of relatives
                    "referrer": ""})
    for n in range(150, 170):                                       # referred by older customers
        out[n]["referrer"] = out[n - 140]["id"]
    out[41]["name"] = "=HYPERLINK(\"http://example.invalid\",\"点我\")"
    out[42]["name"] = "@SUM(1+1)商贸行"
    return out


def _orders(rng: random.Random, customers: list[dict]) -> list[dict]:
    orders: list[dict] = []
    seq = 0

    def add(customer, when, amount_cents, quantity, group="", proof=""):
        nonlocal seq
        seq += 1
        orders.append({"order_id": f"SO{when:%y%m}{seq:05d}", "customer": customer, "date": when,
                       "amount": amount_cents, "quantity": quantity,
                       "product": rng.choice(PRODUCTS), "due": when + timedelta(days=30),
                       "group": group, "proof": proof})

    for customer in customers:
        for _ in range(rng.randint(5, 22)):
            when = START - timedelta(days=45) + timedelta(days=rng.randint(0, 230))
            quantity = rng.randint(5, 400)
            unit = rng.choice([2350, 4890, 12000, 18800, 36550])  # cents
            amount = int(quantity * unit * customer["size"])
            add(customer, when, amount, quantity)
    # Returns (credit notes): part of an earlier in-period order comes back.
    for base in rng.sample([o for o in orders if START <= o["date"] <= END], 60):
        back = max(1, base["quantity"] // rng.choice([2, 4, 10]))
        amount = -round(base["amount"] * back / base["quantity"])
        add(base["customer"], base["date"] + timedelta(days=rng.randint(3, 40)), amount, -back)
    # Group purchases: 14 groups of 3 to 6 customers buying on one day.
    for g in range(1, 15):
        when = START + timedelta(days=rng.randint(5, 150))
        proof = "" if g in (4, 9) else f"团购协议 GP-{g:03d}"
        members = rng.sample(customers, rng.randint(3, 6))
        for i, customer in enumerate(members):
            quantity = rng.randint(60, 700)
            add(customer, when, quantity * 4890, quantity, group=f"TG{g:03d}",
                proof=proof if i == 0 else "")
    orders.sort(key=lambda o: (o["date"], o["order_id"]))
    return orders


def _baseline_orders(rng: random.Random, customers: list[dict]) -> list[dict]:
    """Last year's second half: the same customers buying about a tenth less, for the evaluation."""
    orders = []
    for n, customer in enumerate(customers[:185]):       # the last 15 customers are new this year
        for i in range(rng.randint(4, 18)):
            when = date(2025, 7, 1) + timedelta(days=rng.randint(0, 183))
            quantity = rng.randint(5, 360)
            unit = rng.choice([2350, 4890, 12000, 18800, 36550])
            orders.append({"order_id": f"SO25{n:03d}{i:02d}", "customer": customer, "date": when,
                           "amount": int(quantity * unit * customer["size"]), "quantity": quantity,
                           "product": rng.choice(PRODUCTS), "due": when + timedelta(days=30), "group": "",
                           "proof": ""})
    orders.sort(key=lambda o: (o["date"], o["order_id"]))
    return orders


def _payments(rng: random.Random, orders: list[dict]) -> list[dict]:
    payments: list[dict] = []
    unpaid_groups = {"TG006", "TG011"}  # one member of each never pays
    for order in orders:
        if order["amount"] <= 0:
            continue
        fate = rng.random()
        if order["group"] in unpaid_groups and order["proof"]:
            fate = 0.99
        elif order["group"]:
            fate = 0.0
        due, amount = order["due"], order["amount"]
        if fate < 0.60:    # paid in full by the due date, sometimes in two instalments
            if rng.random() < 0.3:
                first = amount // 3
                payments.append(_pay(order, order["date"] + timedelta(days=rng.randint(1, 10)), first))
                payments.append(_pay(order, due - timedelta(days=rng.randint(0, 5)), amount - first))
            else:
                payments.append(_pay(order, order["date"] + timedelta(days=rng.randint(0, 30)), amount))
        elif fate < 0.80:  # late
            payments.append(_pay(order, due + timedelta(days=rng.randint(1, 40)), amount))
        elif fate < 0.92:  # partial by the due date, the rest late or never
            part = amount * rng.choice([50, 80, 90]) // 100
            payments.append(_pay(order, due - timedelta(days=2), part))
            if rng.random() < 0.5:
                payments.append(_pay(order, due + timedelta(days=20), amount - part))
        # else: unpaid
    overpaid = next(o for o in orders if o["amount"] > 100000 and START <= o["date"] <= END)
    payments.append(_pay(overpaid, overpaid["due"], 50000))
    payments.append({"order_id": "SO2609XXXXX", "customer": orders[5]["customer"]["id"],
                     "date": date(2026, 9, 30), "amount": 120000})
    payments.sort(key=lambda p: (p["date"], p["order_id"]))
    for n, payment in enumerate(payments, start=1):
        payment["payment_id"] = f"RC{n:06d}"
    return payments


def _pay(order: dict, when: date, amount: int) -> dict:
    return {"order_id": order["order_id"], "customer": order["customer"]["id"], "date": when,
            "amount": amount}


def _money_text(rng: random.Random, cents: int) -> str:
    yuan = f"{abs(cents) // 100:,}.{abs(cents) % 100:02d}"
    sign = "-" if cents < 0 else ""
    return rng.choice([f"¥{sign}{yuan}", f"{sign}{yuan} ", f"￥ {sign}{yuan}"])


def _date_text(rng: random.Random, day: date) -> str:
    return rng.choice([f"{day:%Y-%m-%d}", f"{day.year}/{day.month}/{day.day}",
                       f"{day.year}年{day.month}月{day.day}日"])


def _write_purchases(rng: random.Random, orders: list[dict], path: Path) -> None:
    book = xlsxwriter.Workbook(path, {"strings_to_numbers": False, "strings_to_formulas": False})
    book.set_properties({"created": _EPOCH})  # reproducible bytes
    sheet = book.add_worksheet("销售台账")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    money = book.add_format({"num_format": "#,##0.00"})
    headers = ["订单号", "客户编号", "客户名称", "订单日期", "采购金额", "数量", "产品",
               "付款截止日期", "团购编号", "团购证明", "备注"]
    sheet.write_row(0, 0, headers)
    for r, order in enumerate(orders, start=1):
        customer = order["customer"]
        sheet.write_string(r, 0, order["order_id"])
        sheet.write_string(r, 1, customer["id"])
        sheet.write_string(r, 2, customer["name"])
        if rng.random() < 0.15:
            sheet.write_string(r, 3, _date_text(rng, order["date"]))
        else:
            sheet.write_datetime(r, 3, order["date"], date_format)
        if rng.random() < 0.12:
            sheet.write_string(r, 4, _money_text(rng, order["amount"]))
        else:
            sheet.write_number(r, 4, order["amount"] / 100, money)
        sheet.write_number(r, 5, order["quantity"])
        sheet.write_string(r, 6, order["product"])
        sheet.write_datetime(r, 7, order["due"], date_format)
        if order["group"]:
            sheet.write_string(r, 8, order["group"])
        if order["proof"]:
            sheet.write_string(r, 9, order["proof"])
        if order["amount"] < 0:
            sheet.write_string(r, 10, "退货")
    book.close()


def _write_payments(payments: list[dict], path: Path) -> None:
    with path.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["收款单号", "订单号", "客户编号", "收款日期", "收款金额"])
        for p in payments:
            writer.writerow([p["payment_id"], p["order_id"], p["customer"],
                             f"{p['date'].year}/{p['date'].month}/{p['date'].day}",
                             f"{p['amount'] // 100:,}.{p['amount'] % 100:02d}"])


BANKS = ["中国工商银行深圳分行", "中国建设银行上海分行", "招商银行广州分行", "中国银行北京分行", "交通银行杭州分行"]


def _payout(n: int, customer: dict) -> list[str]:
    """How customer number ``n`` (1-based) is paid: mostly by bank transfer, some by e-wallet,
    cheque, offset against its account (账扣) or goods (货补); C0003 has no account number yet.
    Drawn from ``n`` alone, so the other sample files do not change."""
    method = ("电子钱包" if n % 7 == 0 else "支票" if n % 11 == 0 else "账扣" if n % 13 == 0
              else "货补" if n % 17 == 0 else "银行转账")
    bank = BANKS[n % len(BANKS)] if method == "银行转账" else "财付通" if method == "电子钱包" else ""
    account = "" if n == 3 or method not in ("银行转账", "电子钱包") else f"6222{n * 7919 % 10**12:012d}"
    city = next((c for c in CITIES if customer["name"].startswith(c)), "")
    return [method, bank, customer["name"] if account else "", account, city,
            f"0755-{8800_0000 + n * 37:08d}", f"{city}市示例路 {n} 号" if city else ""]


def _write_customers(customers: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["客户编号", "客户名称", "渠道", "家庭编号", "推荐人编号", "发放方式", "开户行", "户名", "账号",
                         "地区", "电话", "地址"])
        for n, c in enumerate(customers, start=1):
            writer.writerow([c["id"], c["name"], c["channel"], c["family"], c["referrer"], *_payout(n, c)])


DEPOSIT_START, DEPOSIT_END = date(2026, 9, 1), date(2026, 12, 31)


def _deposits(rng: random.Random, customers: list[dict]) -> list[dict]:
    """Deposits and their use: validity 3 months, cap 50% of the bill and at most 2,000."""
    rows: list[dict] = []
    balance: dict[str, int] = {}
    for customer in rng.sample(customers, 120):
        cid = customer["id"]
        day = DEPOSIT_START + timedelta(days=rng.randint(0, 60))
        amount = rng.choice([1000, 2000, 5000, 5000, 8000, 20000, 30000]) * 100
        rows.append({"kind": "预存", "customer": cid, "date": day, "amount": amount})
        balance[cid] = amount
        for _ in range(rng.randint(0, 6)):
            day += timedelta(days=rng.randint(3, 20))
            if day > DEPOSIT_END or day >= DEPOSIT_START + timedelta(days=85):  # before the 3-month expiry
                break
            bill = rng.randint(200, 9000) * 100
            use = min(bill // 2, 200000, balance[cid])
            if rng.random() < 0.06:
                use = min(balance[cid], use + 5000)       # the till let a little too much through
            if use <= 0:
                break
            rows.append({"kind": "消费", "customer": cid, "date": day, "amount": use, "bill": bill})
            balance[cid] -= use
    for customer in customers[:40:2]:                      # relatives share deposits, approved
        cid, relative = customer["id"], customers[customers.index(customer) + 1]["id"]
        if balance.get(cid, 0) > 20000:
            rows.append({"kind": "转移", "customer": cid, "date": date(2026, 11, 20), "amount": 10000,
                         "to": relative, "approved": "是"})
            balance[cid] -= 10000
    rows.sort(key=lambda r: (r["date"], r["customer"]))
    for n, row in enumerate(rows, start=1):
        row["txn_id"] = f"YC{n:06d}"
    return rows


def _write_deposits(rows: list[dict], path: Path) -> None:
    book = xlsxwriter.Workbook(path, {"strings_to_numbers": False, "strings_to_formulas": False})
    book.set_properties({"created": _EPOCH})
    sheet = book.add_worksheet("预存流水")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["流水号", "客户编号", "交易日期", "类型", "金额", "消费金额", "转入账户", "已审核"])
    for r, row in enumerate(rows, start=1):
        sheet.write_string(r, 0, row["txn_id"])
        sheet.write_string(r, 1, row["customer"])
        sheet.write_datetime(r, 2, row["date"], date_format)
        sheet.write_string(r, 3, row["kind"])
        sheet.write_number(r, 4, row["amount"] / 100)
        if "bill" in row:
            sheet.write_number(r, 5, row["bill"] / 100)
        if "to" in row:
            sheet.write_string(r, 6, row["to"])
            sheet.write_string(r, 7, row["approved"])
    book.close()


_EPOCH = __import__("datetime").datetime(2026, 1, 1)

if __name__ == "__main__":
    main()
