"""The verdict pipeline on bad input: a verdict with its reason, never an exception or a silent default."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.strategy.verdict import clean_bars, daily_verdicts, why_no_signal
from sim.market.replay import load_daily, load_vix


def spy(last=400):
    return load_daily("SPY").iloc[-last:][["open", "high", "low", "close"]]


def test_unsorted_duplicated_and_nan_bars_are_cleaned_with_notes():
    bars = spy()
    dirty = pd.concat([bars.iloc[::-1], bars.iloc[:3]])
    dirty.iloc[5, dirty.columns.get_loc("close")] = np.nan
    dirty.iloc[6, dirty.columns.get_loc("close")] = -1.0
    clean, notes = clean_bars(dirty)
    assert clean.index.is_monotonic_increasing and not clean.index.duplicated().any()
    assert len(clean) == len(bars) - 2 and len(notes) == 3
    verdicts = daily_verdicts(dirty, load_vix())
    assert len(verdicts) == len(clean) and verdicts.attrs["notes"] == notes


def test_a_vix_series_shorter_than_the_iv_window_gives_the_gate_a_reason_not_a_default():
    bars = spy()
    short_vix = load_vix().reindex(bars.index).iloc[-100:]                   # 100 sessions, the window is 252
    verdicts = daily_verdicts(bars, short_vix)
    assert not verdicts.short_vol.any()
    assert (verdicts.vol_gate_reason.str.startswith("no IV that day, or fewer than 252")).all()
    assert (verdicts.regime != "NO_SIGNAL").sum() > 300                   # the regime needs no IV


def test_too_few_bars_is_no_signal_with_the_reason_and_no_vix_at_all_is_fine():
    verdicts = daily_verdicts(spy(30), None)
    assert (verdicts.regime == "NO_SIGNAL").all() and (verdicts.regime_reason != "").all()
    assert (verdicts.confidence == 0).all()
    counts = why_no_signal(verdicts)
    assert counts["regime"] == {"NO_SIGNAL": 30} and sum(counts["no_signal_reason"].values()) == 30
    assert daily_verdicts(spy().iloc[:0], None).empty
