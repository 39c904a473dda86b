"""Campaign evaluation, hand-computed. Campaign: July 2026, tiered 1%, margin 25%.

Sales in July 2026: C1 300 (P1) + C2 500 (P2) = 800. Prior period (31 days before):
2026-05-31..06-30 → C1 200; growth (800 − 200) / 200 = 3. Year ago, July 2025: C1 100 (P1);
growth 7. C2 is new (first purchase in July), C1 returning. Rebate 1% = 8.00; budget:
100 promotion + 10 estimate = 110 planned; actual 100 + 8 = 108; −1.82% against budget.
Incremental against a year ago 700 × 25% = 175 margin; ROI (175 − 108) / 108 = 0.6204.
"""

from datetime import date
import openpyxl

from promo_cli.engine import load, settle
from promo_cli.io.writers import write_outputs
from tests.conftest import PAYMENT_HEADERS, order, write_campaign, write_csv


def test_evaluation_by_hand(tmp_path):
    write_csv(tmp_path / "purchases.csv", ["order_id", "customer_id", "order_date", "amount", "product"], [
        order("Y1", "C1", "2025-07-03", "100", product="P1"),
        order("M1", "C1", "2026-05-20", "50", product="P1"),
        order("J1", "C1", "2026-06-15", "200", product="P1"),
        order("A1", "C1", "2026-07-05", "300", product="P1"),
        order("A2", "C2", "2026-07-06", "500", product="P2")])
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [])
    write_csv(tmp_path / "customers.csv", ["客户编号", "渠道"], [{"客户编号": "C1", "渠道": "经销商"},
                                                                 {"客户编号": "C2", "渠道": "零售商"}])
    campaign = write_campaign(tmp_path, "- {id: t, type: tiered, tiers: [{from: 0, rate: 1%}]}\n",
                              period=("2026-07-01", "2026-07-31"),
                              inputs="{purchases: purchases.csv, customers: customers.csv}")
    campaign.write_text(campaign.read_text(encoding="utf-8")
                        + "budget: {promotion: {online: 100}, rebate_estimate: 10}\n"
                          "evaluation: {margin_rate: 25%}\n", encoding="utf-8")
    loaded, findings = load(campaign, {}, today=date(2099, 1, 1))
    s = settle(loaded, findings)
    ev = s.evaluation
    assert ev["sales"] == "800.00"
    assert ev["baselines"]["prior_period"] == {"start": "2026-05-31", "end": "2026-06-30", "covered": True,
                                               "sales": "200.00", "growth": "3.0000",
                                               "volume": None, "volume_growth": None}   # no quantities
    assert ev["baselines"]["year_ago"] == {"start": "2025-07-01", "end": "2025-07-31", "covered": True,
                                           "sales": "100.00", "growth": "7.0000", "volume": None,
                                           "volume_growth": None}
    assert ev["by_product"] == [{"product": "P1", "sales": "300.00", "year_ago": "100.00", "growth": "2.0000"},
                                {"product": "P2", "sales": "500.00", "year_ago": "0.00", "growth": None}]
    assert ev["by_channel"] == [{"channel": "dealer", "sales": "300.00", "year_ago": "100.00", "growth": "2.0000"},
                                {"channel": "retailer", "sales": "500.00", "year_ago": "0.00", "growth": None}]
    assert ev["participants"] == {"total": 2, "new": 1, "returning": 1}
    assert (ev["campaign_cost"], ev["budget_total"], ev["cost_vs_budget"]) == ("108.00", "110.00", "-0.0182")
    assert (ev["incremental_sales"], ev["incremental_margin"], ev["roi"]) == ("700.00", "175.00", "0.6204")

    write_outputs(s, tmp_path / "out", "en")
    book = openpyxl.load_workbook(tmp_path / "out" / "budget.xlsx")
    sheet = book["Evaluation"]
    assert [c.value for c in sheet[1]][:5] == ["Period", "From", "To", "Sales", "Growth"]
    assert len(sheet._charts) == 2 and len(book["Budget"]._charts) == 1


def test_a_baseline_the_ledger_does_not_cover_is_left_out(run_campaign):
    s = run_campaign("- {id: t, type: tiered, tiers: [{from: 0, rate: 1%}]}\n",
                     [order("A1", "C1", "2026-07-05", "300")])
    assert s.evaluation["baselines"]["year_ago"]["covered"] is False
    assert s.evaluation["baselines"]["year_ago"]["growth"] is None and s.evaluation["roi"] is None


def test_a_ledger_starting_15_days_into_a_window_does_not_cover_it(run_campaign):
    rows = [order("Y1", "C1", "2025-07-16", "100"), order("Y2", "C1", "2025-08-20", "100"),
            order("A1", "C1", "2026-07-05", "300")]
    s = run_campaign("- {id: t, type: tiered, tiers: [{from: 0, rate: 1%}]}\n", rows,
                     period=("2026-07-01", "2026-07-31"))
    assert s.evaluation["baselines"]["year_ago"]["covered"] is False         # July 2025 has rows, from the 16th
    rows[0] = order("Y1", "C1", "2025-07-04", "100")
    s = run_campaign("- {id: t, type: tiered, tiers: [{from: 0, rate: 1%}]}\n", rows,
                     period=("2026-07-01", "2026-07-31"))
    assert s.evaluation["baselines"]["year_ago"]["covered"] is True


def test_segments_and_evaluation_count_new_customers_alike(tmp_path):
    write_csv(tmp_path / "purchases.csv", ["order_id", "customer_id", "order_date", "amount"], [
        order("A1", "C1", "2026-07-05", "300"), order("A2", "C2", "2026-07-06", "500"),
        order("A3", "C3", "2026-07-07", "100")])
    write_csv(tmp_path / "payments.csv", PAYMENT_HEADERS, [])
    # the master knows C1 and C2 bought years ago; C3 has no date, and its first row is in the period
    write_csv(tmp_path / "customers.csv", ["客户编号", "首次购买日期"], [
        {"客户编号": "C1", "首次购买日期": "2019-03-01"}, {"客户编号": "C2", "首次购买日期": "2024-11-30"},
        {"客户编号": "C3", "首次购买日期": ""}])
    campaign = write_campaign(tmp_path, "- {id: t, type: tiered, tiers: [{from: 0, rate: 1%}]}\n",
                              period=("2026-07-01", "2026-07-31"),
                              inputs="{purchases: purchases.csv, customers: customers.csv}")
    s = settle(*load(campaign, {}, today=date(2099, 1, 1)))
    assert (s.segments["new"], s.segments["returning"]) == (1, 2)
    assert s.evaluation["participants"] == {"total": 3, "new": 1, "returning": 2}


def test_volume_as_well_as_amount(run_campaign):
    # July 2026: 30 + 50 units (a return of 5) = 75; July 2025: 20 → growth (75 − 20) / 20 = 2.75
    s = run_campaign("- {id: t, type: tiered, tiers: [{from: 0, rate: 1%}]}\n",
                     [order("Y1", "C1", "2025-07-02", "100", quantity="20"), order("Y2", "C1", "2025-07-30", "1"),
                      order("A1", "C1", "2026-07-05", "300", quantity="30"),
                      order("A2", "C2", "2026-07-06", "500", quantity="50"),
                      order("R1", "C2", "2026-07-20", "-50", quantity="-5")],
                     period=("2026-07-01", "2026-07-31"))
    assert s.evaluation["volume"] == "75"
    assert (s.evaluation["baselines"]["year_ago"]["volume"], s.evaluation["baselines"]["year_ago"]["volume_growth"]) == \
        ("20", "2.7500")
