"""Market regimes from indicators, and the two seeds' gates for selling volatility (pure, vectorized).

The rule (`RegimeRule`, every threshold a setting), checked in this order, the first that holds wins:

1. CAUTION: VIX at or above `caution_vix`, or the Bollinger width at or above `caution_bbw_ratio` times its own
   average (a volatility expansion: seed 003's 1.8);
2. TREND: the least-squares slope of the closes at least `trend_slope_per_bar` of the price a bar in absolute
   value, pointing the same way as the fast moving average against the slow one;
3. MEAN_REVERSION: RSI at or below `rsi_low` or at or above `rsi_high` (seed 003's extremes, 30 and 70);
4. RANGE_BOUND: none of these.

A bar whose indicators are not all known (a window not yet full, a gap) is NO_SIGNAL with the reason; VIX is
optional (None: the CAUTION test reads the Bollinger ratio alone).

The seeds disagree on when to sell volatility; both are `VolSellingGate` kinds and neither is the rule above:
seed 002 sells when IV rank >= 20 and VIX <= 25 (`iv_rank_vix`); seed 003 only below an IV percentile of 35,
naked strangles below 15 (`iv_percentile`).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal, NamedTuple

import numpy as np

from core.strategy.indicators import Indicators


class Regime(IntEnum):
    NO_SIGNAL = -1
    RANGE_BOUND = 0
    MEAN_REVERSION = 1
    TREND = 2
    CAUTION = 3


class RegimeRule(NamedTuple):
    caution_vix: float = 30.0
    caution_bbw_ratio: float = 1.8
    trend_slope_per_bar: float = 0.0015
    rsi_low: float = 30.0
    rsi_high: float = 70.0


class Regimes(NamedTuple):
    """One regime per bar, and for NO_SIGNAL bars the reason (empty elsewhere)."""

    regime: np.ndarray          # Regime values (int8)
    reason: np.ndarray          # object array of str


_NEEDED = ("rsi", "bbw_ratio", "trend_slope")


def classify(indicators: Indicators, rule: RegimeRule = RegimeRule(), vix=None) -> Regimes:
    """The regime of every bar by the rule in the module docstring."""
    bbw_ratio, slope, rsi = indicators.bbw_ratio, indicators.trend_slope, indicators.rsi
    vix = np.full(rsi.size, np.nan) if vix is None else np.asarray(vix, np.float64)
    caution = (bbw_ratio >= rule.caution_bbw_ratio) | (vix >= rule.caution_vix)
    trend = (np.abs(slope) >= rule.trend_slope_per_bar) & (np.sign(slope) == indicators.ma_state)
    extreme = (rsi <= rule.rsi_low) | (rsi >= rule.rsi_high)
    regime = np.select([caution, trend, extreme], [Regime.CAUTION, Regime.TREND, Regime.MEAN_REVERSION],
                       Regime.RANGE_BOUND).astype(np.int8)
    reason = np.full(rsi.size, "", dtype=object)
    for name in reversed(_NEEDED):                  # the first missing indicator names the reason
        missing = ~np.isfinite(getattr(indicators, name))
        reason[missing] = f"{name} not known yet (window not full or a gap in the bars)"
    unknown = reason != ""
    regime[unknown & ~(vix >= rule.caution_vix)] = Regime.NO_SIGNAL         # a VIX spike is CAUTION regardless
    reason[regime != Regime.NO_SIGNAL] = ""
    return Regimes(regime, reason)


class VolSellingGate(NamedTuple):
    """When selling volatility is allowed. `iv_rank_vix` (seed 002): IV rank >= `min_iv_rank` and VIX <= `max_vix`;
    `iv_percentile` (seed 003): IV percentile < `max_iv_percentile`, naked short volatility (strangles) only below
    `naked_max_iv_percentile`. IV rank and percentile in percent."""

    kind: Literal["iv_rank_vix", "iv_percentile"] = "iv_rank_vix"
    min_iv_rank: float = 20.0
    max_vix: float = 25.0
    max_iv_percentile: float = 35.0
    naked_max_iv_percentile: float = 15.0


def short_vol_allowed(indicators: Indicators, gate: VolSellingGate, vix=None, naked: bool = False) -> np.ndarray:
    """Per bar: may short volatility (naked: a naked strangle) be sold? False where the inputs are unknown."""
    if gate.kind == "iv_rank_vix":
        vix = np.full(indicators.iv_rank.size, np.nan) if vix is None else np.asarray(vix, np.float64)
        return (indicators.iv_rank >= gate.min_iv_rank) & (vix <= gate.max_vix)
    limit = gate.naked_max_iv_percentile if naked else gate.max_iv_percentile
    return indicators.iv_percentile < limit


class GateAgreement(NamedTuple):
    """How two gates' selections of days compare: each one's share of the days, the share both select, and the
    overlap as a share of the days either selects (Jaccard)."""

    days: int
    first_share: float
    second_share: float
    both_share: float
    jaccard: float


def gate_agreement(first: np.ndarray, second: np.ndarray, known: np.ndarray) -> GateAgreement:
    """Compare two boolean selections over the days where `known` (both gates' inputs exist)."""
    first, second = first[known], second[known]
    either = int(np.sum(first | second))
    days = int(known.sum())
    return GateAgreement(days, float(first.mean()) if days else 0.0, float(second.mean()) if days else 0.0,
                         float((first & second).mean()) if days else 0.0,
                         float(np.sum(first & second) / either) if either else 1.0)
