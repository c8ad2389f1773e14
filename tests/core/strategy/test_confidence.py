"""The fuzzy layer: membership shapes at their break points, the rules' bias, confidence's factors."""

from __future__ import annotations

import numpy as np
import pytest

from core.strategy.confidence import FuzzySets, delta_skew, fuzzy_verdicts, size_multiplier, trapezoid
from core.strategy.regimes import Regime
from tests.core.strategy.test_regimes import indicators


def test_a_trapezoid_at_its_break_points_and_between():
    x = [-1, 0, 5, 10, 15, 20, 25, 30, 31]
    assert trapezoid(x, 0, 10, 20, 30).tolist() == [0, 0, 0.5, 1, 1, 1, 0.5, 0, 0]
    assert trapezoid([30, 40, 50, 60, 70], 30, 50, 50, 70).tolist() == [0, 0.5, 1, 0.5, 0]       # a triangle
    assert trapezoid([0, 20, 30, 40], 0, 0, 20, 40).tolist() == [1, 1, 0.5, 0]                   # a left shoulder
    assert np.isnan(trapezoid([np.nan], 0, 1, 2, 3)[0])


@pytest.mark.parametrize("name, points, expected", [
    ("vol_low", [0, 20, 30, 40], [1, 1, 0.5, 0]),
    ("vol_high", [60, 70, 80, 100], [0, 0.5, 1, 1]),
    ("oversold", [30, 37.5, 45], [1, 0.5, 0]),
    ("overbought", [55, 62.5, 70], [0, 0.5, 1]),
    ("neutral", [30, 40, 50, 60, 70], [0, 0.5, 1, 0.5, 0]),
])
def test_the_default_sets_at_their_break_points(name, points, expected):
    assert trapezoid(points, *getattr(FuzzySets(), name)).tolist() == expected


def test_bias_follows_the_trend_and_fades_extremes_when_flat():
    threshold = 0.0015
    values = indicators(rsi=[50, 50, 20, 80, 50], trend_slope=[0.003, -0.003, 0, 0, 0],
                        ma_state=[1, -1, 0, 0, 0], iv_rank=[30] * 5)
    regime = np.array([Regime.TREND, Regime.TREND, Regime.MEAN_REVERSION, Regime.MEAN_REVERSION,
                       Regime.RANGE_BOUND])
    got = fuzzy_verdicts(values, regime, threshold)
    assert got.bias.tolist() == [1, -1, 1, -1, 0]
    assert got.bias_score.tolist() == [1.0, -1.0, 1.0, -1.0, 0.0]
    assert got.confidence.tolist() == pytest.approx([0.9, 0.9, 0.8, 0.8, 1.0])


def test_confidence_falls_with_high_volatility_caution_and_unknown_inputs():
    values = indicators(rsi=[50, 50, 50, np.nan], trend_slope=[0, 0, 0, 0], iv_rank=[30, 90, 30, 30])
    regime = np.array([Regime.RANGE_BOUND, Regime.RANGE_BOUND, Regime.CAUTION, Regime.RANGE_BOUND])
    got = fuzzy_verdicts(values, regime, 0.0015)
    assert got.confidence.tolist() == pytest.approx([1.0, 0.5, 0.3, 0.0])


def test_skew_and_size_from_the_verdicts():
    assert delta_skew([-1, 0, 0.5]).tolist() == pytest.approx([-0.05, 0, 0.025])
    assert size_multiplier([0, 0.5, 1]).tolist() == pytest.approx([0, 0.625, 1.0])
