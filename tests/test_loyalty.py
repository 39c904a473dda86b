"""Returning-customer policies and segmentation, hand-computed.

Period 2026-07-01..12-31. C1: 1,000.50 (07-01), 3,000 (08-01), return −500 (09-01) → 3,500.50.
C2: 999.99. C3: 100 on 06-01 (before the period) and 6,000 → 6,000 in the period. C5: 100 then
a return of −300 → −200. C4 buys nothing but is a dealer in the master.
"""

from datetime import date

import pytest

from promo_cli.engine import load, settle
from tests.conftest import (
    PAYMENT_HEADERS,
    PURCHASE_HEADERS,
    order,
    write_campaign,
    write_csv,
)

POLICIES = """\
- id: members
  type: membership
  levels:
    - {name: 普通, from: 0, discount: 0%, points_per_yuan: 1}
    - {name: 银卡, from: 1000, discount: 2%, points_per_yuan: 1.5}
    - {name: 金卡, from: 5000, discount: 5%, points_per_yuan: 2}
- {id: points, type: points, points_per_yuan: 1, expiry_months: 6}
- id: coupons
  type: coupon_return
  scope: order
  tiers: [{from: 1000, coupon: 50}, {from: 3000, coupon: 150}]
- id: coupons_by_customer
  type: coupon_return
  scope: customer
  tiers: [{from: 1000, coupon: 50}, {from: 3000, coupon: 150}]
- id: mooncakes
  type: gift
  card_cost: 5
  classes:
    - {name: 重点客户, grade: premium, unit_price: 298, rule: {top_n: 1}}
    - {name: 经销商, grade: standard, unit_price: 98, rule: {channel: dealer}}
    - {name: 老客户, grade: standard, unit_price: 98, rule: {bought_in_period: true}}
"""


@pytest.fixture(scope="module")
def s(tmp_path_factory):
    return _settle_sample(tmp_path_factory.mktemp("loyalty"))


def _settle_sample(folder):
    write_csv(folder / "purchases.csv", PURCHASE_HEADERS, [
        order("A1", "C1", "2026-07-01", "1000.50"), order("A2", "C1", "2026-08-01", "3000"),
        order("A3", "C1", "2026-09-01", "-500"), order("B1", "C2", "2026-07-10", "999.99"),
        order("D1", "C3", "2026-06-01", "100"), order("D2", "C3", "2026-07-15", "6000"),
        order("E1", "C5", "2026-07-01", "100"), order("E2", "C5", "2026-07-02", "-300")])
    write_csv(folder / "payments.csv", PAYMENT_HEADERS, [])
    write_csv(folder / "customers.csv", ["customer_id", "customer_name", "channel"], [
        {"customer_id": "C1", "customer_name": "甲", "channel": "经销商"},
        {"customer_id": "C2", "customer_name": "乙", "channel": "零售商"},
        {"customer_id": "C3", "customer_name": "丙", "channel": "代理商"},
        {"customer_id": "C4", "customer_name": "丁", "channel": "dealer"},
        {"customer_id": "C5", "customer_name": "戊", "channel": "终端客户"}])
    campaign = write_campaign(folder, POLICIES, inputs="{purchases: purchases.csv, customers: customers.csv}")
    loaded, findings = load(campaign, {}, date(2027, 1, 5))
    return settle(loaded, findings)


def test_membership_levels_points_discount_and_distance(s):
    rows = {r[0]: r[2:] for r in s.loyalty["members"].rows}
    assert rows == {"C1": [350050, "银卡", 5250, 7001, "金卡", 149950],   # 5,250.75 points → 5,250
                    "C2": [99999, "普通", 999, 0, "银卡", 1],             # one cent short of 银卡
                    "C3": [600000, "金卡", 12000, 30000, None, None],
                    "C5": [-20000, None, 0, 0, "普通", 20000]}
    assert s.loyalty["members"].totals == {"members_by_level": {"普通": 1, "银卡": 1, "金卡": 1}, "points": 18249,
                                           "discount_value": "370.01"}


