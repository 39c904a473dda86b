"""A rate written 0.5 meaning 0.5% is settled as 50% (issue 20, item 7): say so, with the other
reading, and say so again when the settled rebate is several times the plan's estimate."""

from __future__ import annotations

from datetime import date

from promo_cli.config import load_campaign
from promo_cli.engine import load, settle
from promo_cli.messages import message
from tests.conftest import PAYMENT_HEADERS, PURCHASE_HEADERS, order, payment, write_campaign, write_csv


def _campaign(tmp_path, rate: str, estimate: str = "1000"):
    write_csv(tmp_path / "purchases.csv", PURCHASE_HEADERS, [order("A1", "C1", "2026-07-01", "1000", due_date="2026-08-01")])
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [payment("P1", "A1", "2026-07-20", "1000")])
    path = write_campaign(tmp_path, f"- {{id: on_time, type: on_time_payment, rate: {rate}}}\n"
                                    "- {id: ladder, type: tiered, tiers: [{from: 0, rate: 1%}, {from: 500, rate: 25%}]}\n")
    path.write_text(path.read_text(encoding="utf-8") + f"budget: {{rebate_estimate: {estimate}}}\n", encoding="utf-8")
    return path


def test_a_rate_above_20_percent_is_a_warning_with_the_other_reading(tmp_path):
    campaign, _, findings = load_campaign(_campaign(tmp_path, "0.5"))
    assert campaign is not None                                    # a warning: it is settled as written
    found = {dict(f.params)["key"]: f for f in findings}
    assert set(found) == {"policies[0].rate", "policies[1].tiers[1].rate"}
    rate = found["policies[0].rate"]
    assert (rate.severity, rate.code, rate.row) == ("warning", "rate-implausible", 7)
    assert message(rate, "zh") == "policies[0].rate 写作 0.5,按 50% 结算,高于 20%:如果本意是更小的比例,请写成 0.5%"
    # written with a percent sign it is still worth a look: the smaller reading is 0.25%
    assert message(found["policies[1].tiers[1].rate"], "en").endswith("write 0.25%")


def test_a_plausible_rate_says_nothing(tmp_path):
    path = _campaign(tmp_path, "0.5%")
    path.write_text(path.read_text(encoding="utf-8").replace("rate: 25%", "rate: 2%"), encoding="utf-8")
    assert load_campaign(path)[2] == []


def test_a_rebate_far_over_the_estimate_is_a_warning(tmp_path):
    # on_time 50% × 1,000.00 = 500.00; ladder 1% × 500 + 25% × 500 = 130.00; total 630.00 > 3 × 100.00
    s = settle(*load(_campaign(tmp_path, "0.5", estimate="100"), {}, as_of=date(2026, 12, 31)))
    assert sum(c.total_rebate for c in s.customers) == 63000
    [over] = [f for f in s.findings if f.code == "rebate-over-estimate"]
    assert message(over, "en").startswith("the settled rebate 630.00 is 6.3 times the estimate 100.00")
    # within three times the estimate: nothing
    s = settle(*load(_campaign(tmp_path, "0.5", estimate="210"), {}, as_of=date(2026, 12, 31)))
    assert "rebate-over-estimate" not in [f.code for f in s.findings]


def test_a_per_product_table_is_checked_too(tmp_path):
    path = write_campaign(tmp_path, "- {id: lines, type: tiered, rates_by: product, tiers: [{from: 0, rate: 1%}],\n"
                                    "   tiers_by: {P01: [{from: 0, rate: 0.5}]}}\n")
    _, _, findings = load_campaign(path)
    assert [dict(f.params)["key"] for f in findings if f.code == "rate-implausible"] == ["policies[0].tiers_by.P01[0].rate"]
