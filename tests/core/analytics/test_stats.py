import numpy as np
import pytest

from core.analytics import stats


def test_var_and_cvar_of_a_known_distribution():
    pnl = np.arange(-50.0, 50.0)          # 100 outcomes: -50 .. 49
    assert stats.value_at_risk_usd(pnl, 0.95) == 46.0       # the 5th worst of 100 paths
    assert stats.conditional_value_at_risk_usd(pnl, 0.95) == pytest.approx(np.mean([50, 49, 48, 47, 46]))
    assert stats.value_at_risk_usd(pnl, 0.99) == 50.0
    assert stats.conditional_value_at_risk_usd(pnl, 0.99) == 50.0
    assert stats.probability_of_loss(pnl) == 0.5


def test_cvar_is_never_below_var_and_both_ignore_order():
    rng = np.random.default_rng(1)
    pnl = rng.normal(10, 100, 5000)
    for level in (0.95, 0.99):
        assert stats.conditional_value_at_risk_usd(pnl, level) >= stats.value_at_risk_usd(pnl, level)
        assert stats.value_at_risk_usd(pnl[::-1], level) == stats.value_at_risk_usd(pnl, level)


def test_drawdown_counts_from_a_flat_start_per_path():
    equity = np.array([[0, 10, 4, 12, 3], [0, -5, -2, -8, 1], [0, 1, 2, 3, 4]], dtype=float)
    assert stats.max_drawdown_usd(equity).tolist() == [9.0, 8.0, 0.0]


def test_nan_outcomes_are_refused_not_averaged():
    with pytest.raises(ValueError, match="pnl_usd"):
        stats.value_at_risk_usd(np.array([1.0, np.nan]), 0.95)


def test_bootstrap_interval_contains_the_mean_and_narrows_with_more_paths():
    rng = np.random.default_rng(0)
    small = stats.bootstrap_ci(rng.normal(5, 50, 100), 1000, 0)
    large = stats.bootstrap_ci(rng.normal(5, 50, 10_000), 1000, 0)
    assert small[1] < small[0] < small[2] and large[1] < large[0] < large[2]
    assert large[2] - large[1] < (small[2] - small[1]) / 5


def test_fan_bands_are_ordered():
    rng = np.random.default_rng(2)
    bands = stats.equity_quantiles_usd(rng.normal(0, 1, (200, 6)).cumsum(axis=1), (0.05, 0.5, 0.95))
    assert bands.shape == (3, 6) and (np.diff(bands, axis=0) >= 0).all()
