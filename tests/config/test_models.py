import pytest
from pydantic import ValidationError

from config import (
    ExecutorConfig,
    RouterRiskConfig,
    RoutingPreferences,
    SessionConfig,
    SizingParameters,
    TimingParameters,
)


def test_defaults_are_the_seeds():
    timing, sizing, executor = TimingParameters(), SizingParameters(), ExecutorConfig()
    assert (timing.cancel_after_seconds, timing.min_delay_between_attempts, timing.max_delay_between_attempts) == (
        2.5,
        3.0,
        15.0,
    )
    assert (timing.open_auction_delay_multiplier, timing.close_auction_delay_multiplier) == (2.0, 1.5)
    assert timing.low_fill_rate_pause_seconds == 60.0
    assert (sizing.max_contracts, executor.min_fill_rate) == (10, 0.25)
    assert 50 <= RouterRiskConfig().max_partial_exposure_ms <= 500


def test_seed_advanced_configuration_constructs():
    TimingParameters(cancel_after_seconds=2.0, min_delay_between_attempts=5.0, max_delay_between_attempts=20.0,
                     random_delay_factor=0.4, open_auction_delay_multiplier=3.0, close_auction_delay_multiplier=2.0)
    SizingParameters(min_contracts=1, max_contracts=20, current_contracts=1, target_fill_rate=0.40,
                     size_increase_threshold=0.60, size_decrease_threshold=0.20)
    assert ExecutorConfig(optimal_expiry_range=(30, 180)).optimal_expiry_range == (30, 180)


def test_frozen_and_strict():
    timing = TimingParameters()
    with pytest.raises(ValidationError):
        timing.cancel_after_seconds = 1.0
    with pytest.raises(ValidationError, match="extra_forbidden|Extra inputs"):
        TimingParameters(cancel_after_secs=1.0)
    with pytest.raises(ValidationError):
        TimingParameters(cancel_after_seconds="2.5")


@pytest.mark.parametrize(
    "model, kwargs, fragment",
    [
        (
            TimingParameters,
            dict(min_delay_between_attempts=20.0, max_delay_between_attempts=5.0),
            "min_delay_between_attempts: must be <= max_delay_between_attempts",
        ),
        (
            SizingParameters,
            dict(min_contracts=5, max_contracts=2, current_contracts=2),
            "min_contracts: must be <= max_contracts",
        ),
        (SizingParameters, dict(current_contracts=50), "current_contracts: must lie within"),
        (RoutingPreferences, dict(reprice_ladder_per_share=(0.05, 0.01)), "reprice_ladder_per_share"),
        (RoutingPreferences, dict(fallbacks=("hedge_delta",)), "hedge_delta needs hedge_with_underlying"),
        (RouterRiskConfig, dict(max_partial_exposure_ms=20), "greater than or equal to 50"),
        (
            RouterRiskConfig,
            dict(max_slippage_per_leg_per_share=0.2, max_slippage_per_structure_per_share=0.1),
            "max_slippage_per_structure_per_share: must be >=",
        ),
    ],
)
def test_rules_between_fields_name_the_field(model, kwargs, fragment):
    with pytest.raises(ValidationError, match=fragment.replace("(", r"\(")):
        model.model_validate(kwargs, strict=False)


def test_config_id_is_a_content_hash():
    a, b = SessionConfig(), SessionConfig()
    assert a.config_id == b.config_id and len(a.config_id) == 16
    changed = SessionConfig(timing=TimingParameters(cancel_after_seconds=2.0))
    assert changed.config_id != a.config_id
    assert TimingParameters().config_id != SizingParameters().config_id
