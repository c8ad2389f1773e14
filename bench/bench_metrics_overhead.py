"""Metrics overhead: the inline backtest day (default profile, butterflies on) with metrics disabled vs
enabled through the prometheus-client sink, rounds interleaved in one process on one pinned core.

Printed: events per CPU second each way (median and best of the rounds) and the difference (goal < 5%);
CPU time (`time.process_time`) rather than wall time, so a round is not charged for the time this shared
machine gave to other processes. Every component
emits as in a session: orders, outcomes, latencies, slippage, states, chain gauges, butterfly exits.
Then the day's samples, recorded once, are replayed into the sink alone and into prometheus-client's own
Counter/Gauge/Histogram objects (what the sink used before): microseconds a sample, and that cost as a share
of the day's CPU time, a figure the machine's noise moves far less than the whole-day difference.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from actors.runtime.logs import configure_logging  # noqa: E402
from actors.runtime.metrics_catalog import CATALOG  # noqa: E402
from actors.runtime.telemetry import PrometheusClientSink, Telemetry  # noqa: E402
from bench.common import pin_one_core  # noqa: E402
from config import LoggingConfig, load_profile  # noqa: E402
from supervisors.backtest import build_backtest  # noqa: E402


def _one_day(config, telemetry) -> tuple[float, int, int]:
    backtest = build_backtest(config, telemetry=telemetry)
    started = time.process_time()
    backtest.runtime.run(until_ns=backtest.close_ns)
    wall_s = time.process_time() - started
    samples = 0
    if telemetry is not None and hasattr(telemetry.sink, "registry"):
        samples = sum(len(m.samples) for m in telemetry.sink.registry.collect())
    return wall_s, backtest.runtime.delivered, samples


class _Recorder(Telemetry):
    """Metrics off, but every emit kept, to replay the day's exact stream through each candidate."""

    def __init__(self) -> None:
        super().__init__(None)
        self.samples: list = []

    def _emit(self, name, kind, value, labels) -> None:
        self.samples.append((name, kind, value, labels))
        super()._emit(name, kind, value, labels)


class _ClientObjects:
    """prometheus-client's Counter/Gauge/Histogram per catalog metric: the sink's former design, for comparison."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        registry, self._collectors, self._records = CollectorRegistry(), {}, {}
        for spec in CATALOG.values():
            if spec.kind == "counter":
                self._collectors[spec.name] = Counter(spec.name[:-6], spec.help, spec.labels, registry=registry)
            elif spec.kind == "gauge":
                self._collectors[spec.name] = Gauge(spec.name, spec.help, spec.labels, registry=registry)
            else:
                self._collectors[spec.name] = Histogram(spec.name, spec.help, spec.labels, buckets=spec.buckets,
                                                        registry=registry)

    def emit(self, spec, value, labels) -> None:
        record = self._records.get((spec.name, labels))
        if record is None:
            collector = self._collectors[spec.name]
            child = collector.labels(*labels) if labels else collector
            record = getattr(child, {"counter": "inc", "gauge": "set", "histogram": "observe"}[spec.kind])
            self._records[(spec.name, labels)] = record
        record(value)


def _replay_us_per_sample(samples, telemetry: Telemetry) -> float:
    """Each sample through the whole facade (catalog checks, label tuple, sink), best of three passes."""
    emit = telemetry._emit
    best_s = math.inf
    for _ in range(3):
        started = time.perf_counter()
        for name, kind, value, labels in samples:
            emit(name, kind, value, labels)
        best_s = min(best_s, time.perf_counter() - started)
    return best_s / len(samples) * 1e6


def _per_sample_costs(config, day_wall_s: float) -> None:
    recorder = _Recorder()
    _one_day(config, recorder)
    samples = recorder.samples
    off_us = _replay_us_per_sample(samples, Telemetry(None))
    print(f"  per sample, replaying the day's {len(samples):,} emits: {off_us:.2f} us with metrics off (catalog "
          f"checks only)")
    for name, make in (("this sink", PrometheusClientSink), ("prometheus-client objects", _ClientObjects)):
        extra_us = _replay_us_per_sample(samples, Telemetry(make())) - off_us
        print(f"  {name}: +{extra_us:.2f} us a sample = {extra_us * len(samples) / 1e6 / day_wall_s:.1%} of the "
              f"day's {day_wall_s:.1f} CPU s with metrics off")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv or [])
    pin_one_core()
    configure_logging(LoggingConfig(level="ERROR", format="json"), force=True)
    config = load_profile("config/profiles/backtest.yaml")
    _one_day(config, None)          # warm-up, not counted: the first day pays imports and cold caches
    rates, walls_off = {"off": [], "on": []}, []
    series = 0
    for round_no in range(args.rounds):
        for mode in (("off", "on") if round_no % 2 == 0 else ("on", "off")):     # alternated: no drift favours one
            telemetry = Telemetry(PrometheusClientSink()) if mode == "on" else None
            wall_s, events, samples = _one_day(config, telemetry)
            rates[mode].append(events / wall_s)
            if mode == "off":
                walls_off.append(wall_s)
            series = max(series, samples)
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    best_off, best_on = max(rates["off"]), max(rates["on"])
    print(
        f"metrics overhead (inline backtest day, {args.rounds} interleaved rounds): "
        f"median off {off:,.0f} events/CPU s, "
        f"on {on:,.0f}: {1 - on / off:+.1%} slower with metrics; best of each: off {best_off:,.0f}, on "
        f"{best_on:,.0f}: {1 - best_on / best_off:+.1%} (goal < 5%; noise only slows a round down, so the best "
        f"rounds are the cleaner comparison); {series:,} exported samples"
    )
    print("  rounds (off / on, events per CPU s): " + ", ".join(
        f"{a:,.0f} / {b:,.0f}" for a, b in zip(rates["off"], rates["on"])))
    _per_sample_costs(config, statistics.median(walls_off))


if __name__ == "__main__":
    main(sys.argv[1:])
