"""The metrics facade: catalog checks, the prometheus-client sink, and a backtest day's metrics."""

import pytest
from prometheus_client import generate_latest

from actors.runtime.metrics_catalog import CATALOG, size_bucket
from actors.runtime.telemetry import MetricError, PrometheusClientSink, Telemetry


def test_every_catalog_name_carries_its_unit_and_no_unbounded_label():
    units = ("_total", "_seconds", "_usd", "_usd_per_contract", "_contracts", "_state", "_up", "_orders", "_clients",
             "_ratio")
    for spec in CATALOG.values():
        assert spec.name.startswith("spreadwright_") and spec.name.endswith(units), spec.name
        assert (spec.kind == "counter") == spec.name.endswith("_total"), spec.name
        assert not {"client_order_id", "order_id", "price", "limit", "position_id"} & set(spec.labels), spec.name
        assert (spec.kind == "histogram") == bool(spec.buckets), spec.name


def test_a_typo_in_a_name_or_a_label_is_refused_even_with_metrics_off():
    for telemetry in (Telemetry(None), Telemetry(PrometheusClientSink())):
        with pytest.raises(MetricError, match="spreadwright_order_submitted_total"):
            telemetry.count("spreadwright_order_submitted_total", symbol="SPY")
        with pytest.raises(MetricError, match="labels"):
            telemetry.observe("spreadwright_quote_to_order_seconds", 0.1, symbol="SPY", coid="x")
        with pytest.raises(MetricError, match="not a gauge"):
            telemetry.gauge("spreadwright_orders_submitted_total", 1.0)


def test_the_prometheus_client_sink_exposes_catalog_names():
    sink = PrometheusClientSink()
    telemetry = Telemetry(sink)
    labels = dict(symbol="SPY", expiration="2026-12-18", structure="debit_spread", hour=10, size=size_bucket(3),
                  intent="make")
    telemetry.count("spreadwright_orders_submitted_total", **labels)
    telemetry.count("spreadwright_order_outcomes_total", outcome="filled", **labels)
    telemetry.observe("spreadwright_quote_to_order_seconds", 0.004, symbol="SPY")
    telemetry.gauge("spreadwright_net_premium_usd", -12.5, symbol="SPY", expiration="2026-12-18")
    text = generate_latest(sink.registry).decode()
    assert ('spreadwright_orders_submitted_total{expiration="2026-12-18",hour="10",intent="make",size="2-5",'
            'structure="debit_spread",symbol="SPY"} 1.0') in text
    assert 'spreadwright_quote_to_order_seconds_bucket{le="0.005",symbol="SPY"} 1.0' in text
    assert 'spreadwright_net_premium_usd{expiration="2026-12-18",symbol="SPY"} -12.5' in text


def test_a_backtest_day_emits_orders_outcomes_and_chain_gauges_matching_its_traders():
    from config.loader import load_profile
    from supervisors.backtest import build_backtest

    config = load_profile("config/profiles/backtest.yaml")
    config = config.model_copy(update={"symbols": ("SPY",)})
    sink = PrometheusClientSink()
    backtest = build_backtest(config, telemetry=Telemetry(sink))
    backtest.runtime.run(until_ns=backtest.close_ns)
    registry = sink.registry
    submitted = sum(s.value for m in registry.collect() if m.name == "spreadwright_orders_submitted"
                    for s in m.samples if s.name.endswith("_total"))
    ended = {}
    for metric in registry.collect():
        if metric.name == "spreadwright_order_outcomes":
            for s in metric.samples:
                if s.name.endswith("_total"):
                    ended[s.labels["outcome"]] = ended.get(s.labels["outcome"], 0) + s.value
    outcomes = {}
    for trader in backtest.traders:
        for outcome, n in trader.outcomes.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + n
    assert submitted > 0 and ended.get("filled", 0) == outcomes.get("FILLED", 0)
    assert sum(ended.values()) == sum(outcomes.values())
    text = generate_latest(registry).decode()
    assert "spreadwright_trading_state{" in text and "spreadwright_contract_imbalance_contracts{" in text
    assert "spreadwright_butterfly_partial_exposure_seconds_count{" in text


