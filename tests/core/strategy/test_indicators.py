"""Each indicator against an independent computation written from its definition, on real SPY daily bars
(data/spy_daily_raw_unadjusted_lean.csv, 1998-2021) and VIX; conventions: Wilder smoothing for RSI and ATR,
population deviation for Bollinger bands, sample deviation for realized volatility."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.strategy import indicators as ind
from sim.market.replay import load_daily, load_vix

N = 600


@pytest.fixture(scope="module")
def bars():
    return load_daily("SPY").iloc[-N:]


@pytest.fixture(scope="module")
def vix(bars):
    return (load_vix().reindex(load_daily("SPY").index) / 100).iloc[-N:].to_numpy()


def wilder(values, period):
    """Wilder's average: the simple mean of the first `period` values, then avg += (x - avg) / period."""
    out = [math.nan] * len(values)
    average = sum(values[:period]) / period
    out[period - 1] = average
    for i in range(period, len(values)):
        average += (values[i] - average) / period
        out[i] = average
    return out


def test_rsi_is_wilders(bars):
    close = bars.close.tolist()
    changes = [b - a for a, b in zip(close, close[1:])]
    gains = wilder([max(c, 0.0) for c in changes], 14)
    losses = wilder([max(-c, 0.0) for c in changes], 14)
    expected = [math.nan] + [100.0 * g / (g + l) if g + l else 50.0 for g, l in zip(gains, losses)]
    np.testing.assert_allclose(ind.rsi(bars.close, 14)[20:], expected[20:], rtol=1e-9)


def test_atr_is_wilders_average_true_range(bars):
    high, low, close = bars.high.tolist(), bars.low.tolist(), bars.close.tolist()
    true_range = [max(h - l, abs(h - c0), abs(l - c0)) for h, l, c0 in zip(high[1:], low[1:], close)]
    expected = [math.nan] + wilder(true_range, 14)
    np.testing.assert_allclose(ind.atr(bars.high, bars.low, bars.close, 14)[20:], expected[20:], rtol=1e-9)


def test_bollinger_width_uses_the_population_deviation(bars):
    close = bars.close.to_numpy()
    expected = [4 * np.std(close[i - 19:i + 1], ddof=0) / np.mean(close[i - 19:i + 1]) for i in range(19, N)]
    np.testing.assert_allclose(ind.bollinger_width(close, 20, 2.0)[19:], expected, rtol=1e-7)
    ratio = ind.ratio_to_average(ind.bollinger_width(close), 50)
    width = ind.bollinger_width(close)
    assert ratio[-1] == pytest.approx(width[-1] / np.mean(width[-50:]))


def test_trend_slope_is_the_least_squares_slope_over_the_price(bars):
    close = bars.close.to_numpy()
    expected = [np.polyfit(np.arange(20), close[i - 19:i + 1], 1)[0] / close[i] for i in range(19, N)]
    np.testing.assert_allclose(ind.trend_slope(close, 20)[19:], expected, rtol=1e-6, atol=1e-12)


def test_realized_vol_is_the_annualized_sample_deviation_of_log_returns(bars):
    close = bars.close.to_numpy()
    returns = np.log(close[1:] / close[:-1])
    expected = [np.std(returns[i - 20:i], ddof=1) * math.sqrt(252) for i in range(20, N)]
    np.testing.assert_allclose(ind.realized_vol(close, 20)[20:], expected, rtol=1e-9)


def test_iv_rank_and_percentile_over_a_year_of_vix(vix):
    window = 252
    rank = ind.iv_rank(vix, window)
    percentile = ind.iv_percentile(vix, window)
    for i in (window, 400, N - 1):
        year = vix[i - window + 1:i + 1]
        assert rank[i] == pytest.approx(100 * (vix[i] - year.min()) / (year.max() - year.min()))
        before = vix[i - window:i]
        assert percentile[i] == pytest.approx(100 * np.mean(before < vix[i]))
    assert np.isnan(rank[:window - 1]).all() and np.isnan(percentile[:window]).all()


def test_a_gap_in_the_bars_costs_only_the_windows_that_include_it(bars):
    """TA-Lib alone carries one NaN close into every later value; here a gap costs its windows only."""
    close = bars.close.to_numpy().copy()
    close[300] = np.nan
    for values, window in ((ind.rsi(close, 14), 15), (ind.sma(close, 20), 20),
                           (ind.bollinger_width(close, 20), 20), (ind.trend_slope(close, 20), 20)):
        assert np.isnan(values[300]) and np.isfinite(values[300 + window + 1:]).all()


def test_compute_gives_every_indicator_the_bars_length(bars, vix):
    indicators = ind.compute(bars.high, bars.low, bars.close, vix)
    assert all(len(series) == N for series in indicators)
    assert indicators.iv_minus_rv[-1] == pytest.approx(vix[-1] - indicators.realized_vol[-1])
    assert set(np.unique(indicators.ma_state)) <= {-1.0, 0.0, 1.0}
    assert np.isnan(ind.compute(bars.high, bars.low, bars.close).iv_rank).all()
