import numpy as np
import pytest

from sim.market.paths import (
    MINUTE_YEARS,
    REGIMES,
    RegimeModel,
    gbm_paths,
    merton_jump_paths,
    realized_vol,
    regime_switching_paths,
)


def test_gbm_is_seeded_and_has_the_right_vol_and_drift():
    a = gbm_paths(100.0, 0.05, 0.2, 4000, 390, MINUTE_YEARS, np.random.default_rng(1))
    b = gbm_paths(100.0, 0.05, 0.2, 4000, 390, MINUTE_YEARS, np.random.default_rng(1))
    assert np.array_equal(a, b) and a.shape == (4000, 391) and np.all(a[:, 0] == 100.0)
    assert realized_vol(a, MINUTE_YEARS).mean() == pytest.approx(0.2, rel=0.01)


def test_merton_drift_is_compensated():
    paths = merton_jump_paths(100.0, 0.0, 0.15, 50.0, -0.03, 0.04, 20000, 390, MINUTE_YEARS * 10,
                              np.random.default_rng(2))
    assert paths[:, -1].mean() == pytest.approx(100.0, rel=0.003)
    log_returns = np.diff(np.log(paths), axis=1).ravel()
    assert ((log_returns - log_returns.mean()) ** 4).mean() / log_returns.var() ** 2 > 4   # fat tails


def test_regimes_are_labelled_and_set_the_vol():
    model = RegimeModel()
    prices, regimes = regime_switching_paths(100.0, 0.0, model, 300, 390 * 10, MINUTE_YEARS, np.random.default_rng(3))
    assert prices.shape == regimes.shape and set(np.unique(regimes)) <= {0, 1, 2}
    assert len(REGIMES) == 3
    log_returns = np.diff(np.log(prices), axis=1)
    for index, vol in enumerate(model.vols):
        in_regime = regimes[:, :-1] == index
        if in_regime.sum() > 10_000:
            assert log_returns[in_regime].std() / np.sqrt(MINUTE_YEARS) == pytest.approx(vol, rel=0.05)


def test_transition_matrix_rows_sum_to_one():
    matrix = RegimeModel().transition_matrix(MINUTE_YEARS)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)


def test_market_regime_bars_are_labelled_and_each_regime_moves_as_described():
    """Trends drift, caution is wild, ranges stay near where they began; VIX comes from the path alone."""
    from sim.market.paths import MarketRegimeModel, market_regime_bars

    model = MarketRegimeModel()
    bars = market_regime_bars(model, 60, 400, np.random.default_rng(2))
    label, close = bars["label"], bars["close"]
    assert label.shape == close.shape == (60, 400) and set(np.unique(label)) == {0, 1, 2, 3}
    assert np.all(bars["high"] >= np.maximum(bars["open"], close) - 1e-12)
    assert np.all(bars["low"] <= np.minimum(bars["open"], close) + 1e-12)
    returns = np.diff(np.log(close), axis=1)
    day_label = label[:, 1:]
    daily_vol = {r: returns[day_label == r].std() * np.sqrt(252) for r in range(4)}
    assert daily_vol[3] > 2 * daily_vol[0]
    assert np.mean(bars["vix"][label == 3]) > np.mean(bars["vix"][label == 0]) + 10
    same = market_regime_bars(model, 60, 400, np.random.default_rng(2))
    assert np.array_equal(same["close"], close)
