"""Prepaid deposits, hand-computed. Tiers: 1,000 → 0% bonus; 5,000 → 5%; 20,000 → 10%.
Cap 50% of the bill, at most 2,000 per purchase."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promo_cli.engine import load, settle
from promo_cli.policies.prepaid_deposit import add_months, deposits_json, full_months
from tests.conftest import write_campaign, write_csv

DEPOSIT_HEADERS = ["txn_id", "account_id", "customer_id", "txn_date", "kind", "amount", "bill_amount",
                   "to_account", "approved"]
POLICY = """\
- id: prepaid
  type: prepaid_deposit
  tiers:
    - {{from: 1000, bonus_rate: 0%, voucher: 100, discount: 95%}}
    - {{from: 5000, bonus_rate: 5%, voucher: 300, gift: 200, discount: 90%}}
    - {{from: 20000, bonus_rate: 10%, voucher: 1000, gift: 500, discount: 88%}}
  deduction_cap: {{rate: 50%, amount: 2000}}
  validity_months: {months}
  expiry_points: {{monthly_rate: 10%, points_per_yuan: 1}}
  transfers: {{within: family, require_approval: true}}
  referral: {{referrer_gift: 100, referee_bonus: 50}}
  target: {{deposited: 100000, new_customers: 4}}
"""
MASTER = [{"customer_id": "C1", "customer_name": "甲", "family_id": "F1"},
          {"customer_id": "C2", "customer_name": "乙", "family_id": "F1"},
          {"customer_id": "C3", "customer_name": "丙", "family_id": "F2"},
          {"customer_id": "C4", "customer_name": "丁", "referrer_id": "C1"}]


def tx(txn, customer, day, kind, amount, bill="", to="", approved="", account=""):
    return {"txn_id": txn, "account_id": account, "customer_id": customer, "txn_date": day, "kind": kind,
            "amount": amount, "bill_amount": bill, "to_account": to, "approved": approved}


@pytest.fixture
def run(tmp_path):
    def run(rows, as_of=None, months=12, period=("2026-01-01", "2026-12-31")):
        write_csv(tmp_path / "deposits.csv", DEPOSIT_HEADERS, rows)
        write_csv(tmp_path / "customers.csv", ["customer_id", "customer_name", "family_id", "referrer_id"], MASTER)
        campaign = write_campaign(tmp_path, POLICY.format(months=months), period=period,
                                  inputs="{deposits: deposits.csv, customers: customers.csv}")
        loaded, findings = load(campaign, {}, as_of or date.fromisoformat(period[1]))
        assert loaded is not None, [f.code for f in findings]
        s = settle(loaded, findings)
        return s, s.deposits["prepaid"]
    return run


def codes(s):
    return [f.code for f in s.findings if f.code not in ("out-of-period",)]


@pytest.mark.parametrize("amount, bonus, vouchers, gifts", [
    ("999.99", "0.00", "0.00", "0.00"), ("1000", "0.00", "100.00", "0.00"),
    ("4999.99", "0.00", "100.00", "0.00"), ("5000", "250.00", "300.00", "200.00"),
    ("12345.67", "617.28", "300.00", "200.00"),   # 617.2835 → 617.28
    ("20000", "2000.00", "1000.00", "500.00"),
])
def test_tier_edges(run, amount, bonus, vouchers, gifts):
    s, result = run([tx("T1", "C1", "2026-03-01", "预存", amount)])
    summary = deposits_json(result)
    assert (summary["deposited"], summary["bonus"]) == (f"{Decimal(amount):.2f}", bonus)
    assert (summary["costs"]["vouchers"], summary["costs"]["gifts"]) == (vouchers, gifts)
    assert summary["closing_balance"] == f"{Decimal(amount) + Decimal(bonus):.2f}"


@pytest.mark.parametrize("amount, bill, violation", [
    ("500.00", "1000.00", False), ("500.01", "1000.00", True),      # cap by rate
    ("2000.00", "9000.00", False), ("2000.01", "9000.00", True),     # cap by amount
    ("500.01", "1000.01", False), ("500.02", "1000.01", True),       # 500.005 → cap 500.01
])
def test_deduction_cap(run, amount, bill, violation):
    s, result = run([tx("T1", "C1", "2026-03-01", "deposit", "20000"),
                     tx("T2", "C1", "2026-03-02", "消费", amount, bill=bill)])
    assert len(result.cap_violations) == int(violation)
    assert ("cap-violation" in codes(s)) == violation
    assert deposits_json(result)["consumed"] == amount  # a violation is flagged, the purchase still happened


def test_fifo_across_lots_with_different_expiries(run):
    s, result = run([tx("T1", "C1", "2026-01-10", "deposit", "1000"),     # expires 2027-01-10
                     tx("T2", "C1", "2026-03-01", "deposit", "1000"),     # expires 2027-03-01
                     tx("T3", "C1", "2026-04-01", "consume", "1500", bill="3000")],
                    as_of=date(2027, 1, 31), period=("2026-01-01", "2027-12-31"))
    lots = {lot.lot_id: (lot.expires, lot.remaining) for lot in result.lots}
    assert lots == {"T1": (date(2027, 1, 10), 0), "T2": (date(2027, 3, 1), 50000)}
    assert deposits_json(result)["expired"] == "0.00"


def test_a_lot_cannot_be_used_on_the_day_it_expires(run):
    s, result = run([tx("T1", "C1", "2026-07-15", "deposit", "1000"),
                     tx("T2", "C1", "2026-08-14", "consume", "100", bill="300"),
                     tx("T3", "C1", "2026-08-15", "consume", "100", bill="300")], months=1)
    assert [o["txn_id"] for o in result.overdrafts] == ["T3"]
    [f] = [f for f in s.findings if f.code == "overdraft"]
    assert (f.severity, f.file, f.row, f.column) == ("error", "deposits.csv", 4, "amount")
    summary = deposits_json(result)
    assert (summary["consumed"], summary["expired"], summary["closing_balance"]) == ("100.00", "900.00", "0.00")
    assert s.status == "needs_review"


def test_month_end_clamping():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 8, 31), 12) == date(2027, 8, 31)
    assert add_months(date(2026, 12, 15), 3) == date(2027, 3, 15)


def test_deposit_on_31_january_expires_28_february(run):
    _, result = run([tx("T1", "C1", "2026-01-31", "deposit", "1000")], months=1, as_of=date(2026, 2, 28))
    assert result.lots[0].expires == date(2026, 2, 28)
    assert deposits_json(result)["expired"] == "1000.00"


@pytest.mark.parametrize("as_of, converted, left", [
    (date(2026, 9, 14), 0, 1000), (date(2026, 9, 15), 100, 900),         # after 1 full month
    (date(2027, 1, 15), 500, 500), (date(2027, 8, 15), 1000, 0),          # 5 and 12 months
])
def test_expired_balance_turns_into_points(run, as_of, converted, left):
    _, result = run([tx("T1", "C1", "2026-07-15", "deposit", "1000")], months=1, as_of=as_of,
                    period=("2026-01-01", "2027-12-31"))
    assert deposits_json(result)["points"] == {"converted": converted, "to_convert": left}
    assert full_months(date(2026, 8, 15), as_of) == {0: 0, 100: 1, 500: 5, 1000: 12}[converted]


def test_transfers(run):
    s, result = run([
        tx("T1", "C1", "2026-03-01", "deposit", "1000"),
        tx("T2", "C2", "2026-03-01", "deposit", "10"),
        tx("T3", "C1", "2026-03-02", "转移", "300", to="C2", approved="是"),    # same family, approved
        tx("T4", "C1", "2026-03-03", "transfer", "100", to="C2", approved="否"),  # refused: not approved
        tx("T5", "C1", "2026-03-04", "transfer", "100", to="C3", approved="yes"),  # refused: other family
        tx("T6", "C1", "2026-03-05", "transfer", "100", to="C9", approved="yes"),  # refused: no such account
        tx("T7", "C1", "2026-03-06", "transfer", "100", approved="yes"),           # refused: no target
    ])
    assert codes(s) == ["transfer-unapproved", "transfer-outside-family", "transfer-unknown-account",
                        "transfer-without-target"]
    assert all(f.severity == "error" for f in s.findings if f.code.startswith("transfer"))
    moved = [lot for lot in result.lots if lot.origin == "transfer"]
    assert [(lot.account, lot.value, lot.expires) for lot in moved] == [("C2", 30000, date(2027, 3, 1))]
    balances = {lot.account: 0 for lot in result.lots}
    for lot in result.lots:
        balances[lot.account] += lot.remaining
    assert balances == {"C1": 70000, "C2": 31000}
    assert deposits_json(result)["transferred"] == "300.00"


@pytest.mark.parametrize("rows, bonus, gifts, codes", [
    # C4 (referred by C1) deposits twice in the period; C1 deposited the month before: 50 once, gift 100
    ([tx("T0", "C1", "2026-02-15", "deposit", "1000"), tx("T1", "C4", "2026-03-01", "deposit", "1000"),
      tx("T2", "C4", "2026-04-01", "deposit", "1000")], "50.00", "100.00", []),
    # the referrer never deposited: the referee's 50 stands, no gift
    ([tx("T1", "C4", "2026-03-01", "deposit", "1000"), tx("T2", "C4", "2026-04-01", "deposit", "1000")],
     "50.00", "0.00", ["referral-referrer-no-deposit"]),
    # the referrer deposited only after the referee: no gift
    ([tx("T1", "C4", "2026-03-01", "deposit", "1000"), tx("T0", "C1", "2026-03-02", "deposit", "1000")],
     "50.00", "0.00", ["referral-referrer-no-deposit"]),
    # the referee deposited before the period: not a new customer, nothing for either
    ([tx("T0", "C1", "2026-02-15", "deposit", "1000"), tx("T9", "C4", "2025-12-20", "deposit", "1000"),
      tx("T1", "C4", "2026-03-01", "deposit", "1000")], "0.00", "0.00", ["referral-not-new"]),
])
def test_referral_rewards_only_new_depositors_brought_by_depositors(run, rows, bonus, gifts, codes):
    s, result = run(rows)
    summary = deposits_json(result)
    assert (summary["referral_bonus"], summary["costs"]["referral_gifts"]) == (bonus, gifts)
    assert [f.code for f in s.findings if f.code.startswith("referral")] == codes


def test_referral_bonus_on_the_first_deposit_in_the_period(run):
    s, result = run([tx("T0", "C1", "2026-02-15", "deposit", "1000"), tx("T1", "C4", "2026-03-01", "deposit", "1000"),
                     tx("T2", "C4", "2026-04-01", "deposit", "1000")])
    summary = deposits_json(result)
    assert (summary["referral_bonus"], summary["bonus"], summary["closing_balance"]) == ("50.00", "50.00", "3050.00")
    assert summary["costs"]["referral_gifts"] == "100.00"
    assert summary["new_depositors"] == 2
    assert summary["target"] == {"deposited": "100000.00", "deposited_achievement": "0.0300",
                                 "new_customers": 4, "new_customers_achievement": "0.5000"}


def test_a_deposit_outside_the_period_earns_nothing_of_the_campaign(run):
    # 20,000 before the period would earn 10% bonus, a 1,000 voucher, a 500 gift and 88% prices
    s, result = run([tx("T1", "C1", "2025-12-20", "deposit", "20000"),
                     tx("T2", "C1", "2026-01-10", "consume", "100", bill="1000")], months=24)
    summary = deposits_json(result)
    assert (summary["bonus"], summary["closing_balance"]) == ("0.00", "19900.00")
    assert set(summary["costs"].values()) <= {"0.00"}          # no voucher, gift, discount or referral gift
    assert [f.code for f in s.findings if f.severity != "info"] == ["deposit-outside-period"]


def test_two_deposits_that_cross_a_tier_only_together_earn_no_bonus(run):
    # 3,000 + 3,000 against a 5,000 tier (5%): each deposit is judged alone, the lowest tier, 0%
    s, result = run([tx("T1", "C3", "2026-03-01", "deposit", "3000"), tx("T2", "C3", "2026-03-05", "deposit", "3000")])
    summary = deposits_json(result)
    assert (summary["deposited"], summary["bonus"], summary["costs"]["vouchers"]) == ("6000.00", "0.00", "200.00")


def test_bad_rows_are_findings_with_their_cells(run):
    s, _ = run([tx("T1", "C1", "2026-03-01", "deposit", "1000"),
                tx("T2", "C1", "2026-03-02", "consume", "10")])
    [f] = [f for f in s.findings if f.code == "consume-without-bill"]
    assert (f.severity, f.row, f.column, f.cell) == ("error", 3, "bill_amount", "G3")


def test_unknown_kind_is_refused(tmp_path):
    from promo_cli.io.readers import read_ledger
    write_csv(tmp_path / "d.csv", DEPOSIT_HEADERS, [tx("T1", "C1", "2026-03-01", "refund", "1")])
    ledger, findings = read_ledger(tmp_path / "d.csv", "deposits")
    assert [(f.code, f.row, f.column, f.blocking) for f in findings] == [("bad-value", 2, "kind", True)]


rows = st.lists(st.tuples(st.sampled_from(["C1", "C2", "C3"]), st.integers(0, 400),
                          st.sampled_from(["deposit", "consume", "transfer"]), st.integers(1, 3_000_000),
                          st.integers(1, 5_000_000), st.sampled_from(["C1", "C2", "C3"]), st.booleans()),
                max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows, st.integers(1, 13), st.integers(0, 500))
def test_closing_identity_and_no_lot_below_zero(run, generated, months, as_of_days):
    from datetime import timedelta
    start = date(2026, 1, 1)
    ledger = [tx(f"T{i:03d}", c, (start + timedelta(days=d)).isoformat(), kind, f"{cents / 100:.2f}",
                 bill=f"{bill / 100:.2f}", to=to, approved="yes" if ok else "no")
              for i, (c, d, kind, cents, bill, to, ok) in enumerate(generated)]
    if not ledger:
        return
    _, result = run(ledger, months=months, as_of=start + timedelta(days=as_of_days),
                    period=("2026-01-01", "2027-12-31"))
    t = result.totals()
    assert t["closing_balance"] == t["deposited"] + t["bonus"] - t["consumed"] - t["expired"]
    assert all(0 <= lot.remaining <= lot.value for lot in result.lots)


def test_deposits_from_several_files(tmp_path):
    from typer.testing import CliRunner

    from promo_cli.cli import app

    write_csv(tmp_path / "store_a.csv", DEPOSIT_HEADERS, [tx("A-1", "C1", "2026-03-01", "deposit", "5000")])
    write_csv(tmp_path / "store_b.csv", DEPOSIT_HEADERS, [tx("B-1", "C1", "2026-03-05", "consume", "100", bill="300")])
    write_csv(tmp_path / "customers.csv", ["customer_id", "customer_name"], [{"customer_id": "C1", "customer_name": "甲"}])
    campaign = write_campaign(tmp_path, POLICY.format(months=12), period=("2026-01-01", "2026-12-31"),
                              inputs="{deposits: [store_a.csv, store_b.csv], customers: customers.csv}")
    result = CliRunner().invoke(app, ["settle", str(campaign), "--out", str(tmp_path / "o"), "--json"])
    summary = json.loads(result.stdout)
    assert (summary["deposits"]["prepaid"]["consumed"], summary["deposits"]["prepaid"]["closing_balance"]) == \
        ("100.00", "5150.00")
    assert [i["path"].rsplit("/", 1)[-1] for i in summary["inputs"] if i["role"] == "deposits"] == \
        ["store_a.csv", "store_b.csv"]
    assert summary["evaluation"]["deposit_targets"]["prepaid"] == {
        "new_depositors": 1, "depositors": 1, "returning_depositors": 0, "returning_ratio": "0.0000",
        "repeat_purchase_rate": "0.0000", "deposited": "100000.00", "deposited_achievement": "0.0500",
        "new_customers": 4, "new_customers_achievement": "0.2500"}

    write_csv(tmp_path / "store_c.csv", DEPOSIT_HEADERS, [tx("A-1", "C1", "2026-03-09", "deposit", "1000")])
    result = CliRunner().invoke(app, ["validate", str(campaign), "--deposits", str(tmp_path / "store_a.csv"),
                                      "--deposits", str(tmp_path / "store_c.csv"), "--lang", "en"])
    assert result.exit_code == 1
    assert "store_c.csv!A2 (txn_id): [duplicate-id-across-files]" in result.output
    assert "store_a.csv row 2" in result.output


@pytest.mark.parametrize("plant", ["bonus-off-by-a-cent", "expiry-a-day-late", "draw-newest-first"])
def test_the_independent_recomputation_catches_a_planted_engine_bug(run, monkeypatch, plant):
    from promo_cli.policies import prepaid_deposit as engine
    if plant == "bonus-off-by-a-cent":
        real = engine.round_cents
        monkeypatch.setattr(engine, "round_cents", lambda yuan: real(yuan) + 1)
    elif plant == "expiry-a-day-late":
        real_add = engine.add_months
        monkeypatch.setattr(engine, "add_months", lambda day, months: real_add(day, months) + timedelta(days=1))
    else:
        monkeypatch.setattr(engine, "_draw", lambda lots, cents: _newest_first(lots, cents))
    s, _ = run([tx("T1", "C1", "2026-01-10", "deposit", "6000"), tx("T2", "C1", "2026-02-01", "deposit", "1000"),
                tx("T3", "C1", "2026-02-05", "consume", "500", bill="2000")], months=11,
               as_of=date(2026, 12, 10))                     # T1's lot expires on this very day
    assert s.status == "needs_review"
    assert "recompute-deposit-mismatch" in [f.code for f in s.findings]


def _newest_first(lots, cents):
    taken = []
    for lot in sorted(lots, key=lambda lot: lot.opened, reverse=True):
        part = min(lot.remaining, cents)
        if part:
            taken.append((lot, part))
            cents -= part
    return taken


def test_the_recomputation_is_in_the_reconciliation(run):
    s, _ = run([tx("T1", "C1", "2026-03-01", "deposit", "6000")])
    rows = {key: (a, b) for key, a, b, _ in s.reconciliation if key.startswith("recompute-deposits")}
    assert rows["recompute-deposits:prepaid bonus"] == (30000, 30000)          # 6,000 × 5%
    assert rows["recompute-deposits:prepaid closing_balance"] == (630000, 630000)



def test_returning_depositors_and_their_repeat_purchases(run):
    # C1 deposited before the period and again in it (returning); C2 pays from its deposit twice
    # in the period (a repeat purchase); C3 once. 3 depositors: 1/3 returning, 1/3 repeat.
    s, result = run([tx("T0", "C1", "2025-12-20", "deposit", "1000"), tx("T1", "C1", "2026-03-01", "deposit", "1000"),
                     tx("T2", "C2", "2026-03-02", "deposit", "1000"),
                     tx("T3", "C2", "2026-03-05", "consume", "100", bill="1000"),
                     tx("T4", "C2", "2026-04-05", "consume", "100", bill="1000"),
                     tx("T5", "C3", "2026-03-03", "deposit", "1000"),
                     tx("T6", "C3", "2026-03-06", "consume", "100", bill="1000")], months=24)
    summary = deposits_json(result)
    assert {k: summary[k] for k in ("depositors", "new_depositors", "returning_depositors", "returning_ratio",
                                    "repeat_purchase_rate")} == {
        "depositors": 3, "new_depositors": 2, "returning_depositors": 1, "returning_ratio": "0.3333",
        "repeat_purchase_rate": "0.3333"}
