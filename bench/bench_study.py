"""Butterfly exit study: 10,000 trades per method with every breakdown and the bootstrap, wall time and
trades/s on this machine's worker processes (goal: under 60 s on 2 cores). The sweep is timed apart."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.study import StudyConfig  # noqa: E402
from supervisors.batch.study import run_study  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trades", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv or [])
    out = Path(tempfile.mkdtemp(prefix="sw-study"))
    started = time.perf_counter()
    outcome = run_study(StudyConfig(trades=args.trades, sweep_trades=0), out, args.workers)
    wall = time.perf_counter() - started
    timing = outcome["timing"]
    print(f"butterfly study: {args.trades:,} trades x 2 methods on {args.workers} workers: {wall:.1f} s wall "
          f"(simulation {timing['simulate_s']:.1f} s, statistics+bootstrap {timing['statistics_s']:.1f} s, report "
          f"{wall - timing['simulate_s'] - timing['statistics_s']:.1f} s); {args.trades / wall:,.0f} trades/s")


if __name__ == "__main__":
    main(sys.argv[1:])
