"""The regime rule at its thresholds, its order, unknown inputs, and the two seeds' volatility gates."""

from __future__ import annotations

import numpy as np

from core.strategy.indicators import Indicators, compute
from core.strategy.regimes import (
    Regime,
    RegimeRule,
    VolSellingGate,
    classify,
    gate_agreement,
    short_vol_allowed,
)
from sim.market.replay import load_daily, load_vix


def indicators(**values):
    """One bar per value in each list; unnamed indicators neutral (RSI 50, flat, Bollinger at its average)."""
    n = len(next(iter(values.values())))
    neutral = {"rsi": 50.0, "bbw_ratio": 1.0, "trend_slope": 0.0, "ma_state": 0.0, "iv_rank": np.nan,
               "iv_percentile": np.nan}
    fields = {name: np.full(n, np.nan) for name in Indicators._fields}
    fields.update({name: np.full(n, value) for name, value in neutral.items()})
    fields.update({name: np.asarray(v, float) for name, v in values.items()})
    return Indicators(**fields)


def test_each_regime_at_its_threshold():
    rule = RegimeRule()
    got = classify(indicators(rsi=[50, 30, 70, 31, 50, 50, 50],
                              bbw_ratio=[1.0, 1.0, 1.0, 1.0, 1.8, 1.0, 1.0],
                              trend_slope=[0, 0, 0, 0, 0, 0.0015, -0.0015],
                              ma_state=[0, 0, 0, 0, 0, 1, -1]), rule).regime
    assert [Regime(r) for r in got] == [Regime.RANGE_BOUND, Regime.MEAN_REVERSION, Regime.MEAN_REVERSION,
                                        Regime.RANGE_BOUND, Regime.CAUTION, Regime.TREND, Regime.TREND]


def test_order_caution_before_trend_before_mean_reversion_and_a_slope_against_the_averages_is_no_trend():
    got = classify(indicators(rsi=[20, 20, 20], bbw_ratio=[2.0, 1.0, 1.0], trend_slope=[0.01, 0.01, 0.01],
                              ma_state=[1, 1, -1])).regime
    assert [Regime(r) for r in got] == [Regime.CAUTION, Regime.TREND, Regime.MEAN_REVERSION]


def test_vix_at_its_caution_level_is_caution_even_without_the_other_indicators():
    got = classify(indicators(rsi=[np.nan, np.nan, 50]), vix=[30.0, 29.9, 30.0])
    assert [Regime(r) for r in got.regime] == [Regime.CAUTION, Regime.NO_SIGNAL, Regime.CAUTION]
    assert "rsi" in got.reason[1] and got.reason[0] == ""


def test_unknown_indicators_are_no_signal_with_the_missing_one_named():
    got = classify(indicators(rsi=[50, 50], bbw_ratio=[np.nan, 1.0], trend_slope=[0, np.nan]))
    assert list(got.regime) == [Regime.NO_SIGNAL, Regime.NO_SIGNAL]
    assert got.reason[0].startswith("bbw_ratio") and got.reason[1].startswith("trend_slope")


def test_the_seeds_volatility_gates_at_their_thresholds():
    values = indicators(rsi=[50] * 4, iv_rank=[20, 19.9, 50, 50], iv_percentile=[35, 34.9, 14.9, 15])
    seed002 = short_vol_allowed(values, VolSellingGate("iv_rank_vix"), vix=[25, 20, 25.1, np.nan])
    assert list(seed002) == [True, False, False, False]
    seed003 = VolSellingGate("iv_percentile")
    assert list(short_vol_allowed(values, seed003)) == [False, True, True, True]
    assert list(short_vol_allowed(values, seed003, naked=True)) == [False, False, True, False]


def test_on_the_real_vix_history_the_two_gates_pick_mostly_different_days():
    bars = load_daily("SPY")
    vix = load_vix().reindex(bars.index).to_numpy()
    values = compute(bars.high, bars.low, bars.close, vix / 100)
    seed002 = short_vol_allowed(values, VolSellingGate("iv_rank_vix"), vix)
    seed003 = short_vol_allowed(values, VolSellingGate("iv_percentile"))
    known = np.isfinite(values.iv_rank) & np.isfinite(values.iv_percentile) & np.isfinite(vix)
    agreement = gate_agreement(seed002, seed003, known)
    assert agreement.days > 5000 and 0.2 < agreement.first_share < 0.5 and 0.3 < agreement.second_share < 0.6
    assert agreement.jaccard < 0.15