def test_points_returns_and_expiry(s):
    rows = {r[0]: r[2:] for r in s.loyalty["points"].rows}
    # C1: 1,000 (expires 2027-01-01) − 500 returned + 3,000; at 2027-01-05 the first lot has expired
    # columns: earned, taken back, converted from deposits, expired, redeemed, balance
    assert rows == {"C1": [4000, 500, 0, 500, 0, 3000], "C2": [999, 0, 0, 0, 0, 999], "C3": [6000, 0, 0, 0, 0, 6000],
                    "C5": [100, 100, 0, 0, 0, 0]}                     # a return never takes below zero


def test_coupon_return_by_order_and_by_customer(s):
    assert [(r[1], r[3]) for r in s.loyalty["coupons"].rows] == [("A1", 5000), ("A2", 15000), ("D2", 15000)]
    assert s.loyalty["coupons"].totals == {"coupons": 3, "value": "350.00"}
    assert [(r[0], r[3]) for r in s.loyalty["coupons_by_customer"].rows] == [("C1", 15000), ("C3", 15000)]


def test_gift_recipients_by_class(s):
    assert [(r[0], r[3], r[4], r[8]) for r in s.loyalty["mooncakes"].rows] == [
        ("C3", "重点客户", "premium", 30300), ("C1", "经销商", "standard", 10300), ("C4", "经销商", "standard", 10300),
        ("C2", "老客户", "standard", 10300), ("C5", "老客户", "standard", 10300)]
    totals = s.loyalty["mooncakes"].totals
    assert totals["total"] == "715.00" and totals["by_class"]["经销商"] == {
        "recipients": 2, "gifts": "196.00", "cards": "10.00", "total": "206.00"}


def test_segments(s):
    seg = s.segments
    assert (seg["customers"], seg["new"], seg["returning"], seg["repurchase_rate"]) == (4, 3, 1, "0.2500")
    assert [(b["orders"], b["customers"]) for b in seg["frequency"]] == [("1", 3), ("2-3", 1), ("4-9", 0), ("10+", 0)]
    assert [(p["top_percent"], p["customers"], p["share"]) for p in seg["pareto"]] == [
        (10, 1, "0.5714"), (20, 1, "0.5714"), (50, 2, "0.9048")]


def test_response_rate_of_targets_against_natural_repurchase(tmp_path):
    # Before the period: T1, T2, N1, N2 bought. Targets T1, T2, T3. In the period T1 and N1 buy.
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [
        order(f"H{c}", c, "2026-05-01", "10") for c in ("T1", "T2", "N1", "N2")] + [
        order("P1", "T1", "2026-07-02", "10"), order("P2", "N1", "2026-07-03", "10")])
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [])
    write_csv(tmp_path / "targets.csv", ["客户编号"], [{"客户编号": c} for c in ("T1", "T2", "T3")])
    campaign = write_campaign(tmp_path, "- {id: p, type: points, points_per_yuan: 1}\n",
                              inputs="{purchases: purchases.csv, targets: targets.csv}")
    loaded, findings = load(campaign, {}, today=date(2099, 1, 1))
    targets = settle(loaded, findings).segments["targets"]
    assert targets == {"targeted": 3, "responded": 1, "response_rate": "0.3333", "non_targets": 2,
                       "non_targets_bought": 1, "natural_repurchase_rate": "0.5000"}


def test_levels_from_the_customer_master(tmp_path):
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [
        order("A1", "C1", "2026-07-02", "10"), order("A2", "C2", "2026-07-03", "10"),
        order("A3", "C3", "2026-07-04", "2000")])
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [])
    write_csv(tmp_path / "customers.csv", ["客户编号", "会员等级"], [
        {"客户编号": "C1", "会员等级": "金卡"}, {"客户编号": "C2", "会员等级": "黑卡"}])
    policy = POLICIES.split("- {id: points")[0].replace("type: membership", "type: membership\n  use_master_level: true")
    campaign = write_campaign(tmp_path, policy, inputs="{purchases: purchases.csv, customers: customers.csv}")
    loaded, findings = load(campaign, {}, today=date(2099, 1, 1))
    s = settle(loaded, findings)
    assert {r[0]: r[3] for r in s.loyalty["members"].rows} == {"C1": "金卡", "C2": "普通", "C3": "银卡"}
    [f] = [f for f in s.findings if f.code == "unknown-member-level"]
    assert (f.severity, dict(f.params)["level"]) == ("warning", "黑卡")


