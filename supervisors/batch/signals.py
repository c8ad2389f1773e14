"""The strategist's signals over a real daily history: every session's verdict (regime, confidence, bias, the
volatility gate) with the reasons counted, and how the two seeds' volatility gates differ on real VIX
(`spreadwright signals`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from config.session import SessionConfig
from core.strategy.regimes import Regime, VolSellingGate, gate_agreement, short_vol_allowed
from core.strategy.verdict import SignalSettings, clean_bars, daily_verdicts, indicators_with_vix, why_no_signal
from reports.signals_report import write_signals_report
from sim.market.paths import MarketRegimeModel, market_regime_bars
from sim.market.replay import load_daily, load_vix

DETECTED = [regime.name for regime in Regime]                        # NO_SIGNAL first, then the four
TRUE = [regime.name for regime in Regime if regime != Regime.NO_SIGNAL]


def signal_settings(config: SessionConfig) -> SignalSettings:
    strategist = config.strategist
    return SignalSettings(strategist.indicators.settings(), strategist.regime.settings(),
                          strategist.vol_gate.settings(), strategist.confidence.settings())


def run_signals(config: SessionConfig, symbol: str, out_dir: Path, score_paths: int = 200, score_days: int = 750,
                seed: int = 0) -> dict:
    """Verdicts for every session of `symbol`'s daily history with VIX, and the detector scored on `score_paths`
    labelled Monte Carlo paths of `score_days` sessions; writes verdicts.csv, confusion.csv, regimes.png and
    signals.md."""
    bars, vix = load_daily(symbol), load_vix()
    settings = signal_settings(config)
    verdicts = daily_verdicts(bars, vix, settings)
    counts = why_no_signal(verdicts)
    comparison = compare_gates(bars, vix, settings)
    confusion = score_detector(settings, score_paths, score_days, seed) if score_paths else None
    out_dir.mkdir(parents=True, exist_ok=True)
    verdicts.to_csv(out_dir / "verdicts.csv")
    if confusion is not None:
        confusion.to_csv(out_dir / "confusion.csv")
    report = write_signals_report(out_dir / "signals.md", symbol, verdicts, counts, comparison, settings,
                                  bars.close.reindex(verdicts.index), confusion)
    return {"sessions": len(verdicts), "counts": counts, "gates": comparison, "report": str(report),
            "verdicts": str(out_dir / "verdicts.csv"), "accuracy": accuracy(confusion) if confusion is not None
            else None}


def score_detector(settings: SignalSettings, n_paths: int, n_days: int, seed: int,
                   model: MarketRegimeModel = MarketRegimeModel()) -> pd.DataFrame:
    """Confusion matrix (sessions): rows the regime that drew each bar, columns the detector's verdict."""
    paths = market_regime_bars(model, n_paths, n_days, np.random.default_rng(seed))
    index = pd.bdate_range("2000-01-03", periods=n_days)
    matrix = np.zeros((len(TRUE), len(DETECTED)), np.int64)
    for path in range(n_paths):
        bars = pd.DataFrame({k: paths[k][path] for k in ("open", "high", "low", "close")}, index=index)
        verdicts = daily_verdicts(bars, pd.Series(paths["vix"][path], index=index), settings)
        detected = verdicts.regime.map({name: i for i, name in enumerate(DETECTED)}).to_numpy()
        np.add.at(matrix, (paths["label"][path], detected), 1)
    return pd.DataFrame(matrix, index=pd.Index(TRUE, name="true"), columns=pd.Index(DETECTED, name="detected"))


def accuracy(confusion: pd.DataFrame) -> float:
    """Share of the sessions with a verdict (NO_SIGNAL left out) whose detected regime is the true one."""
    judged = confusion.drop(columns="NO_SIGNAL")
    return float(np.trace(judged[TRUE].to_numpy()) / max(judged.to_numpy().sum(), 1))


def compare_gates(bars, vix, settings: SignalSettings) -> dict:
    """Seed 002's gate against seed 003's (both at their seeds' thresholds, whatever the config selects) on the
    days where both are known."""
    clean, _ = clean_bars(bars)
    values, vix_points = indicators_with_vix(clean, vix, settings.indicators)
    seed002 = short_vol_allowed(values, VolSellingGate("iv_rank_vix"), vix_points)
    seed003 = short_vol_allowed(values, VolSellingGate("iv_percentile"))
    known = np.isfinite(values.iv_rank) & np.isfinite(values.iv_percentile) & np.isfinite(vix_points)
    return gate_agreement(seed002, seed003, known)._asdict()