def test_a_failing_sink_never_stops_the_component_and_is_logged_once():
    import io

    from actors.runtime.logs import configure_logging
    from config.runtime import LoggingConfig

    stream = io.StringIO()
    configure_logging(LoggingConfig(format="json"), stream=stream, force=True)

    class Broken:
        def emit(self, spec, value, labels):
            raise RuntimeError("exporter down")

    telemetry = Telemetry(Broken())
    for _ in range(3):
        telemetry.observe("spreadwright_quote_to_order_seconds", 0.01, symbol="SPY")
    assert stream.getvalue().count("metric_emit_failed") == 1


def test_the_ray_sink_re_sets_gauges_so_an_unchanged_value_stays_exported(monkeypatch):
    """Ray drops a gauge ~20 s after its last set; the sink re-sets every gauge on a timer (no Ray started)."""
    import time

    from actors.runtime.metrics_catalog import CATALOG
    from actors.runtime.ray_runtime import RayMetricsSink

    class FakeGauge:
        def __init__(self):
            self.sets = []

        def set(self, value, tags):
            self.sets.append((value, tags))

    monkeypatch.setattr(RayMetricsSink, "GAUGE_REFRESH_S", 0.02)
    sink, gauge = RayMetricsSink(), FakeGauge()
    sink._metrics["spreadwright_net_premium_usd"] = gauge
    sink.emit(CATALOG["spreadwright_net_premium_usd"], -12.5, ("SPY", "2026-12-18"))
    time.sleep(0.2)
    assert len(gauge.sets) >= 3 and set(gauge.sets[-1][1].values()) == {"SPY", "2026-12-18"}
    assert all(value == -12.5 for value, _ in gauge.sets)


def test_the_sink_exports_what_prometheus_clients_own_collectors_would():
    """Same samples into the sink and into prometheus-client's Counter/Gauge/Histogram: same exposition.

    Values fall on bucket bounds, between them and past the last, so the `le` (<=) edges are checked too."""
    import random

    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
    from prometheus_client.parser import text_string_to_metric_families

    rng = random.Random(7)
    sink, reference = PrometheusClientSink(), CollectorRegistry()
    collectors = {}
    for spec in CATALOG.values():
        if spec.kind == "counter":
            collectors[spec.name] = Counter(spec.name[:-6], spec.help, spec.labels, registry=reference)
        elif spec.kind == "gauge":
            collectors[spec.name] = Gauge(spec.name, spec.help, spec.labels, registry=reference)
        else:
            collectors[spec.name] = Histogram(spec.name, spec.help, spec.labels, buckets=spec.buckets,
                                              registry=reference)
    for _ in range(3_000):
        spec = rng.choice(list(CATALOG.values()))
        labels = tuple(rng.choice(("SPY", "QQQ", "a")) for _ in spec.labels)
        if spec.kind == "histogram":
            value = rng.choice((*spec.buckets, rng.uniform(0, 2 * spec.buckets[-1])))
        else:
            value = rng.choice((1.0, 2.0, rng.uniform(0, 50)))
        sink.emit(spec, value, labels)
        child = collectors[spec.name].labels(*labels) if labels else collectors[spec.name]
        record = {"counter": "inc", "gauge": "set", "histogram": "observe"}[spec.kind]
        getattr(child, record)(value)

    def samples(registry):
        text = generate_latest(registry).decode()
        return sorted((s.name, tuple(sorted(s.labels.items())), round(s.value, 9))
                      for family in text_string_to_metric_families(text) for s in family.samples
                      if not s.name.endswith("_created"))

    ours = samples(sink.registry)
    assert len(ours) > 500 and ours == samples(reference)


def test_a_counter_refuses_to_go_down():
    sink = PrometheusClientSink()
    with pytest.raises(ValueError, match="cannot go down"):
        sink.emit(CATALOG["spreadwright_orders_submitted_total"], -1.0, ("SPY", "e", "s", "10", "1"))
