"""The crypto short strangle on the simulated market: P&L per strangle over seeds, with and without the variance
risk premium the market assumes, and the backtest's speed.

The simulated coin's realised volatility is `realized_to_implied` (0.85 by default) times its implied volatility:
a seller of options earns that premium by construction. This bench runs the shipped profile over `--seeds` seeded
paths with the default and with `realized_to_implied = 1.0` (no premium: the options are fairly priced on
average), and prints the mean P&L per strangle with a 95% interval over the seeds, the win rate, the exits, and
simulated days per wall second. The difference between the two rows is the assumption, not the strategy.

    .venv/bin/python bench/bench_crypto_strangle.py --seeds 8 --days 7
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from config.crypto import load_crypto_profile
from supervisors.crypto_backtest import run_crypto_backtest


def run(ratio: float, seeds: int, days: int) -> dict:
    base = load_crypto_profile("strangle")
    per_strangle, wins, count, exits, wall_s = [], 0, 0, {}, 0.0
    for seed in range(seeds):
        config = base.model_copy(update={
            "backtest": base.backtest.model_copy(update={"seed": seed, "days": days}),
            "market": base.market.model_copy(update={"realized_to_implied": ratio})})
        began = time.perf_counter()
        result = run_crypto_backtest(config)
        wall_s += time.perf_counter() - began
        pnls = [t["pnl_usd"] for t in result.trades]
        per_strangle.extend(pnls)
        wins += sum(1 for p in pnls if p > 0)
        count += len(pnls)
        for trade in result.trades:
            exits[trade["reason"]] = exits.get(trade["reason"], 0) + 1
    values = np.array(per_strangle)
    half_width = 1.96 * values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return {"ratio": ratio, "strangles": count, "mean": values.mean(), "half_width": half_width,
            "win_rate": wins / max(count, 1), "exits": exits, "days_per_s": seeds * days / wall_s}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(f"BTC short strangle, shipped profile, {args.seeds} seeds x {args.days} days")
    print("realized/implied | strangles | mean P&L per strangle (95% CI) | won | exits | simulated days/s")
    for ratio in (0.85, 1.0):
        row = run(ratio, args.seeds, args.days)
        print(f"{row['ratio']:>16.2f} | {row['strangles']:>9} | ${row['mean']:>8.2f} +- {row['half_width']:>7.2f} "
              f"| {row['win_rate']:.0%} | {row['exits']} | {row['days_per_s']:.2f}")


if __name__ == "__main__":
    main()
