"""Metrics overhead: the inline backtest day (default profile, butterflies on) with metrics disabled vs
enabled through the prometheus-client sink, rounds interleaved in one process on one pinned core.

Printed: events/s each way (median and best of the rounds) and the difference (goal < 5%). Every component
emits as in a session: orders, outcomes, latencies, slippage, states, chain gauges, butterfly exits.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import pin_one_core  # noqa: E402
from actors.logs import configure_logging  # noqa: E402
from actors.telemetry import PrometheusClientSink, Telemetry  # noqa: E402
from config import LoggingConfig, load_profile  # noqa: E402
from supervisors.backtest import build_backtest  # noqa: E402


def _one_day(config, telemetry) -> tuple[float, int, int]:
    backtest = build_backtest(config, telemetry=telemetry)
    started = time.perf_counter()
    backtest.runtime.run(until_ns=backtest.close_ns)
    samples = 0
    if telemetry is not None:
        samples = sum(len(m.samples) for m in telemetry.sink.registry.collect())
    return time.perf_counter() - started, backtest.runtime.delivered, samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv or [])
    pin_one_core()
    configure_logging(LoggingConfig(level="ERROR", format="json"), force=True)
    config = load_profile("config/profiles/backtest.yaml")
    rates = {"off": [], "on": []}
    series = 0
    for _ in range(args.rounds):
        for mode in ("off", "on"):
            telemetry = Telemetry(PrometheusClientSink()) if mode == "on" else None
            wall_s, events, samples = _one_day(config, telemetry)
            rates[mode].append(events / wall_s)
            series = max(series, samples)
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    best_off, best_on = max(rates["off"]), max(rates["on"])
    print(f"metrics overhead (inline backtest day, {args.rounds} interleaved rounds): median off {off:,.0f} events/s, "
          f"on {on:,.0f} events/s: {1 - on / off:+.1%} slower with metrics; best of each: off {best_off:,.0f}, on "
          f"{best_on:,.0f}: {1 - best_on / best_off:+.1%} (goal < 5%; noise only slows a round down, so the best "
          f"rounds are the cleaner comparison); {series:,} exported samples")


if __name__ == "__main__":
    main(sys.argv[1:])