@pytest.mark.parametrize("cents, per_yuan, points", [
    (1999, "1.5", 28),       # the contract's example: 19 full yuan × 1.5 = 28.5 → 28 (not 29.985 → 29)
    (1999, "1", 19), (100, "1", 1), (99, "1", 0), (100_050, "2", 2000), (-1050, "1.5", 15), (1, "100", 0)])
def test_points_are_earned_per_full_yuan(cents, per_yuan, points):
    from decimal import Decimal
    from promo_cli.policies.points import points_for
    assert points_for(cents, Decimal(per_yuan)) == points


def test_a_listed_gift_recipient_nobody_knows_is_a_finding(tmp_path):
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [order("A1", "C1", "2026-07-02", "10")])
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [])
    write_csv(tmp_path / "customers.csv", ["customer_id"], [{"customer_id": "C2"}])
    policy = """\
- id: gifts
  type: gift
  card_cost: 5
  classes:
    - {name: 来访客户, grade: standard, unit_price: 98, rule: {customers: [C1, C2, C9]}}
"""
    campaign = write_campaign(tmp_path, policy, inputs="{purchases: purchases.csv, customers: customers.csv}")
    s = settle(*load(campaign, {}, today=date(2099, 1, 1)))
    assert [r[0] for r in s.loyalty["gifts"].rows] == ["C1", "C2"]          # a buyer and one in the master
    assert [(f.severity, dict(f.params)["customer"]) for f in s.findings if f.code == "gift-unknown-recipient"] == [
        ("warning", "C9")]



def test_the_loyalty_figures_are_recomputed_independently(s):
    rows = {key: (a, b) for key, a, b, _ in s.reconciliation if key.startswith("recompute-loyalty")}
    assert rows["recompute-loyalty:points earned"] == (11099, 11099) and all(a == b for a, b in rows.values())
    assert "recompute-loyalty-mismatch" not in [f.code for f in s.findings]


@pytest.mark.parametrize("plant", ["points-one-too-many", "coupon-a-cent-more", "gift-card-forgotten", "level-one-up"])
def test_the_recomputation_catches_a_planted_loyalty_bug(tmp_path, monkeypatch, plant):
    from decimal import Decimal
    from promo_cli.policies import coupon_return, gift, membership, points
    if plant == "points-one-too-many":
        real_points = points.points_for
        monkeypatch.setattr(points, "points_for", lambda cents, per_yuan: real_points(cents, per_yuan) + 1)
    elif plant == "coupon-a-cent-more":
        real = coupon_return.round_cents
        monkeypatch.setattr(coupon_return, "round_cents", lambda yuan: real(yuan) + 1)
    elif plant == "gift-card-forgotten":
        real_gift = gift.round_cents
        monkeypatch.setattr(gift, "round_cents", lambda yuan: 0 if yuan == Decimal(5) else real_gift(yuan))
    else:
        monkeypatch.setattr(membership, "Decimal", lambda value: value + 100000 if isinstance(value, int) else
                            Decimal(value))
    s = _settle_sample(tmp_path)
    assert s.status == "needs_review" and "recompute-loyalty-mismatch" in [f.code for f in s.findings]



