"""The audit: every finding code provoked from a small ledger; the independent
recomputation agrees with the engine on generated ledgers and catches a wrong engine."""

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promo_cli import engine
from promo_cli.config import load_campaign
from promo_cli.engine import Loaded, settle
from promo_cli.model import Ledger, Ledgers
from tests.conftest import PAYMENT_HEADERS, order, payment, write_campaign, write_csv

POLICIES = """\
- id: ladder
  type: tiered
  tiers: [{from: 0, rate: 1%}, {from: 1000, rate: 2%}]
- id: on_time
  type: on_time_payment
  rate: 0.5%
- id: group_buy
  type: group_purchase
  tiers: [{from: 10, rate: 3%}]
"""


def codes(s, code):
    return [(f.severity, f.file, f.row, f.column, f.cell) for f in s.findings if f.code == code]


def test_each_finding_points_at_its_cell(run_campaign):
    purchases = [
        order("A1", "C1", "2026-08-01", "1000", due_date="2026-08-31", customer_name="甲", quantity="5"),
        order("A2", "C1", "2026-08-02", "0", due_date="2026-08-31", customer_name="甲公司"),     # zero, 2nd name
        order("A3", "C2", "2026-08-03", "-50", due_date="2026-08-31", quantity="3"),           # return w/o buy, sign
        order("A4", "C3", "2026-06-01", "10", due_date="2026-06-30"),                          # before start
        order("A5", "C3", "2027-01-02", "10", due_date="2027-01-30"),                          # after end
        order("A6", "C4", "2026-08-05", "100"),                                                # no due date
        order("G1", "C5", "2026-08-06", "100", quantity="20", group_id="TG1", due_date="2026-08-31"),
    ]
    payments = [payment("P1", "A1", "2026-08-10", "1200"),                       # overpaid by 200
                payment("P2", "ZZ", "2026-08-10", "5"),                          # unknown order
                payment("P3", "A6", "2026-08-10", "100", customer_id="C9")]     # paid by someone else
    s = run_campaign(POLICIES, purchases, payments)
    assert codes(s, "zero-amount") == [("warning", "purchases.csv", 3, "amount", "E3")]
    assert codes(s, "several-names") == [("warning", "purchases.csv", 3, "customer_name", "C3")]
    assert codes(s, "return-without-purchase") == [("warning", "purchases.csv", 4, "amount", "E4")]
    assert codes(s, "sign-mismatch") == [("warning", "purchases.csv", 4, "quantity", "F4")]
    assert codes(s, "missing-due-date") == [("error", "purchases.csv", 7, "due_date", "G7")]
    assert codes(s, "order-overpaid") == [("warning", "purchases.csv", 2, "amount", "E2")]
    assert codes(s, "payment-unknown-order") == [("warning", "payments.csv", 3, "order_id", "B3")]
    assert codes(s, "payment-customer-mismatch") == [("warning", "payments.csv", 4, "customer_id", "C4")]
    assert codes(s, "group-not-qualified") == [("info", "purchases.csv", 8, "group_id", "H8")] * 2
    assert sorted(dict(f.params)["why"][0] for f in s.findings if f.code == "group-not-qualified") == \
        ["no-proof", "unpaid"]
    out = sorted(dict(f.params)["why"][0] for f in s.findings if f.code == "out-of-period")
    assert out == ["after-end", "before-start"]
    assert s.status == "needs_review"


def test_customers_missing_from_the_master(tmp_path):
    write_csv(tmp_path / "purchases.csv", ["order_id", "customer_id", "order_date", "amount"],
              [order("A1", "C1", "2026-08-01", "10"), order("A2", "C2", "2026-08-01", "10")])
    write_csv(tmp_path / "customers.csv", ["客户编号", "客户名称"], [{"客户编号": "C1", "客户名称": "甲"}])
    campaign = write_campaign(tmp_path, POLICIES.split("- id: on_time")[0],
                              inputs="{purchases: purchases.csv, customers: customers.csv}")
    loaded, findings = engine.load(campaign, {}, today=date(2099, 1, 1))
    s = settle(loaded, findings)
    assert codes(s, "customer-not-in-master") == [("warning", "purchases.csv", 3, "customer_id", "B3")]
    assert [c.customer_name for c in s.customers] == ["甲", ""]


def test_duplicate_payment_ids_are_refused(tmp_path):
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS,
              [payment("P1", "A1", "2026-08-01", "1"), payment("P1", "A2", "2026-08-02", "1")])
    from promo_cli.io.readers import read_ledger
    ledger, findings = read_ledger(tmp_path / "payments.csv", "payments")
    assert [(f.code, f.row, f.column, f.blocking) for f in findings] == [("duplicate-id", 3, "payment_id", True)]


def test_reconciliation_and_recomputation_agree_on_the_sample():
    loaded, findings = engine.load(Path(__file__).resolve().parents[1] / "policies" / "factory_rebate.yaml", {})
    s = settle(loaded, findings)
    assert not [f for f in s.findings if f.code == "recompute-mismatch"]
    assert all(expected == actual for _, expected, actual, _ in s.reconciliation)
    assert len(s.recomputed) == len(s.customers) * 3


