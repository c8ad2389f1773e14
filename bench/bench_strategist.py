"""The strategist's signal layer on one core: every daily verdict for SPY's real 1998-2021 history (23 years,
indicators, regimes, fuzzy confidence and bias, the volatility gate), and one year of minute bars (252 sessions x
390 minutes, a seeded random walk: the data has no year of real minutes) resampled to 5m/15m/60m/daily with the
consensus at every 5-minute close. Best of `--rounds`. Figures, not assertions."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import pin_one_core  # noqa: E402
from core.strategy.consensus import consensus, daily_from_minutes, resample, timeframe_signals  # noqa: E402
from core.strategy.verdict import daily_verdicts  # noqa: E402
from sim.market.replay import load_daily, load_vix  # noqa: E402


def year_of_minutes(seed: int = 0) -> pd.DataFrame:
    days = pd.bdate_range("2025-01-02", periods=252)
    starts = [pd.date_range(f"{day.date()} 09:30", periods=390, freq="1min", tz="America/New_York") for day in days]
    index = starts[0].append(starts[1:])
    close = 500 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.0006, index.size)))
    return pd.DataFrame({"open": close, "high": close * 1.0003, "low": close * 0.9997, "close": close}, index=index)


def minute_consensus(minutes: pd.DataFrame) -> int:
    signals = {tf: timeframe_signals(daily_from_minutes(minutes) if tf == "1d" else resample(minutes, tf), tf)
               for tf in ("5m", "15m", "60m", "1d")}
    times = signals["5m"].close_ns
    return int(consensus(signals, times).reached.sum())


def best_seconds(function, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        function()
        best = min(best, time.process_time() - started)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    where = pin_one_core()
    bars, vix = load_daily("SPY"), load_vix()
    minutes = year_of_minutes()
    daily_s = best_seconds(lambda: daily_verdicts(bars, vix), args.rounds)
    minute_s = best_seconds(lambda: minute_consensus(minutes), args.rounds)
    print(f"[strategist] {where}; best of {args.rounds}, CPU seconds: daily verdicts for {len(bars):,} SPY sessions "
          f"(1998-2021) {daily_s:.3f} s; one year of minute bars ({len(minutes):,}) resampled to 4 timeframes with "
          f"the consensus at each of {len(minutes) // 5:,} 5-minute closes {minute_s:.3f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