def test_a_gift_list_a_warehouse_can_ship(tmp_path):
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [
        order("P1", "C1", "2026-05-02", "10"), order("A1", "C1", "2026-07-02", "10"),    # bought before and again
        order("A2", "C2", "2026-07-03", "10"),                                             # new this period
        order("P3", "C3", "2026-05-04", "10")])                                            # only before
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [])
    write_csv(tmp_path / "customers.csv", ["客户编号", "地区", "电话", "地址"], [
        {"客户编号": "C1", "地区": "深圳", "电话": "0755-12345678", "地址": "深圳市南山区科技园 1 号"}])
    policy = """\
- id: gifts
  type: gift
  card_cost: 5
  classes:
    - {name: 老客户, grade: premium, unit_price: 98, per_recipient: 2, rule: {returning: true}}
"""
    campaign = write_campaign(tmp_path, policy, inputs="{purchases: purchases.csv, customers: customers.csv}")
    s = settle(*load(campaign, {}, today=date(2099, 1, 1)))
    [row] = s.loyalty["gifts"].rows
    assert row[0] == "C1" and row[6:] == [2, 500, 20100, "深圳", "0755-12345678", "深圳市南山区科技园 1 号"]
    assert s.loyalty["gifts"].totals["total"] == "201.00"                     # 2 × 98.00 + 5.00
    assert "recompute-loyalty-mismatch" not in [f.code for f in s.findings]


REDEEM_HEADERS = ["order_id", "customer_id", "order_date", "amount", "积分抵扣"]


def test_points_redeemed_spend_oldest_first_and_an_overdraft_is_an_error(tmp_path):
    """C1 earns 1,000 (07-01), redeems 300 (08-01, a pure redemption of amount 0), pays 500.00 on
    09-01 partly with 200 points (worth 200 × 0.02 = 4.00, so it earns on 496.00: 496 points) and
    returns 400 yuan on 10-01: the 200 come from the oldest lot (700 → 500), the return takes back
    400 of it → balance 100 + 496 = 596. C2 earns 100 and redeems 150: only 100 are taken, an error
    at the cell. C3 writes 2.5 points: an error, nothing taken, its 100.00 earns 100."""
    write_csv(tmp_path / "purchases.csv", REDEEM_HEADERS, [
        {"order_id": "A1", "customer_id": "C1", "order_date": "2026-07-01", "amount": "1000.99"},
        {"order_id": "A2", "customer_id": "C1", "order_date": "2026-08-01", "amount": "0", "积分抵扣": "300"},
        {"order_id": "A3", "customer_id": "C1", "order_date": "2026-09-01", "amount": "500", "积分抵扣": "200"},
        {"order_id": "A4", "customer_id": "C1", "order_date": "2026-10-01", "amount": "-400"},
        {"order_id": "B1", "customer_id": "C2", "order_date": "2026-07-01", "amount": "100"},
        {"order_id": "B2", "customer_id": "C2", "order_date": "2026-07-02", "amount": "0", "积分抵扣": "150"},
        {"order_id": "C1", "customer_id": "C3", "order_date": "2026-07-01", "amount": "100", "积分抵扣": "2.5"}])
    policy = "- {id: points, type: points, points_per_yuan: 1, yuan_per_point: 0.02}\n"
    s = settle(*load(write_campaign(tmp_path, policy, inputs="{purchases: purchases.csv}"), {}, today=date(2099, 1, 1)))
    rows = {r[0]: r[2:] for r in s.loyalty["points"].rows}
    # earned, taken back, converted, expired, redeemed, balance
    assert rows == {"C1": [1496, 400, 0, 0, 500, 596], "C2": [100, 0, 0, 0, 100, 0], "C3": [100, 0, 0, 0, 0, 100]}
    # cost: (redeemed 600 + balance 696) × 0.02 = 25.92
    assert s.loyalty["points"].totals["cost"] == "25.92"
    problems = {(f.code, f.cell) for f in s.findings if f.severity == "error"}
    assert problems == {("points-overdrawn", "E7"), ("points-redeemed-invalid", "E8")}
    assert "recompute-loyalty-mismatch" not in [f.code for f in s.findings]