def test_a_wrong_engine_is_caught(run_campaign, monkeypatch):
    real = engine.round_lines

    def off_by_a_cent(lines):
        rounded = real(lines)
        rounded.loc[0, "rebate"] += 1
        return rounded

    monkeypatch.setattr(engine, "round_lines", off_by_a_cent)
    s = run_campaign(POLICIES, [order("A1", "C1", "2026-08-01", "1500", due_date="2026-08-31")])
    [f] = [f for f in s.findings if f.code == "recompute-mismatch"]
    assert (f.severity, dict(f.params)["customer"], dict(f.params)["policy"]) == ("error", "C1", "ladder")
    assert dict(f.params)["engine"] == "20.01" and dict(f.params)["recomputed"] == "20.00"
    assert s.status == "needs_review"


# --------------------------------------------------------------------------- property test

CAMPAIGN_TEXT = """\
campaign: {{id: gen, period: {{start: 2026-07-01, end: 2026-12-31}}}}
policies:
  - {{id: t, type: tiered, mode: {mode}, basis: {basis}, tiers: [{{from: 0, rate: 1.5%}}, {{from: 300, rate: 2.5%}}, {{from: 2000, rate: 3.75%}}]}}
  - {{id: o, type: on_time_payment, rate: 0.7%, grace_days: {grace}, scope: {scope}}}
  - {{id: g, type: group_purchase, basis: {gbasis}, require_proof: {proof}, tiers: [{{from: 40, rate: 2%}}, {{from: 90, rate: 3.3%}}]}}
"""
DAY0 = date(2026, 6, 20)
days = st.integers(min_value=0, max_value=220).map(lambda n: DAY0 + timedelta(days=n))
cents = st.integers(min_value=-20000, max_value=400000)
purchase_rows = st.lists(st.tuples(
    st.sampled_from(["C1", "C2", "C3", "C4"]), days, cents,
    st.one_of(st.none(), st.integers(min_value=-5, max_value=60).map(Decimal)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=40)),
    st.sampled_from([None, None, "G1", "G2"]), st.sampled_from([None, "proof"])), max_size=25)
payment_rows = st.lists(st.tuples(st.integers(min_value=0, max_value=30), days, cents), max_size=30)


def frame(rows: dict) -> pd.DataFrame:
    out = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in rows.items()})
    for column in out:
        if column.endswith("date"):
            out[column] = pd.to_datetime(out[column])
        elif column == "amount":
            out[column] = out[column].astype("Int64")
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(purchase_rows, payment_rows, days, st.sampled_from(["marginal", "whole"]),
       st.sampled_from(["amount", "quantity"]), st.integers(0, 5), st.sampled_from(["order", "customer"]),
       st.sampled_from(["quantity", "amount"]), st.booleans())
def test_engine_and_recomputation_agree(tmp_path_factory, purchases, payments, as_of, mode, basis, grace,
                                        scope, gbasis, proof):
    if basis == "quantity":
        mode = "whole"
    folder = tmp_path_factory.mktemp("gen")
    path = folder / "c.yaml"
    path.write_text(CAMPAIGN_TEXT.format(mode=mode, basis=basis, grace=grace, scope=scope, gbasis=gbasis,
                                         proof=str(proof).lower()), encoding="utf-8")
    campaign, sha, problems = load_campaign(path)
    assert not problems
    p = frame({"order_id": [f"A{i}" for i in range(len(purchases))],
               "customer_id": [r[0] for r in purchases], "customer_name": [None] * len(purchases),
               "order_date": [r[1] for r in purchases], "amount": [r[2] for r in purchases],
               "quantity": [r[3] for r in purchases],
               "due_date": [None if r[4] is None else r[1] + timedelta(days=r[4]) for r in purchases],
               "group_id": [r[5] for r in purchases], "group_proof": [r[6] for r in purchases],
               "_row": list(range(2, len(purchases) + 2))})
    q = frame({"payment_id": [f"P{i}" for i in range(len(payments))],
               "order_id": [f"A{r[0]}" for r in payments], "customer_id": [None] * len(payments),
               "payment_date": [r[1] for r in payments], "amount": [abs(r[2]) for r in payments],
               "_row": list(range(2, len(payments) + 2))})
    ledgers = Ledgers(purchases=Ledger("purchases", folder / "p.csv", None, p, ""),
                      payments=Ledger("payments", folder / "q.csv", None, q, ""))
    s = settle(Loaded(campaign, path, sha, ledgers, as_of))
    assert [f for f in s.findings if f.code == "recompute-mismatch"] == []
    assert all(expected == actual for _, expected, actual, _ in s.reconciliation)
    for customer in s.customers:  # lines add up to the summary
        for pid, total in customer.rebates.items():
            mine = (s.lines["customer_id"] == customer.customer_id) & (s.lines["policy_id"] == pid)
            assert s.lines.loc[mine, "rebate"].sum() == total


def test_payments_are_linked_to_orders_by_position_once():
    """Every match of payments to orders goes through link_orders: a payment's _order is the
    position of its order's purchase row, −1 for an unknown or missing order id."""
    from promo_cli.policies.context import link_orders

    purchases = pd.DataFrame({"order_id": ["A", "B", "C"], "amount": [1, 2, 3]})
    payments = pd.DataFrame({"order_id": ["C", "X", None, "A", "C"], "amount": [1, 1, 1, 1, 1]})
    linked_purchases, linked_payments = link_orders(purchases, payments)
    assert list(linked_purchases["_order"]) == [0, 1, 2]
    assert list(linked_payments["_order"]) == [2, -1, -1, 0, 2]
    empty, unmatched = link_orders(purchases.iloc[:0], payments)
    assert list(unmatched["_order"]) == [-1] * 5
