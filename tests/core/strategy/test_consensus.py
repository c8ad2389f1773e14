"""Multi-timeframe consensus: no look-ahead, and it always returns: a missing timeframe and one that stops
mid-day lower the consensus with a reason, never block it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.strategy.consensus import (
    ConsensusSettings,
    consensus,
    daily_from_minutes,
    resample,
    timeframe_signals,
)

SESSIONS = pd.bdate_range("2024-03-04", periods=20)


def minute_bars(drift_per_minute=0.0002, seed=0):
    """Regular-hours minute bars over 20 sessions, New York time, a steady rise with small noise."""
    starts = [pd.date_range(day + pd.Timedelta(hours=9, minutes=30), periods=390, freq="1min", tz="America/New_York")
              for day in SESSIONS.tz_localize(None)]
    index = starts[0].append(starts[1:])
    noise = np.random.default_rng(seed).normal(0, 0.0002, index.size)
    close = 500 * np.exp(np.cumsum(drift_per_minute + noise))
    return pd.DataFrame({"open": close, "high": close * 1.0002, "low": close * 0.9998, "close": close}, index=index)


def all_signals(minutes, timeframes=("5m", "15m", "60m", "1d")):
    return {tf: timeframe_signals(daily_from_minutes(minutes) if tf == "1d" else resample(minutes, tf), tf)
            for tf in timeframes}


def at(day, hhmm):
    return pd.Timestamp(f"{SESSIONS[day].date()} {hhmm}", tz="America/New_York").value


def test_a_steady_rise_reaches_a_bullish_consensus_on_every_timeframe():
    got = consensus(all_signals(minute_bars()), [at(-1, "14:00")])
    assert got.reached[0] and got.direction[0] == 1 and got.score[0] == 1.0
    assert all(reason[0] == "" for reason in got.reasons.values())


def test_a_missing_timeframe_lowers_the_consensus_with_a_reason_and_the_call_returns():
    signals = all_signals(minute_bars(), ("5m", "15m", "1d"))              # no 60m data at all
    got = consensus(signals, [at(-1, "14:00")])
    assert got.score[0] == 0.75 and got.reached[0]
    assert got.reasons["60m"][0] == "60m: no data"
    none = consensus({}, [at(-1, "14:00")])
    assert none.score[0] == 0 and not none.reached[0] and none.reasons["1d"][0] == "1d: no data"


def test_a_timeframe_that_stops_mid_day_goes_stale_and_counts_zero():
    minutes = minute_bars()
    cut = minutes.index < pd.Timestamp(f"{SESSIONS[-1].date()} 12:00", tz="America/New_York")
    signals = all_signals(minutes)
    signals["5m"] = timeframe_signals(resample(minutes[cut], "5m"), "5m")
    got = consensus(signals, [at(-1, "12:05"), at(-1, "14:00")], ConsensusSettings(threshold=0.8))
    assert got.signals["5m"].tolist() == [1.0, 0.0]
    assert got.reasons["5m"][1].startswith("5m: stale") and got.reasons["5m"][0] == ""
    assert got.reached.tolist() == [True, False]


def test_no_look_ahead_a_bar_counts_only_once_it_has_closed():
    minutes = minute_bars()
    signals = all_signals(minutes)
    today_close = signals["1d"].close_ns[-1]
    assert today_close == at(-1, "16:00")                                  # the session's last minute + 1
    five = signals["5m"]
    assert five.close_ns[0] == at(0, "09:35")
    first_morning = consensus(signals, [at(0, "09:34")])
    assert first_morning.reasons["5m"][0] == "5m: no completed bar yet"


def test_bad_minute_bars_gaps_nans_duplicates_and_disorder_are_absorbed():
    minutes = minute_bars()
    shuffled = pd.concat([minutes.iloc[::-1], minutes.iloc[:50]])           # unsorted, duplicated
    shuffled.iloc[100, shuffled.columns.get_loc("close")] = np.nan
    clean = resample(minutes, "15m")
    dirty = resample(shuffled, "15m")
    assert dirty.index.is_monotonic_increasing and len(dirty) == len(clean)
    gap = resample(minutes.drop(minutes.index[30:60]), "15m")              # 30 minutes missing: 2 bins gone
    assert len(gap) == len(clean) - 2