def test_expired_deposits_turn_into_points_per_customer_month_by_month(tmp_path):
    """C1 deposits 1,000.00 on 2026-07-01, valid 1 month: it expires unused on 08-01. At 10% a month,
    1 point a yuan, it turns into 100 points on 09-01, 10-01 and 11-01 (as-of 11-15: 300). C1 also
    bought 200 yuan (200 points) and redeems 450 on 11-10: 500 held → balance 50; at 0.02 a point
    the points cost (450 + 50) × 0.02 = 10.00. The redemption used the 200 purchase points first,
    so a return of 300 yuan on 11-12 has no purchase points left to take back: the 50 converted
    points stay (a return takes back what purchases earned, never converted deposits)."""
    write_csv(tmp_path / "deposits.csv", ["txn_id", "customer_id", "txn_date", "kind", "amount"],
              [{"txn_id": "D1", "customer_id": "C1", "txn_date": "2026-07-01", "kind": "deposit", "amount": "1000"}])
    write_csv(tmp_path / "purchases.csv", REDEEM_HEADERS, [
        {"order_id": "A1", "customer_id": "C1", "order_date": "2026-07-05", "amount": "200"},
        {"order_id": "A2", "customer_id": "C1", "order_date": "2026-11-10", "amount": "0", "积分抵扣": "450"},
        {"order_id": "A3", "customer_id": "C1", "order_date": "2026-11-12", "amount": "-300"}])
    policies = """\
- id: prepaid
  type: prepaid_deposit
  tiers: [{from: 1000, bonus_rate: 0%}]
  validity_months: 1
  expiry_points: {monthly_rate: 10%, points_per_yuan: 1}
- {id: points, type: points, points_per_yuan: 1, yuan_per_point: 0.02}
"""
    campaign = write_campaign(tmp_path, policies, inputs="{purchases: purchases.csv, deposits: deposits.csv}")
    s = settle(*load(campaign, {}, as_of=date(2026, 11, 15)))
    assert s.deposits["prepaid"].conversions == {"C1": [(date(2026, 9, 1), 100), (date(2026, 10, 1), 100),
                                                         (date(2026, 11, 1), 100)]}
    assert [lot.points for lot in s.deposits["prepaid"].lots] == [300]
    assert [r[2:] for r in s.loyalty["points"].rows] == [[200, 0, 300, 0, 450, 50]]
    assert s.loyalty["points"].totals["cost"] == "10.00"
    assert not [f for f in s.findings if f.severity == "error"], [f.code for f in s.findings]
    # the independent recomputation counted the same conversions and the same points
    compared = {key: (engine, again) for key, engine, again, _ in s.reconciliation}
    assert compared["recompute-deposits:prepaid points_converted"] == (300, 300)
    assert compared["recompute-loyalty:points converted"] == (300, 300)
    assert compared["recompute-loyalty:points cost"] == (1000, 1000)


def test_returning_buyers_are_found_in_the_baseline_ledger(tmp_path):
    """C1's earlier purchase is only in last year's ledger (the baseline): it is a returning buyer."""
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [order("A1", "C1", "2026-07-02", "10"),
                                                            order("A2", "C2", "2026-07-03", "10")])
    write_csv(tmp_path / "last_year.csv", PURCHASE_HEADERS, [order("P1", "C1", "2025-08-02", "10")])
    policy = """\
- id: gifts
  type: gift
  classes: [{name: 老客户, unit_price: 98, rule: {returning: true}}]
"""
    campaign = write_campaign(tmp_path, policy, inputs="{purchases: purchases.csv, baseline: last_year.csv}")
    s = settle(*load(campaign, {}, today=date(2099, 1, 1)))
    assert [r[0] for r in s.loyalty["gifts"].rows] == ["C1"]
    assert "recompute-loyalty-mismatch" not in [f.code for f in s.findings]


