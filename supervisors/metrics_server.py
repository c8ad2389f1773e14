"""Metrics of a process outside Ray (driver, CLI, inline run): the prometheus-client sink and its /metrics."""

from __future__ import annotations

from actors.runtime.logs import get_logger
from actors.runtime.telemetry import NULL_TELEMETRY, PrometheusClientSink, Telemetry
from config.runtime import MetricsConfig

_log = get_logger(component="metrics-server")


class ProcessMetrics:
    """The process's Telemetry and, when `port` is set, the HTTP server exposing it (`port` holds the bound one)."""

    def __init__(self, config: MetricsConfig) -> None:
        self.telemetry, self.port, self._server = NULL_TELEMETRY, None, None
        if not config.enabled:
            return
        sink = PrometheusClientSink()
        self.telemetry = Telemetry(sink)
        if config.port is not None:
            from prometheus_client import start_http_server

            self._server, _ = start_http_server(config.port, config.host, registry=sink.registry)
            self.port = self._server.server_port
            _log.info("metrics_served", url=f"http://{config.host}:{self.port}/metrics")

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
