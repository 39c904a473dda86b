"""On-time payment rebate at 0.5%, hand-computed."""

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from promo_cli.budget import campaign_costs
from promo_cli.engine import load, settle
from promo_cli.io.writers.summary_json import summary_dict
from tests.conftest import PAYMENT_HEADERS, PURCHASE_HEADERS, order, payment, rebates, write_campaign, write_csv

POLICY = """\
- id: on_time
  type: on_time_payment
  rate: 0.5%
  grace_days: {grace}
  scope: {scope}
"""


def policy(grace=0, scope="order"):
    return POLICY.format(grace=grace, scope=scope)


def test_paid_in_full_by_the_due_date_in_two_instalments(run_campaign):
    s = run_campaign(policy(), [order("A1", "C1", "2026-08-01", "1001.00", due_date="2026-08-31")],
                     [payment("P1", "A1", "2026-08-10", "500"), payment("P2", "A1", "2026-08-31", "501")])
    assert rebates(s, "on_time") == {"C1": "5.01"}  # 5.005 half-up
    [line] = s.lines.itertuples()
    assert (line.due_date.date(), line.paid_on.date(), line.rebate) == (date(2026, 8, 31), date(2026, 8, 31), 501)
    assert line.n_paid_on == "2026-08-31" and line.source_row == 2


def test_partial_late_and_unpaid_orders_do_not_qualify(run_campaign):
    purchases = [order("A1", "C1", "2026-08-01", "1000", due_date="2026-08-31"),   # partial
                 order("A2", "C1", "2026-08-01", "2000", due_date="2026-08-31"),   # late
                 order("A3", "C1", "2026-08-01", "3000", due_date="2026-08-31"),   # unpaid
                 order("A4", "C1", "2026-08-01", "4000", due_date="2026-08-31")]   # on time
    payments = [payment("P1", "A1", "2026-08-30", "999.99"), payment("P2", "A2", "2026-09-01", "2000"),
                payment("P3", "A4", "2026-08-01", "4000")]
    s = run_campaign(policy(), purchases, payments)
    assert rebates(s, "on_time") == {"C1": "20.00"}
    notes = dict(zip(s.lines["ref"], s.lines["note"]))
    assert notes == {"A1": "partial", "A2": "late", "A3": "partial", "A4": "on-time"}


def test_grace_days_extend_the_due_date(run_campaign):
    purchases = [order("A1", "C1", "2026-08-01", "2000", due_date="2026-08-31")]
    payments = [payment("P1", "A1", "2026-09-03", "2000")]
    assert rebates(run_campaign(policy(grace=3), purchases, payments), "on_time") == {"C1": "10.00"}
    assert rebates(run_campaign(policy(grace=2), purchases, payments), "on_time") == {"C1": "0.00"}


def test_customer_scope_needs_every_order_on_time(run_campaign):
    purchases = [order("A1", "C1", "2026-08-01", "1000", due_date="2026-08-31"),
                 order("A2", "C1", "2026-08-02", "1000", due_date="2026-08-31"),
                 order("B1", "C2", "2026-08-01", "1000", due_date="2026-08-31"),
                 order("B2", "C2", "2026-08-02", "-200")]  # a return does not need paying
    payments = [payment("P1", "A1", "2026-08-05", "1000"), payment("P2", "A2", "2026-09-05", "1000"),
                payment("P3", "B1", "2026-08-05", "1000")]
    s = run_campaign(policy(scope="customer"), purchases, payments)
    assert rebates(s, "on_time") == {"C1": "0.00", "C2": "5.00"}
    c1 = s.lines[s.lines["customer_id"] == "C1"]
    assert dict(zip(c1["ref"], c1["note"])) == {"A1": "scope-customer", "A2": "late"}


