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
