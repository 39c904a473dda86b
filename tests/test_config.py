"""The campaign file: every mistake names its key path and line; numbers stay exact."""

from decimal import Decimal
from pathlib import Path

from datetime import date
import pytest

from promo_cli.config import load_campaign
from promo_cli.messages import message

GOOD = Path(__file__).resolve().parents[1] / "policies" / "factory_rebate.yaml"


def load_text(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return load_campaign(path)


BASE = """\
campaign:
  id: t
  period: {start: 2026-07-01, end: 2026-12-31}
policies:
  - id: ladder
    type: tiered
    tiers:
      - {from: 0, rate: 1%}
      - {from: 100000, rate: 0.025}
"""


def test_the_sample_campaign_loads_exactly():
    campaign, sha, findings = load_campaign(GOOD)
    assert findings == [] and len(sha) == 64
    ladder, on_time, group = campaign.policies
    assert [t.rate for t in ladder.tiers] == [Decimal("0.01"), Decimal("0.02"), Decimal("0.03")]
    assert on_time.rate == Decimal("0.005")
    assert campaign.budget.contingency_rate == Decimal("0.05")


def test_rates_written_as_decimals_are_exact(tmp_path):
    campaign, _, findings = load_text(tmp_path, BASE)
    assert findings == []
    assert campaign.policies[0].tiers[1].rate == Decimal("0.025")  # not 0.025000000000000001


@pytest.mark.parametrize("old, new, code, key, line", [
    ("    type: tiered\n", "    type: tiered\n    modus: whole\n", "campaign-unknown-key", "policies[0].modus", 7),
    ("  id: t\n", "", "campaign-missing-key", "campaign.id", 1),
    ("{from: 100000, rate: 0.025}", "{from: 100000, rate: 2x%}", "campaign-invalid", "policies[0].tiers[1].rate", 9),
    ("{from: 100000, rate: 0.025}", "{from: 100000, rate: 150%}", "campaign-invalid", "policies[0].tiers[1].rate", 9),
    ("{from: 100000, rate: 0.025}", "{from: 0, rate: 2%}", "campaign-invalid", "policies[0].tiers", 7),
    ("{from: 0, rate: 1%}", "{from: 10, rate: 1%}", "campaign-invalid", "policies[0].tiers", 7),
    ("    type: tiered\n", "    type: tiered\n    rates_by: sku\n", "campaign-invalid", "policies[0].rates_by", 7),
    ("    type: tiered\n", "    type: tierd\n", "campaign-invalid", "policies[0].type", 6),
    ("end: 2026-12-31", "end: 2026-06-30", "campaign-invalid", "campaign.period", 3),
    ("  id: t\n", "  id: t\n  id: u\n", "campaign-duplicate-key", "campaign.id", 3),
])
def test_each_mistake_names_key_and_line(tmp_path, old, new, code, key, line):
    assert old in BASE
    campaign, _, findings = load_text(tmp_path, BASE.replace(old, new))
    assert campaign is None
    assert [(f.code, dict(f.params)["key"], f.row) for f in findings] == [(code, key, line)]
    assert findings[0].blocking and findings[0].file.endswith("c.yaml")
    assert key in message(findings[0], "en")


def test_yaml_syntax_error_has_a_line(tmp_path):
    campaign, _, [f] = load_text(tmp_path, BASE + "  - id: [oops\n")
    assert (campaign, f.code, f.row) == (None, "campaign-yaml", 11)


def test_unsafe_yaml_is_refused(tmp_path):
    campaign, _, [f] = load_text(tmp_path, "!!python/object/apply:os.system ['echo hi']\n")
    assert campaign is None and f.code == "campaign-yaml"


def test_several_mistakes_are_reported_together(tmp_path):
    text = BASE.replace("  id: t\n", "").replace("rate: 1%", "rate: lots")
    _, _, findings = load_text(tmp_path, text)
    assert sorted(dict(f.params)["key"] for f in findings) == ["campaign.id", "policies[0].tiers[0].rate"]


def test_an_empty_campaign_file(tmp_path):
    campaign, _, [f] = load_text(tmp_path, "# nothing yet\n")
    assert (campaign, f.code, f.blocking) == (None, "campaign-empty", True)


def test_a_policy_without_its_ledger(tmp_path):
    from promo_cli.engine import load

    path = tmp_path / "c.yaml"
    path.write_text(BASE.replace("    type: tiered", "    type: tiered").replace(
        "policies:", "policies:\n  - {id: ot, type: on_time_payment, rate: 1%}"), encoding="utf-8")
    loaded, findings = load(path, {}, today=date(2099, 1, 1))
    assert loaded is None
    assert sorted((f.code, dict(f.params)["role"]) for f in findings) == [("input-missing", "payments"),
                                                                          ("input-missing", "purchases")]