def test_an_order_without_due_date_is_an_error_finding(run_campaign):
    s = run_campaign(policy(), [order("A1", "C1", "2026-08-01", "1000")],
                     [payment("P1", "A1", "2026-08-05", "1000")])
    [f] = [f for f in s.findings if f.code == "missing-due-date"]
    assert (f.severity, f.file, f.row, f.column, f.blocking) == ("error", "purchases.csv", 2, "due_date", False)
    assert s.status == "needs_review"
    assert rebates(s, "on_time") == {"C1": "0.00"}


def test_payments_after_as_of_are_ignored(run_campaign):
    purchases = [order("A1", "C1", "2026-08-01", "1000", due_date="2026-10-31")]
    payments = [payment("P1", "A1", "2026-10-15", "1000")]
    s = run_campaign(policy(), purchases, payments, as_of=date(2026, 9, 30))
    assert rebates(s, "on_time") == {"C1": "0.00"}
    assert list(s.lines["note"]) == ["not-yet-due"]


def test_rounded_once_per_customer(run_campaign):
    # three orders of 1.00 × 0.5% = 0.005 each: 0.015 → 0.02 (not 3 × 0.01)
    purchases = [order(f"A{i}", "C1", "2026-08-01", "1.00", due_date="2026-08-31") for i in range(3)]
    payments = [payment(f"P{i}", f"A{i}", "2026-08-02", "1.00") for i in range(3)]
    s = run_campaign(policy(), purchases, payments)
    assert rebates(s, "on_time") == {"C1": "0.02"}
    assert sorted(s.lines["rebate"]) == [0, 1, 1]


def _paid_by_by_hand(orders, payments, deadline):
    """Order by order, payment by payment, in date order (ledger order on the same day)."""
    import pandas as pd
    out = {}
    for pos, (index, order_row) in enumerate(orders.iterrows()):
        mine = sorted(((day, i, int(cents)) for i, (linked, day, cents) in
                       enumerate(zip(payments["_order"], payments["payment_date"], payments["amount"]))
                       if linked == order_row["_order"]), key=lambda t: (t[0], t[1]))
        amount = int(order_row["amount"])
        total = timely = 0
        full_on = paid_on = pd.NaT
        for day, _, cents in mine:
            total += cents
            if full_on is pd.NaT and total >= amount:
                full_on = day
            if not pd.isna(deadline.iloc[pos]) and day <= deadline.iloc[pos]:
                timely += cents
                if paid_on is pd.NaT and timely >= amount:
                    paid_on = day
        out[index] = (timely, paid_on, total, full_on)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-300, 3000), st.integers(0, 40) | st.none()), min_size=0, max_size=8),
       st.lists(st.tuples(st.integers(-1, 9), st.integers(0, 40), st.integers(-500, 2500)), max_size=25))
def test_paid_by_matches_a_payment_by_payment_count(orders_spec, payments_spec):
    """paid_by (integer arrays, sorted once) agrees with walking each order's payments."""
    import numpy as np
    import pandas as pd
    from promo_cli.policies.context import paid_by
    start = pd.Timestamp("2026-08-01")
    orders = pd.DataFrame({"_order": np.arange(len(orders_spec), dtype=np.int64) * 2,   # positions in a ledger
                           "amount": pd.array([a for a, _ in orders_spec], dtype="Int64")},
                          index=np.arange(len(orders_spec)) + 100)
    deadline = pd.Series([start + pd.Timedelta(days=d) if d is not None else pd.NaT for _, d in orders_spec],
                         index=orders.index, dtype="datetime64[s]")
    payments = pd.DataFrame({
        "_order": np.array([o * 2 if 0 <= o < len(orders_spec) else (o if o < 0 else 2 * o + 1)
                            for o, _, _ in payments_spec], dtype=np.int64),
        "payment_date": pd.Series([start + pd.Timedelta(days=d) for _, d, _ in payments_spec], dtype="datetime64[s]"),
        "amount": pd.array([c for _, _, c in payments_spec], dtype="Int64")})
    result = paid_by(orders, payments, deadline)
    expected = _paid_by_by_hand(orders, payments, deadline)
    assert list(result.index) == list(orders.index)
    for index, (paid, paid_on, total, full_on) in expected.items():
        row = result.loc[index]
        assert (int(row["paid"]), int(row["paid_total"])) == (paid, total)
        assert (pd.isna(row["paid_on"]) and pd.isna(paid_on)) or row["paid_on"] == paid_on
        assert (pd.isna(row["full_on"]) and pd.isna(full_on)) or row["full_on"] == full_on