def test_a_give_away_the_budget_does_not_know_is_refused(tmp_path):
    from promo_cli.config import load_campaign
    campaign = write_campaign(tmp_path, "- {id: points, type: points, points_per_yuan: 1}\n",
                              inputs="{purchases: purchases.csv}")
    campaign.write_text(campaign.read_text(encoding="utf-8") + "budget: {giveaways: {lottery: 500}}\n",
                        encoding="utf-8")
    loaded, _, findings = load_campaign(campaign)
    assert loaded is None and [(f.code, f.row) for f in findings] == [("campaign-invalid", 8)]   # the budget line


@pytest.mark.parametrize("rule, expected", [
    # C1 buys 236.00 (236 points) and 100.00 (100), redeems 300 points, then returns 100.00 (the
    # points of the return: 100). proportional: 36 purchase points are left, 36 taken back, balance 0;
    # all: every purchase point still held (36) taken back; none: nothing, balance 36;
    # allow_negative: 36 taken and 64 owed: balance −64, taken back 100.
    ("proportional", [336, 36, 0, 0, 300, 0]),
    ("all", [336, 36, 0, 0, 300, 0]),
    ("none", [336, 0, 0, 0, 300, 36]),
    ("allow_negative", [336, 100, 0, 0, 300, -64]),
])
def test_what_a_return_takes_back(tmp_path, rule, expected):
    write_csv(tmp_path / "purchases.csv", REDEEM_HEADERS, [
        {"order_id": "A1", "customer_id": "C1", "order_date": "2026-07-01", "amount": "236"},
        {"order_id": "A2", "customer_id": "C1", "order_date": "2026-07-02", "amount": "100"},
        {"order_id": "A3", "customer_id": "C1", "order_date": "2026-07-03", "amount": "0", "积分抵扣": "300"},
        {"order_id": "R1", "customer_id": "C1", "order_date": "2026-07-04", "amount": "-100"}])
    policy = f"- {{id: points, type: points, points_per_yuan: 1, on_return: {rule}}}\n"
    s = settle(*load(write_campaign(tmp_path, policy, inputs="{purchases: purchases.csv}"), {}, today=date(2099, 1, 1)))
    assert [r[2:] for r in s.loyalty["points"].rows] == [expected]
    assert "recompute-loyalty-mismatch" not in [f.code for f in s.findings]


def test_a_full_refund_takes_all_points_back(tmp_path):
    """The peers' case: 236.00 earns 236 points; with on_return: all, refunding 36.00 of it takes back all
    236 (proportional would take 36)."""
    write_csv(tmp_path / "purchases.csv", REDEEM_HEADERS, [
        {"order_id": "A1", "customer_id": "C1", "order_date": "2026-07-01", "amount": "236"},
        {"order_id": "R1", "customer_id": "C1", "order_date": "2026-07-04", "amount": "-36"}])
    for rule, taken in (("all", 236), ("proportional", 36)):
        policy = f"- {{id: points, type: points, points_per_yuan: 1, on_return: {rule}}}\n"
        s = settle(*load(write_campaign(tmp_path, policy, inputs="{purchases: purchases.csv}"), {}, today=date(2099, 1, 1)))
        assert s.loyalty["points"].rows[0][3] == taken


def test_points_redeemed_are_left_out_of_what_an_order_earns(tmp_path):
    """236.00 paid partly with 1,000 points worth 0.01 each (10.00) earns on 226.00: 226 points,
    after 1,000 earned on an earlier 1,000.00."""
    write_csv(tmp_path / "purchases.csv", REDEEM_HEADERS, [
        {"order_id": "A0", "customer_id": "C1", "order_date": "2026-07-01", "amount": "1000"},
        {"order_id": "A1", "customer_id": "C1", "order_date": "2026-07-02", "amount": "236", "积分抵扣": "1000"}])
    policy = "- {id: points, type: points, points_per_yuan: 1, yuan_per_point: 0.01}\n"
    s = settle(*load(write_campaign(tmp_path, policy, inputs="{purchases: purchases.csv}"), {}, today=date(2099, 1, 1)))
    assert s.loyalty["points"].rows[0][2:] == [1226, 0, 0, 0, 1000, 226]
    assert "recompute-loyalty-mismatch" not in [f.code for f in s.findings]
