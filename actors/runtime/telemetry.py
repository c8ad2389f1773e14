"""The metrics facade components emit through, and its sinks.

`Telemetry.count / observe / gauge(name, value, **labels)` checks the name and labels against the
catalog (a typo raises `MetricError` naming it, in tests as in production) and hands the sample to
a sink. Components never know which sink: `PrometheusClientSink` (prometheus-client collectors in a
registry, served on /metrics by `supervisors.metrics_server`) in a process outside Ray, the Ray sink
(`actors.runtime.ray_runtime.RayMetricsSink`, `ray.util.metrics`, exported by Ray's metrics agent) inside
actors, or none (`NULL_TELEMETRY`: metrics disabled).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from itertools import accumulate
from typing import Any, Protocol

from actors.runtime.logs import get_logger
from actors.runtime.metrics_catalog import CATALOG, MetricSpec


class MetricError(KeyError):
    """A metric or label set that is not in the catalog."""


class Sink(Protocol):
    def emit(self, spec: MetricSpec, value: float, labels: tuple[str, ...]) -> None:
        """One sample; `labels` are values in the spec's label order."""


class Telemetry:
    def __init__(self, sink: Sink | None = None) -> None:
        self.sink = sink
        self._failed: set[str] = set()

    def count(self, name: str, value: float = 1.0, **labels: Any) -> None:
        self._emit(name, "counter", value, labels)

    def observe(self, name: str, value: float, **labels: Any) -> None:
        self._emit(name, "histogram", value, labels)

    def gauge(self, name: str, value: float, **labels: Any) -> None:
        self._emit(name, "gauge", value, labels)

    def _emit(self, name: str, kind: str, value: float, labels: dict[str, Any]) -> None:
        expected = _EXPECTED.get(name)
        if expected is None or expected[0] != kind:
            raise MetricError(f"{name}: not a {kind} in actors.runtime.metrics_catalog")
        if labels.keys() != expected[1]:
            raise MetricError(f"{name}: labels {sorted(labels)} != catalog's {sorted(expected[1])}")
        if self.sink is None:
            return
        spec = CATALOG[name]
        try:
            self.sink.emit(spec, float(value), tuple([str(labels[k]) for k in spec.labels]))
        except Exception as err:  # noqa: BLE001 - a failing exporter must not stop trading; said once per metric
            if name not in self._failed:
                self._failed.add(name)
                get_logger(component="telemetry").error("metric_emit_failed", metric=name, error=repr(err))


NULL_TELEMETRY = Telemetry(None)
_EXPECTED = {name: (spec.kind, frozenset(spec.labels)) for name, spec in CATALOG.items()}   # one lookup a sample


class PrometheusClientSink:
    """Every catalog metric kept as plain numbers, handed to prometheus-client as metric families at scrape.

    `registry` (a fresh one by default) serves them: `generate_latest(sink.registry)` or the /metrics server.
    Not prometheus-client's Counter/Gauge/Histogram objects: each of their updates takes a lock and a
    Histogram walks its buckets in Python: +1.69 us a sample through the facade against +0.88 us this way
    (bench/bench_metrics_overhead.py), and a backtest day emits ~184,000 samples. Samples arrive on the
    one thread that runs the components; a scrape (the server's thread) reads copies, so at worst it sees a
    histogram bucket a sample before its sum, never a torn number. Labels are low-cardinality, so the series
    dicts stay bounded.
    """

    def __init__(self, registry=None) -> None:
        from prometheus_client import CollectorRegistry

        self.registry = registry if registry is not None else CollectorRegistry()
        self._counters: dict[str, dict[tuple[str, ...], float]] = {}
        self._gauges: dict[str, dict[tuple[str, ...], float]] = {}
        self._histograms: dict[str, dict[tuple[str, ...], list[float]]] = {}
        self._bounds: dict[str, tuple[float, ...]] = {}
        for spec in CATALOG.values():
            store = {"counter": self._counters, "gauge": self._gauges, "histogram": self._histograms}[spec.kind]
            store[spec.name] = {}
            if spec.kind == "histogram":
                self._bounds[spec.name] = (*spec.buckets, math.inf)
        self.registry.register(_FamilyCollector(self))

    def emit(self, spec: MetricSpec, value: float, labels: tuple[str, ...]) -> None:
        kind = spec.kind
        if kind == "counter":
            if value < 0:
                raise ValueError(f"{spec.name}: a counter cannot go down (got {value})")
            series = self._counters[spec.name]
            series[labels] = series.get(labels, 0.0) + value
        elif kind == "gauge":
            self._gauges[spec.name][labels] = value
        else:
            self._observe(spec.name, value, labels)

    def _observe(self, name: str, value: float, labels: tuple[str, ...]) -> None:
        """Bucket counts (not cumulative; the last bucket is +Inf) followed by the sum of the values."""
        bounds = self._bounds[name]
        series = self._histograms[name]
        counts = series.get(labels)
        if counts is None:
            counts = series[labels] = [0.0] * (len(bounds) + 1)
        counts[bisect_left(bounds, value)] += 1
        counts[-1] += value

    def families(self) -> list:
        """prometheus-client metric families of every catalog metric, from copies of the live numbers."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )
        from prometheus_client.utils import floatToGoString

        out = []
        for spec in CATALOG.values():
            if spec.kind == "histogram":
                family = HistogramMetricFamily(spec.name, spec.help, labels=spec.labels)
                les = [floatToGoString(b) for b in self._bounds[spec.name]]
                for labels, counts in self._histograms[spec.name].copy().items():
                    counts = list(counts)
                    family.add_metric(labels, list(zip(les, accumulate(counts[:-1]))), counts[-1])
            else:
                kind, store = ((CounterMetricFamily, self._counters) if spec.kind == "counter"
                               else (GaugeMetricFamily, self._gauges))
                family = kind(spec.name, spec.help, labels=spec.labels)
                for labels, value in store[spec.name].copy().items():
                    family.add_metric(labels, value)
            out.append(family)
        return out


class _FamilyCollector:
    """The registry's view of a sink: prometheus-client calls `collect()` at every scrape."""

    def __init__(self, sink: PrometheusClientSink) -> None:
        self._sink = sink

    def collect(self):
        return self._sink.families()
