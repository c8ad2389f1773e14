"""A strategist's verdict per bar: bars cleaned with notes, indicators, regime, fuzzy confidence and bias, and the
volatility gate, each unknown input giving a reason instead of a default or an exception.

`daily_verdicts` runs the whole pipeline over a daily history (vectorized: twenty years in well under a second);
`why_no_signal` counts the reasons, so a history (or a run) with no trades explains itself.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from core.strategy.confidence import FuzzySets, fuzzy_verdicts
from core.strategy.indicators import Indicators, IndicatorSettings, compute, iv_percentile, iv_rank
from core.strategy.regimes import Regime, RegimeRule, VolSellingGate, classify, short_vol_allowed


class SignalSettings(NamedTuple):
    indicators: IndicatorSettings = IndicatorSettings()
    rule: RegimeRule = RegimeRule()
    gate: VolSellingGate = VolSellingGate()
    fuzzy: FuzzySets = FuzzySets()


def clean_bars(bars: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Bars sorted by time, one per timestamp (the last kept), without rows whose close is not a finite positive
    number; the notes say what was changed. Gaps stay gaps (never filled)."""
    notes = []
    if not bars.index.is_monotonic_increasing:
        bars = bars.sort_index(kind="stable")
        notes.append("timestamps were not sorted: sorted")
    duplicated = bars.index.duplicated(keep="last")
    if duplicated.any():
        bars = bars[~duplicated]
        notes.append(f"{int(duplicated.sum())} duplicated timestamps: kept the last of each")
    close = pd.to_numeric(bars["close"], errors="coerce").to_numpy(np.float64)
    bad = ~(np.isfinite(close) & (close > 0))
    if bad.any():
        bars = bars[~bad]
        notes.append(f"{int(bad.sum())} bars without a finite positive close: dropped")
    return bars, tuple(notes)


def daily_verdicts(bars: pd.DataFrame, vix: pd.Series | None = None, settings: SignalSettings = SignalSettings()
                   ) -> pd.DataFrame:
    """One row per (cleaned) bar: regime (name) and the reason when NO_SIGNAL, confidence, bias (+1/0/-1) and its
    score, RSI (routing reads it), ATR, the Bollinger width ratio and IV rank (exits read them), whether short and
    naked short volatility are allowed and why not. `vix` in vol points, by date (the IV used is VIX / 100);
    `.attrs['notes']` holds what cleaning changed."""
    bars, notes = clean_bars(bars)
    values, vix_points = indicators_with_vix(bars, vix, settings.indicators)
    regimes = classify(values, settings.rule, vix_points)
    fuzzy = fuzzy_verdicts(values, regimes.regime, settings.rule.trend_slope_per_bar, settings.fuzzy)
    allowed = short_vol_allowed(values, settings.gate, vix_points)
    naked = allowed & short_vol_allowed(values, settings.gate, vix_points, naked=True)
    frame = pd.DataFrame({
        "regime": [Regime(r).name for r in regimes.regime], "regime_reason": regimes.reason,
        "confidence": fuzzy.confidence, "bias": fuzzy.bias, "bias_score": fuzzy.bias_score, "rsi": values.rsi,
        "atr": values.atr, "bbw_ratio": values.bbw_ratio, "iv_rank": values.iv_rank,
        "short_vol": allowed, "naked_short_vol": naked,
        "vol_gate_reason": _gate_reasons(values, vix_points, settings, allowed)}, index=bars.index)
    frame.attrs["notes"] = notes
    return frame


def indicators_with_vix(bars: pd.DataFrame, vix: pd.Series | None, settings: IndicatorSettings
                        ) -> tuple[Indicators, np.ndarray]:
    """The indicators of cleaned bars with VIX / 100 as their IV, and VIX per bar (NaN where none). IV rank and
    percentile run over VIX's own history (its sessions before the bars' first count), then align to the bars."""
    if vix is None:
        return compute(bars.high, bars.low, bars.close, None, settings), np.full(len(bars), np.nan)
    vix, _ = clean_bars(pd.DataFrame({"close": pd.to_numeric(vix, errors="coerce")}))
    vix_points = vix.close.reindex(bars.index).to_numpy(np.float64)
    values = compute(bars.high, bars.low, bars.close, vix_points / 100, settings)
    history = vix.close.to_numpy(np.float64) / 100
    on_bars = pd.DataFrame({"rank": iv_rank(history, settings.iv_window),
                            "percentile": iv_percentile(history, settings.iv_window)}, index=vix.index)
    on_bars = on_bars.reindex(bars.index)
    return values._replace(iv_rank=on_bars["rank"].to_numpy(), iv_percentile=on_bars["percentile"].to_numpy()), \
        vix_points


def _gate_reasons(values, vix_points: np.ndarray, settings: SignalSettings, allowed: np.ndarray) -> np.ndarray:
    gate, window = settings.gate, settings.indicators.iv_window
    reason = np.full(allowed.size, "", dtype=object)
    if gate.kind == "iv_rank_vix":
        reason[~allowed & (values.iv_rank < gate.min_iv_rank)] = f"IV rank below {gate.min_iv_rank:g}"
        reason[~allowed & (vix_points > gate.max_vix)] = f"VIX above {gate.max_vix:g}"
        unknown = ~np.isfinite(values.iv_rank) | ~np.isfinite(vix_points)
    else:
        reason[~allowed & (values.iv_percentile >= gate.max_iv_percentile)] = (
            f"IV percentile at or above {gate.max_iv_percentile:g}")
        unknown = ~np.isfinite(values.iv_percentile)
    reason[unknown] = f"no IV that day, or fewer than {window} sessions of IV history"
    return reason


def why_no_signal(verdicts: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Counts by regime, by the NO_SIGNAL reason, and by the volatility gate's reason (bars, not sessions)."""
    return {"regime": verdicts.regime.value_counts().to_dict(),
            "no_signal_reason": verdicts.regime_reason[verdicts.regime_reason != ""].value_counts().to_dict(),
            "vol_gate": verdicts.vol_gate_reason.replace("", "allowed").value_counts().to_dict(),
            "bias": verdicts.bias.map({1: "bullish", 0: "neutral", -1: "bearish"}).value_counts().to_dict()}
