"""Run every benchmark and print its figures (not a test: nothing here asserts on time)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (  # noqa: E402
    bench_backtest,
    bench_book,
    bench_exchange,
    bench_fill_rates,
    bench_generators,
    bench_iv,
    bench_liquidity,
    bench_metrics_overhead,
    bench_montecarlo,
    bench_paper,
    bench_pricing,
    bench_recovery,
    bench_router_latency,
    bench_runtime,
    bench_session_latency,
    bench_strategist,
    bench_study,
)

if __name__ == "__main__":
    for module in (bench_pricing, bench_iv, bench_runtime, bench_exchange, bench_paper, bench_backtest, bench_recovery,
                   bench_session_latency, bench_router_latency, bench_study, bench_montecarlo, bench_metrics_overhead,
                   bench_book, bench_fill_rates, bench_liquidity, bench_strategist, bench_generators):
        module.main()
        print()
