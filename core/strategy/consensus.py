"""Multi-timeframe consensus (seed 002's MTF system), with guaranteed termination.

Minute bars are resampled to each timeframe (`resample`); each timeframe's bars give a signal per bar
(`timeframe_signals`: +1 bullish, -1 bearish, 0 neutral, from the slope of its closes and its RSI); the
consensus at a time (`consensus`) is the weighted mean of every timeframe's latest *completed* bar's signal
(a bar counts from the moment it closes: no look-ahead). A timeframe that has no completed bar yet, whose latest
bar is older than `stale_after_bars` of its periods (a feed that stopped mid-day), or whose indicators are not
known yet contributes 0 with a reason, so it lowers the consensus and never blocks it: every call returns, in one
vectorized pass over the times asked, whatever data exists (seed 002's hang was a loop waiting for aligned
timestamps).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from core.strategy.indicators import rsi, trend_slope

TIMEFRAMES = {"5m": "5min", "15m": "15min", "60m": "60min", "1d": "1D"}
"""Timeframe name -> pandas offset; daily bars are one per session."""

_PERIOD_NS = {"5m": 300 * 10**9, "15m": 900 * 10**9, "60m": 3600 * 10**9, "1d": 86_400 * 10**9}


class ConsensusSettings(NamedTuple):
    weights: tuple[tuple[str, float], ...] = (("5m", 1.0), ("15m", 1.0), ("60m", 1.0), ("1d", 1.0))
    threshold: float = 0.5               # |weighted mean signal| at or above it: consensus reached
    slope_period: int = 12               # bars of each timeframe in the slope and the RSI
    min_slope_per_bar: float = 0.0       # |slope| (fraction of the price a bar) needed for a direction
    stale_after_bars: float = 3.0        # a timeframe's latest bar older than this many periods is stale
    daily_stale_after_days: float = 5.0  # daily bars: calendar days (weekends and holidays between sessions)


class TimeframeSignals(NamedTuple):
    """One timeframe's bars: when each closes (ns) and its signal (NaN where its indicators are not known)."""

    close_ns: np.ndarray
    signal: np.ndarray


class Consensus(NamedTuple):
    """At each time asked: the weighted mean signal in [-1, 1], whether |score| reaches the threshold, the
    direction (+1, -1, 0) when it does, and per timeframe its signal used (0 when none) and the reason it had none
    ('' when it had one)."""

    score: np.ndarray
    reached: np.ndarray
    direction: np.ndarray
    signals: dict[str, np.ndarray]
    reasons: dict[str, np.ndarray]


def resample(minute_bars: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """OHLC bars of `timeframe` from minute bars (a DatetimeIndex of bar starts; columns open, high, low, close),
    each labelled by its start; bins without a minute bar are dropped (never filled), so a gap stays a gap. Daily
    bars are one per calendar date of the index's own time zone."""
    minutes = minute_bars[~minute_bars.index.duplicated(keep="last")].sort_index()
    minutes = minutes[np.isfinite(minutes.close.to_numpy(float))]
    ohlc = {"open": "first", "high": "max", "low": "min", "close": "last"}
    bars = minutes.resample(TIMEFRAMES[timeframe], label="left", closed="left").agg(ohlc)
    return bars.dropna(subset=["close"])


def timeframe_signals(bars: pd.DataFrame, timeframe: str, settings: ConsensusSettings = ConsensusSettings()
                      ) -> TimeframeSignals:
    """Signal per bar: +1 when the closes' slope is up (at least `min_slope_per_bar`) and RSI above 50, -1 when
    down and below 50, else 0; NaN until `slope_period` bars exist. A bar counts from its close: its start plus
    one period (daily: the session's last minute bar plus one minute)."""
    close = bars.close.to_numpy(np.float64)
    slope = trend_slope(close, settings.slope_period)
    strength = rsi(close, settings.slope_period)
    up = (slope >= settings.min_slope_per_bar) & (slope > 0) & (strength > 50)
    down = (slope <= -settings.min_slope_per_bar) & (slope < 0) & (strength < 50)
    signal = np.where(up, 1.0, np.where(down, -1.0, 0.0))
    signal[~(np.isfinite(slope) & np.isfinite(strength))] = np.nan
    close_ns = bars.index.as_unit("ns").asi8 + _PERIOD_NS[timeframe]      # UTC nanoseconds, tz-aware or not
    if timeframe == "1d" and "last_minute_ns" in bars:
        close_ns = bars["last_minute_ns"].to_numpy(np.int64) + 60 * 10**9
    return TimeframeSignals(np.asarray(close_ns, np.int64), signal)


def daily_from_minutes(minute_bars: pd.DataFrame) -> pd.DataFrame:
    """Daily bars from minute bars, with `last_minute_ns`: a session's bar counts once its last minute closes
    (not at midnight)."""
    bars = resample(minute_bars, "1d")
    starts = minute_bars.index.to_series()
    last = starts.groupby(minute_bars.index.normalize()).max()
    bars["last_minute_ns"] = pd.DatetimeIndex(last.reindex(bars.index)).as_unit("ns").asi8
    return bars


def consensus(signals: dict[str, TimeframeSignals], times_ns, settings: ConsensusSettings = ConsensusSettings()
              ) -> Consensus:
    """The consensus at each of `times_ns` (see the module docstring); a timeframe in the settings' weights but
    not in `signals` counts as missing."""
    times_ns = np.asarray(times_ns, np.int64)
    weighted = np.zeros(times_ns.size)
    total_weight = sum(weight for _, weight in settings.weights)
    used, reasons = {}, {}
    for name, weight in settings.weights:
        signal, reason = _latest_signal(signals.get(name), name, times_ns, settings)
        used[name], reasons[name] = signal, reason
        weighted += weight * signal
    score = weighted / total_weight if total_weight > 0 else weighted
    reached = np.abs(score) >= settings.threshold
    return Consensus(score, reached, np.where(reached, np.sign(score), 0.0), used, reasons)


def _latest_signal(series: TimeframeSignals | None, name: str, times_ns: np.ndarray, settings: ConsensusSettings
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(signal of the latest completed bar at each time, 0 where none; the reason where none)."""
    signal = np.zeros(times_ns.size)
    reason = np.full(times_ns.size, "", dtype=object)
    if series is None or series.close_ns.size == 0:
        reason[:] = f"{name}: no data"
        return signal, reason
    latest = np.searchsorted(series.close_ns, times_ns, side="right") - 1
    none_yet = latest < 0
    at = np.maximum(latest, 0)
    age_ns = times_ns - series.close_ns[at]
    stale_ns = (settings.daily_stale_after_days * 86_400 * 10**9 if name == "1d"
                else settings.stale_after_bars * _PERIOD_NS[name])
    stale = ~none_yet & (age_ns > stale_ns)
    value = series.signal[at]
    unknown = ~none_yet & ~stale & ~np.isfinite(value)
    ok = ~(none_yet | stale | unknown)
    signal[ok] = value[ok]
    reason[none_yet] = f"{name}: no completed bar yet"
    reason[stale] = [f"{name}: stale, last bar closed {age / 6e10:.0f} min before" for age in age_ns[stale]]
    reason[unknown] = f"{name}: fewer than {settings.slope_period} bars for its indicators"
    return signal, reason
