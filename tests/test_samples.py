"""The three sample campaigns' totals, pinned (issue 18): a reader or policy change that moves any
of them fails here, not silently in a demo. The factory figures are the engine's and the
independent recomputation's (they agree line by line); the referral gifts were recounted from
the sample files by hand (12 referees, 4 referrers ever deposited, 2 by their referee's first
deposit: 2 × 100.00); the on-time pending orders are those due after 2026-12-31."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from promo_cli.engine import load, settle
from promo_cli.io.writers.summary_json import summary_dict

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sample():
    def run(name: str) -> dict:
        loaded, findings = load(ROOT / "policies" / f"{name}.yaml", {}, date(2026, 12, 31))
        assert loaded is not None, [f.code for f in findings if f.blocking]
        return summary_dict(settle(loaded, findings), "zh")
    return run


def test_factory_sample_totals(sample):
    s = sample("factory_rebate")
    assert s["status"] == "ok"
    assert s["totals"]["purchase_amount"] == "119892424.35"
    assert s["totals"]["by_policy"] == {"ladder": "2750453.72", "on_time": "319396.30", "group_buy": "20104.75"}
    assert s["totals"]["rebate"] == "3089954.77"
    assert s["totals"]["pending"] == {"on_time": {"orders": 258, "amount": "12680606.79"}}
    assert len(s["customers"]) == 200
    # cost = rebates 3,089,954.77 + the budget's lines 159,000.00, without the 5% reserve (ROI was -14.10% with it)
    assert (s["evaluation"]["campaign_cost"], s["evaluation"]["roi"]) == ("3248954.77", "-0.0981")


def test_prepaid_sample_totals(sample):
    d = sample("prepaid_deposit")["deposits"]["prepaid"]
    assert {k: d[k] for k in ("deposited", "bonus", "consumed", "expired", "closing_balance", "referral_bonus",
                              "transferred")} == {
        "deposited": "1221000.00", "bonus": "102300.00", "consumed": "367129.00", "expired": "526322.00",
        "closing_balance": "429849.00", "referral_bonus": "600.00", "transferred": "800.00"}
    assert d["costs"]["referral_gifts"] == "200.00"            # was 1,200.00 when referrers who never deposited counted
    assert (d["costs"]["vouchers"], d["costs"]["gifts"], d["costs"]["discounts"]) == ("53100.00", "27100.00",
                                                                                        "117158.94")
    assert (d["cap_violations"], d["overdrafts"], d["new_depositors"]) == (13, 0, 120)


def test_loyalty_sample_totals(sample):
    loyalty = sample("loyalty")["loyalty"]
    assert loyalty["members"]["members_by_level"] == {"普通会员": 88, "银卡": 84, "金卡": 24, "钻石": 4}
    assert loyalty["members"]["points"] == 166076218            # per full yuan (166,076,275 with fractions)
    assert (loyalty["members"]["discount_value"], loyalty["coupons"]["value"]) == ("3010431.72", "213400.00")
    assert {k: loyalty["points"][k] for k in ("earned", "taken_back", "balance")} == {
        "earned": 120648843, "taken_back": 756893, "balance": 119891950}
    assert (loyalty["mooncakes"]["recipients"], loyalty["mooncakes"]["total"]) == (181, "35016.00")


def test_loyalty_campaign_cost_counts_what_it_gives_away(sample):
    s = sample("loyalty")
    # the budget's lines 25,000.00 + gifts 35,016.00 + coupons 213,400.00 + member discounts 3,010,431.72
    # + points 119,891,950 (none redeemed, none expired) × 0.01 = 1,198,919.50; it used to be 26,250.00:
    # the budget's lines with the reserve, and none of the give-aways
    assert s["evaluation"]["campaign_cost"] == "4482767.22"
    # planned: gifts 40 × (388 + 8) + 30 × (128 + 8) + 110 × (128 + 8) = 15,840 + 4,080 + 14,960 = 34,880.00
    assert s["costs"] == {
        "coupons": {"planned": "200000.00", "actual": "213400.00"},
        "gift_recipients": {"planned": "34880.00", "actual": "35016.00"},
        "member_discounts": {"planned": "3000000.00", "actual": "3010431.72"},
        "points_given": {"planned": "1200000.00", "actual": "1198919.50"}}
    # budget: 25,000.00 + 4,434,880.00 planned give-aways = 4,459,880.00, + 5% = 222,994.00 → 4,682,874.00
    assert s["evaluation"]["budget_total"] == "4682874.00"


def test_prepaid_campaign_cost_against_its_plan(sample):
    s = sample("prepaid_deposit")
    assert s["costs"] == {
        "bonus": {"planned": "100000.00", "actual": "101700.00"},
        "referral_bonus": {"planned": "1000.00", "actual": "600.00"},
        "vouchers": {"planned": "60000.00", "actual": "53100.00"},
        "gifts": {"planned": "30000.00", "actual": "27100.00"},
        "discounts": {"planned": "120000.00", "actual": "117158.94"},
        "referral_gifts": {"planned": "1000.00", "actual": "200.00"}}