def test_orders_not_yet_due_are_pending_not_silently_zero(run_campaign):
    from promo_cli.io.writers.summary_json import summary_dict
    s = run_campaign("- {id: on_time, type: on_time_payment, rate: 1%}\n",
                     [order("A1", "C1", "2026-08-01", "1000", due_date="2026-08-31"),
                      order("A2", "C1", "2026-09-10", "2500.50", due_date="2026-10-10"),
                      order("A3", "C2", "2026-09-12", "400", due_date="2026-10-31")],
                     [payment("P1", "A1", "2026-08-20", "1000"), payment("P2", "A3", "2026-09-13", "100")],
                     as_of=date(2026, 9, 30))
    [f] = [f for f in s.findings if f.code == "on-time-pending"]
    assert (f.severity, dict(f.params)["count"], dict(f.params)["amount"]) == ("info", 2, "2,900.50")
    assert summary_dict(s, "zh")["totals"]["pending"] == {"on_time": {"orders": 2, "amount": "2900.50"}}


def test_rebate_deducted_at_payment(tmp_path):
    """票扣 (issue 20, item 4), 10% for paying on time, deducted_at_payment: true.
    A1 236.00 paid 212.40 on time: 212.40 + 23.60 = 236.00, so it qualifies; its 23.60 was taken
    at payment: nothing payable. A2 100.00 paid 95.00: 10.00 earned, 5.00 taken, 5.00 payable.
    A3 100.00 paid 80.00: 20.00 short is more than its 10.00 rebate: no rebate."""
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [
        order("A1", "C1", "2026-07-01", "236", due_date="2026-07-31"),
        order("A2", "C1", "2026-07-02", "100", due_date="2026-07-31"),
        order("A3", "C1", "2026-07-03", "100", due_date="2026-07-31")])
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [
        payment("P1", "A1", "2026-07-20", "212.40"), payment("P2", "A2", "2026-07-20", "95"),
        payment("P3", "A3", "2026-07-20", "80")])
    for deducted, payable, taken in (("true", 500, {"on_time": "28.60"}), ("false", 0, None)):
        campaign = write_campaign(tmp_path, f"- {{id: on_time, type: on_time_payment, rate: 10%, "
                                            f"deducted_at_payment: {deducted}}}\n")
        s = settle(*load(campaign, {}, as_of=date(2026, 12, 31)))
        assert [c.total_rebate for c in s.customers] == [payable]
        assert not [f.code for f in s.findings if f.code.startswith("recompute")]
        summary = summary_dict(s, "en")
        assert summary["totals"].get("taken_at_payment") == taken
    # with deduction: the campaign's cost is the rebate earned, 23.60 + 10.00 = 33.60, taken or payable
    campaign = write_campaign(tmp_path, "- {id: on_time, type: on_time_payment, rate: 10%, deducted_at_payment: true}\n")
    s = settle(*load(campaign, {}, as_of=date(2026, 12, 31)))
    assert campaign_costs(s)["rebates"] == 3360
    notes = dict(zip(s.lines["ref"] + "/" + s.lines["kind"], s.lines["note"]))
    assert notes == {"A1/order": "on-time-deducted", "A2/order": "on-time-deducted", "A3/order": "partial",
                     "A1/taken-at-payment": "taken-at-payment", "A2/taken-at-payment": "taken-at-payment"}
