"""Fuzzy confidence and bias (seed 002's fuzzy engine), plain numpy, vectorized over bars.

Membership functions are trapezoids `trapezoid(x, a, b, c, d)`: 0 at or below a, rising linearly to 1 at b, 1 up
to c, falling to 0 at d (a triangle when b == c; a shoulder when a == b or c == d). The sets (break points in
`FuzzySets`, all settings):

- volatility, on IV rank in percent: LOW (0, 0, 20, 40), HIGH (60, 80, 100, 100);
- trend, on the close's slope over the TREND threshold (1.0 = the slope that makes a TREND): DOWN
  (-inf, -inf, -1, 0), FLAT (-1, 0, 0, 1), UP (0, 1, inf, inf);
- momentum, on RSI: OVERSOLD (0, 0, 30, 45), NEUTRAL (30, 50, 50, 70), OVERBOUGHT (55, 70, 100, 100).

Rules (zero-order Sugeno, a rule's strength the minimum of its memberships): UP -> +1; DOWN -> -1; FLAT and
OVERSOLD -> +1 (reversion up); FLAT and OVERBOUGHT -> -1; FLAT and NEUTRAL -> 0. Bias score = the strengths'
weighted mean of those outputs, in [-1, 1]; bullish above `bias_threshold`, bearish below its negative, else
neutral. Confidence in [0, 1] = the strongest rule's strength (how clearly one pattern holds) x the regime's
factor (`regime_factors`) x (1 - `high_vol_discount` x HIGH volatility's membership); NO_SIGNAL bars have 0.
The bias skews the structures' deltas (`delta_skew`), the confidence scales their size (`size_multiplier`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from core.strategy.indicators import Indicators
from core.strategy.regimes import Regime


def trapezoid(x, a: float, b: float, c: float, d: float) -> np.ndarray:
    """Membership of `x` in the trapezoid (a, b, c, d); NaN where x is NaN."""
    x = np.asarray(x, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rising = np.where(b > a, (x - a) / (b - a), np.where(x >= b, 1.0, 0.0))
        falling = np.where(d > c, (d - x) / (d - c), np.where(x <= c, 1.0, 0.0))
    out = np.clip(np.minimum(rising, falling), 0.0, 1.0)
    return np.where(np.isnan(x), np.nan, out)


_INF = float("inf")


class FuzzySets(NamedTuple):
    vol_low: tuple[float, float, float, float] = (0.0, 0.0, 20.0, 40.0)
    vol_high: tuple[float, float, float, float] = (60.0, 80.0, 100.0, 100.0)
    trend_down: tuple[float, float, float, float] = (-_INF, -_INF, -1.0, 0.0)
    trend_flat: tuple[float, float, float, float] = (-1.0, 0.0, 0.0, 1.0)
    trend_up: tuple[float, float, float, float] = (0.0, 1.0, _INF, _INF)
    oversold: tuple[float, float, float, float] = (0.0, 0.0, 30.0, 45.0)
    neutral: tuple[float, float, float, float] = (30.0, 50.0, 50.0, 70.0)
    overbought: tuple[float, float, float, float] = (55.0, 70.0, 100.0, 100.0)
    bias_threshold: float = 0.2
    high_vol_discount: float = 0.5
    regime_factors: tuple[tuple[int, float], ...] = ((Regime.RANGE_BOUND, 1.0), (Regime.MEAN_REVERSION, 0.8),
                                                     (Regime.TREND, 0.9), (Regime.CAUTION, 0.3))


class Verdicts(NamedTuple):
    """Per bar: confidence in [0, 1], bias score in [-1, 1] and its label (+1 bullish, 0 neutral, -1 bearish)."""

    confidence: np.ndarray
    bias_score: np.ndarray
    bias: np.ndarray


def _shoulder(x: np.ndarray, sets: tuple[float, float, float, float]) -> np.ndarray:
    """`trapezoid` with infinite break points as open shoulders."""
    a, b, c, d = sets
    if a == -_INF:
        return trapezoid(x, -1e300, -1e300, c, d)
    if d == _INF:
        return trapezoid(x, a, b, 1e300, 1e300)
    return trapezoid(x, a, b, c, d)


def fuzzy_verdicts(indicators: Indicators, regime: np.ndarray, trend_slope_per_bar: float,
                   sets: FuzzySets = FuzzySets()) -> Verdicts:
    """Confidence and bias per bar by the rules in the module docstring."""
    trend = indicators.trend_slope / trend_slope_per_bar
    down, flat, up = (_shoulder(trend, s) for s in (sets.trend_down, sets.trend_flat, sets.trend_up))
    oversold, neutral, overbought = (_shoulder(indicators.rsi, s) for s in (sets.oversold, sets.neutral,
                                                                            sets.overbought))
    strengths = np.stack([up, down, np.minimum(flat, oversold), np.minimum(flat, overbought),
                          np.minimum(flat, neutral)])
    outputs = np.array([1.0, -1.0, 1.0, -1.0, 0.0])[:, None]
    total = np.nansum(strengths, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(total > 0, np.nansum(strengths * outputs, axis=0) / total, 0.0)
    factor = np.zeros(regime.size)
    for value, weight in sets.regime_factors:
        factor[regime == value] = weight
    high_vol = np.nan_to_num(_shoulder(indicators.iv_rank, sets.vol_high))
    clarity = np.nan_to_num(np.nanmax(np.where(np.isnan(strengths), -1.0, strengths), axis=0).clip(0.0))
    confidence = clarity * factor * (1.0 - sets.high_vol_discount * high_vol)
    known = np.isfinite(trend) & np.isfinite(indicators.rsi) & (regime != Regime.NO_SIGNAL)
    confidence, score = np.where(known, confidence, 0.0), np.where(known, score, 0.0)
    bias = np.where(score > sets.bias_threshold, 1, np.where(score < -sets.bias_threshold, -1, 0)).astype(np.int8)
    return Verdicts(confidence, score, bias)


def delta_skew(bias_score, max_skew: float = 0.05) -> np.ndarray:
    """How far to move a structure's target deltas toward the bias (0.05: a 16-delta short call becomes 21-delta
    when fully bearish, and the put 11-delta)."""
    return max_skew * np.asarray(bias_score, np.float64)


def size_multiplier(confidence, floor: float = 0.25) -> np.ndarray:
    """Fraction of the full size to trade: `floor` at zero confidence, 1 at full; 0 where confidence is 0."""
    confidence = np.asarray(confidence, np.float64)
    return np.where(confidence > 0, floor + (1.0 - floor) * confidence, 0.0)
