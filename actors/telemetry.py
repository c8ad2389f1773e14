"""The metrics facade components emit through, and its sinks.

`Telemetry.count / observe / gauge(name, value, **labels)` checks the name and labels against the
catalog (a typo raises `MetricError` naming it, in tests as in production) and hands the sample to
a sink. Components never know which sink: `PrometheusClientSink` (prometheus-client collectors in a
registry, served on /metrics by `supervisors.metrics_server`) in a process outside Ray, the Ray sink
(`actors.runtime_ray.RayMetricsSink`, `ray.util.metrics`, exported by Ray's metrics agent) inside
actors, or none (`NULL_TELEMETRY`: metrics disabled).
"""

from __future__ import annotations

from typing import Any, Protocol

from actors.logs import get_logger
from actors.metrics_catalog import CATALOG, MetricSpec


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
        spec = CATALOG.get(name)
        if spec is None or spec.kind != kind:
            raise MetricError(f"{name}: not a {kind} in actors.metrics_catalog")
        if labels.keys() != _LABEL_SETS[name]:
            raise MetricError(f"{name}: labels {sorted(labels)} != catalog's {sorted(spec.labels)}")
        if self.sink is None:
            return
        try:
            self.sink.emit(spec, float(value), tuple([str(labels[k]) for k in spec.labels]))
        except Exception as err:  # noqa: BLE001 - a failing exporter must not stop trading; said once per metric
            if name not in self._failed:
                self._failed.add(name)
                get_logger(component="telemetry").error("metric_emit_failed", metric=name, error=repr(err))


NULL_TELEMETRY = Telemetry(None)
_LABEL_SETS = {name: frozenset(spec.labels) for name, spec in CATALOG.items()}


class PrometheusClientSink:
    """prometheus-client collectors for every catalog metric, in `registry` (a fresh one by default)."""

    def __init__(self, registry=None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry if registry is not None else CollectorRegistry()
        self.collectors: dict[str, Any] = {}
        self._records: dict[tuple[str, tuple[str, ...]], Any] = {}     # bounded: labels are low-cardinality
        for spec in CATALOG.values():
            if spec.kind == "counter":
                base = spec.name[: -len("_total")]      # prometheus-client adds _total itself
                collector = Counter(base, spec.help, spec.labels, registry=self.registry)
            elif spec.kind == "gauge":
                collector = Gauge(spec.name, spec.help, spec.labels, registry=self.registry)
            else:
                collector = Histogram(spec.name, spec.help, spec.labels, buckets=spec.buckets, registry=self.registry)
            self.collectors[spec.name] = collector

    def emit(self, spec: MetricSpec, value: float, labels: tuple[str, ...]) -> None:
        record = self._records.get((spec.name, labels))
        if record is None:
            record = self._records[(spec.name, labels)] = self._record_method(spec, labels)
        record(value)

    def _record_method(self, spec: MetricSpec, labels: tuple[str, ...]):
        """The bound inc/set/observe of one labelled series, kept: `labels()` costs more than the update."""
        collector = self.collectors[spec.name]
        child = collector.labels(*labels) if labels else collector
        if spec.kind == "counter":
            return child.inc
        return child.set if spec.kind == "gauge" else child.observe
