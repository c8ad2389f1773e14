"""The strategist's settings fail at load with the field, and turn into the pure layer's settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config import load_profile
from config.base import ConfigError
from config.strategist import StrategistConfig


@pytest.mark.parametrize("variable, value, field", [
    ("SPREADWRIGHT__STRATEGIST__REGIME__RSI_LOW", "80", "strategist.regime.rsi_low"),
    ("SPREADWRIGHT__STRATEGIST__INDICATORS__FAST_MA", "60", "strategist.indicators.fast_ma"),
    ("SPREADWRIGHT__STRATEGIST__CONSENSUS__WEIGHTS", '{"5m": 0}', "strategist.consensus.weights"),
    ("SPREADWRIGHT__STRATEGIST__VOL_GATE__KIND", "both", "strategist.vol_gate.kind"),
])
def test_a_bad_strategist_setting_names_its_field_and_variable(variable, value, field):
    with pytest.raises(ConfigError) as error:
        load_profile("backtest", env={variable: value})
    assert field in str(error.value) and variable in str(error.value)


def test_the_settings_reach_the_pure_layer():
    config = StrategistConfig.model_validate({"regime": {"caution_vix": 35}, "vol_gate": {"kind": "iv_percentile"},
                                              "consensus": {"weights": {"60m": 2, "1d": 1}}})
    assert config.regime.settings().caution_vix == 35 and config.vol_gate.settings().kind == "iv_percentile"
    assert config.consensus.settings().weights == (("60m", 2.0), ("1d", 1.0))


def test_a_blackout_for_a_release_kind_the_calendar_does_not_have_fails_at_load_naming_it():
    with pytest.raises(ValidationError) as error:
        StrategistConfig(blackouts={"cpi": {"before_s": 60, "after_s": 60}})
    assert "blackouts.cpi" in str(error.value)
    assert StrategistConfig(blackouts={"FOMC": {"before_s": 60, "after_s": 60}}).blackouts_by_kind() == {
        "FOMC": (60.0, 60.0)}


@pytest.mark.parametrize("variable, value, field", [
    ("SPREADWRIGHT__STRATEGIST__STRUCTURES", '{"strangle": {"short_delta": 0.5}}', "strategist.structures.strangle"),
    ("SPREADWRIGHT__STRATEGIST__STRUCTURES", '{"strangel": {}}', "strategist.structures.strangel"),
    ("SPREADWRIGHT__STRATEGIST__ROUTING__TABLE", '{"TREND": [{"structure": "condor"}]}',
     "strategist.routing.table.TREND.0.structure"),
    ("SPREADWRIGHT__STRATEGIST__ROUTING__TABLE", '{"TREND": [{"structure": "strangle", "rsi_within": [70, 30]}]}',
     "strategist.routing.table.TREND.0.rsi_within"),
    ("SPREADWRIGHT__STRATEGIST__ROUTING__ENABLED", '["iron_condor", "straddle"]', "strategist.routing.enabled"),
])
def test_a_bad_routing_or_structure_setting_names_its_field(variable, value, field):
    with pytest.raises(ConfigError) as error:
        load_profile("backtest", env={variable: value})
    assert field in str(error.value) and variable in str(error.value)


def test_routing_and_structure_settings_reach_the_pure_layer():
    from core.structures import StructureKind
    config = load_profile("backtest", env={
        "SPREADWRIGHT__STRATEGIST__ROUTING__TABLE": '{"RANGE_BOUND": [{"structure": "iron_condor", '
                                                    '"rsi_within": [40, 60]}]}',
        "SPREADWRIGHT__STRATEGIST__STRUCTURES": '{"iron_condor": {"short_delta": 0.16, "wing_pct_of_spot": 1.5}}'})
    rule = config.strategist.routing_rule()
    assert rule.table == {"RANGE_BOUND": (rule.table["RANGE_BOUND"][0],)}
    assert rule.table["RANGE_BOUND"][0].rsi_within == (40.0, 60.0)
    spec = config.strategist.structure_specs()[StructureKind.IRON_CONDOR]
    assert spec.short_delta == 0.16 and spec.wing_pct_of_spot == 1.5 and spec.delta_min == 0.10
    assert StrategistConfig().routing_rule().table["CAUTION"][0].structure is StructureKind.JADE_LIZARD


def test_exit_and_trailing_rules_are_laid_over_seed_003s_per_style():
    from config.strategist import DeskConfig
    from core.exits.rules import SEED_003_RULES

    desk = DeskConfig.model_validate_json('{"exit_rules_by_style": {"SHORT_VOL": {"trailing_threshold": 0.3, '
                                          '"bbw_lock_fraction": 0.8}}, "time_exit_dte": 10}')
    rules = desk.exit_rules()
    assert rules["SHORT_VOL"] == SEED_003_RULES["SHORT_VOL"]._replace(trailing_threshold=0.3, bbw_lock_fraction=0.8,
                                                                      time_exit_dte=10.0)
    assert rules["DIRECTIONAL"] == SEED_003_RULES["DIRECTIONAL"]._replace(time_exit_dte=10.0)
    with pytest.raises(ValidationError, match="trailing_threshold"):
        DeskConfig.model_validate_json('{"exit_rules_by_style": {"SHORT_VOL": {"trailing_threshold": 1.5}}}')
