"""Each structure alone against the routed strategy: one backtest a variant on the same real SPX week, the
comparison's figures read back from each variant's own summary."""

from __future__ import annotations

import json

import pandas as pd

from config import load_profile
from supervisors.batch.strategies import compare_structures, variant_config

WEEK = {"SPREADWRIGHT__BACKTEST__DAY": "2019-05-13", "SPREADWRIGHT__BACKTEST__END": "2019-05-24",
        "SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "300"}


def test_a_fixed_variant_routes_every_regime_to_its_structure_alone():
    config = load_profile("config/profiles/strategy.yaml")
    fixed = variant_config(config, "jade_lizard")
    rule = fixed.strategist.routing_rule()
    assert {steps[0].structure.value for steps in rule.table.values()} == {"jade_lizard"}
    assert {kind.value for kind in rule.enabled} == {"jade_lizard"}
    assert variant_config(config, "routed").strategist.routing == config.strategist.routing


def test_the_comparison_runs_each_variant_and_agrees_with_its_summary(tmp_path):
    config = load_profile("config/profiles/strategy.yaml", env=WEEK)
    table = compare_structures(config, tmp_path, workers=1, variants=("routed", "iron_condor", "strangle"))
    assert list(table.variant) == ["routed", "iron_condor", "strangle"]
    for row in table.to_dict("records"):
        summary = json.loads((tmp_path / row["variant"] / "summary.json").read_text())
        assert row["trades"] == summary["structure_trades"]["all"]["trades"]
        assert row["book_pnl_usd"] == summary["pnl"]["total_usd"]
        assert row["not_closed"] == summary["structure_trades"]["not_closed"]["trips"]
        trips = tmp_path / row["variant"] / "structure_trips.csv"
        if row["trades"]:
            structures = set(pd.read_csv(trips).structure)
            assert row["variant"] == "routed" or structures == {row["variant"]}
    assert (tmp_path / "comparison.md").read_text().count("\n| ") == 4          # header + three variants
