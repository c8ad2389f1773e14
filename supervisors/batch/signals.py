"""The strategist's signals over a real daily history: every session's verdict (regime, confidence, bias, the
volatility gate) with the reasons counted, and how the two seeds' volatility gates differ on real VIX
(`spreadwright signals`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from config.session import SessionConfig
from core.strategy.regimes import VolSellingGate, gate_agreement, short_vol_allowed
from core.strategy.verdict import SignalSettings, clean_bars, daily_verdicts, indicators_with_vix, why_no_signal
from reports.signals_report import write_signals_report
from sim.market.replay import load_daily, load_vix


def signal_settings(config: SessionConfig) -> SignalSettings:
    strategist = config.strategist
    return SignalSettings(strategist.indicators.settings(), strategist.regime.settings(),
                          strategist.vol_gate.settings(), strategist.confidence.settings())


def run_signals(config: SessionConfig, symbol: str, out_dir: Path) -> dict:
    """Verdicts for every session of `symbol`'s daily history with VIX; writes verdicts.csv and signals.md."""
    bars, vix = load_daily(symbol), load_vix()
    settings = signal_settings(config)
    verdicts = daily_verdicts(bars, vix, settings)
    counts = why_no_signal(verdicts)
    comparison = compare_gates(bars, vix, settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    verdicts.to_csv(out_dir / "verdicts.csv")
    report = write_signals_report(out_dir / "signals.md", symbol, verdicts, counts, comparison, settings)
    return {"sessions": len(verdicts), "counts": counts, "gates": comparison, "report": str(report),
            "verdicts": str(out_dir / "verdicts.csv")}


def compare_gates(bars, vix, settings: SignalSettings) -> dict:
    """Seed 002's gate against seed 003's (both at their seeds' thresholds, whatever the config selects) on the
    days where both are known."""
    clean, _ = clean_bars(bars)
    values, vix_points = indicators_with_vix(clean, vix, settings.indicators)
    seed002 = short_vol_allowed(values, VolSellingGate("iv_rank_vix"), vix_points)
    seed003 = short_vol_allowed(values, VolSellingGate("iv_percentile"))
    known = np.isfinite(values.iv_rank) & np.isfinite(values.iv_percentile) & np.isfinite(vix_points)
    return gate_agreement(seed002, seed003, known)._asdict()
