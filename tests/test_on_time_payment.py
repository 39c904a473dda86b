"""On-time payment rebate at 0.5%, hand-computed."""

from datetime import date

from tests.conftest import order, payment, rebates

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
