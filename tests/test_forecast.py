"""Forecast by replay, hand-computed.

Last year (2025): C1 buys 60,000 and 40,000 (due 30 days later, paid on time), C2 buys 5,000
(paid late). Replayed one year later with 10% growth: C1 66,000 + 44,000 = 110,000; C2 5,500.
Marginal tiers 0 → 1%, 100,000 → 2%: C1 1,000 + 2% × 10,000 = 1,200; C2 55. On time 0.5% of
C1's 110,000 = 550 (C2 late). Rebate 1,805; budget 1,000 promotion, contingency 10%:
(1,000 + 1,805) × 10% = 280.50; total 3,085.50.
Alternative (whole mode): C1 2% × 110,000 = 2,200; C2 1% × 5,500 = 55; + 550 on time = 2,805;
contingency 380.50; total 4,185.50.
"""

import json

from typer.testing import CliRunner

from promo_cli.cli import app
from tests.conftest import (
    PAYMENT_HEADERS,
    PURCHASE_HEADERS,
    order,
    payment,
    write_campaign,
    write_csv,
)

runner = CliRunner()
POLICIES = """\
- {id: ladder, type: tiered, mode: marginal, tiers: [{from: 0, rate: 1%}, {from: 100000, rate: 2%}]}
- {id: on_time, type: on_time_payment, rate: 0.5%}
"""
BUDGET = "budget: {promotion: {online: 1000}, rebate_estimate: 1500, contingency_rate: 10%}\n"


def setup(tmp_path):
    write_csv(tmp_path / "last.csv", PURCHASE_HEADERS, [
        order("A1", "C1", "2025-08-01", "60000", due_date="2025-08-31"),
        order("A2", "C1", "2025-09-01", "40000", due_date="2025-10-01"),
        order("B1", "C2", "2025-08-05", "5000", due_date="2025-09-04")])
    write_csv(tmp_path / "last_pay.csv", PAYMENT_HEADERS, [
        payment("P1", "A1", "2025-08-20", "20000"), payment("P2", "A1", "2025-08-31", "40000"),
        payment("P3", "A2", "2025-09-15", "40000"), payment("P4", "B1", "2025-09-20", "5000")])
    main = write_campaign(tmp_path, POLICIES)
    main.write_text(main.read_text(encoding="utf-8") + BUDGET, encoding="utf-8")
    other = tmp_path / "whole.yaml"
    other.write_text(main.read_text(encoding="utf-8").replace("id: test", "id: whole")
                     .replace("mode: marginal", "mode: whole"), encoding="utf-8")
    return main, other


def test_forecast_replays_and_compares(tmp_path):
    main, other = setup(tmp_path)
    result = runner.invoke(app, ["forecast", str(main), "--purchases", str(tmp_path / "last.csv"),
                                 "--payments", str(tmp_path / "last_pay.csv"), "--growth", "10%",
                                 "--compare", str(other), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    first, second = data["campaigns"]
    assert (first["shift"], first["participants"], first["sales"]) == ("+1 years", 2, "115500.00")
    assert first["by_policy"] == {"ladder": "1255.00", "on_time": "550.00"}
    assert (first["rebate"], first["contingency"], first["budget_total"]) == ("1805.00", "280.50", "3085.50")
    assert first["planned_budget_total"] == "2750.00"
    assert second["by_policy"] == {"ladder": "2255.00", "on_time": "550.00"}
    assert (second["rebate"], second["budget_total"]) == ("2805.00", "4185.50")


def test_forecast_without_payments_assumes_everything_paid_on_time(tmp_path):
    main, _ = setup(tmp_path)
    result = runner.invoke(app, ["forecast", str(main), "--purchases", str(tmp_path / "last.csv"), "--json"])
    data = json.loads(result.stdout)["campaigns"][0]
    assert data["by_policy"]["on_time"] == "525.00"          # 0.5% × 105,000, growth 0
    assert data["payments"] == "assumed paid in full on the due date"


def test_forecast_table_and_bad_growth(tmp_path):
    main, other = setup(tmp_path)
    result = runner.invoke(app, ["forecast", str(main), "--purchases", str(tmp_path / "last.csv"),
                                 "--compare", str(other), "--lang", "en"], terminal_width=160)
    assert result.exit_code == 0 and "test" in result.output and "whole" in result.output
    assert "3,085.50" not in result.output and "Total budget" in result.output
    assert runner.invoke(app, ["forecast", str(main), "--purchases", "x.csv", "--growth", "lots"]).exit_code == 2
