"""A real Prometheus scraping a paper session on Ray (driver /metrics and Ray's metrics agent) and a Monte Carlo
driver: the fill rate per symbol equals the ledger's, the strategists publish verdicts on Ray, and every Grafana
panel's query returns data (the strategist panels included)."""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from config import load_profile
from config.runtime import MetricsConfig
from core.ledger import fold
from core.orders import TradingHalted
from persistence.sqlite_ledger import SqliteLedgerStore
from supervisors.batch.montecarlo import InProcessExecutor, run_montecarlo
from supervisors.metrics_server import ProcessMetrics
from supervisors.paper import PaperSession, free_port
from tests.deploy.test_prometheus_rules import dashboard_queries
from tests.ray.conftest import RAY_METRICS_EXPORT_PORT
from tests.ray.waiting import FAST_SESSION_ENV, wait_for
from tests.supervisors.batch.montecarlo_fixtures import tiny_config

ROOT = Path(__file__).parents[2]
ENV = {**FAST_SESSION_ENV,
       "SPREADWRIGHT__BUTTERFLIES__ENABLED": "true", "SPREADWRIGHT__BUTTERFLIES__ENTRY_INTERVAL_S": "2",
       "SPREADWRIGHT__BUTTERFLIES__MAX_HOLD_S": "1", "SPREADWRIGHT__BUTTERFLIES__MIN_DAYS_TO_EXPIRY": "0",
       "SPREADWRIGHT__METRICS__PORT": "0", "SPREADWRIGHT__RUNTIME__RAY_NAMESPACE": "t-prometheus",
       "SPREADWRIGHT__LOGGING__LEVEL": "DEBUG", "SPREADWRIGHT__BROKER__API_KEY": "sk-live-NEVERLOGGED",
       "SPREADWRIGHT__STRATEGIST__ENABLED": "true"}
GRAFANA_VARIABLES = {"$symbol": ".*", "$__rate_interval": "1m", "$__range": "1h", "$__interval": "15s"}


def _scrape_config(tmp_path: Path, driver_ports: list[int], exchange_port: int, token: str) -> Path:
    """deploy/prometheus/prometheus.yml with this test's targets; its relabel rules and alerts kept as they are."""
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(ROOT / "deploy" / "prometheus" / "alerts.yml")]
    sd_file = tmp_path / "ray_sd.json"
    sd_file.write_text(json.dumps([{"targets": [f"127.0.0.1:{RAY_METRICS_EXPORT_PORT}"], "labels": {}}]))
    for job in config["scrape_configs"]:
        if job["job_name"] == "spreadwright":
            job["static_configs"] = [{"targets": [f"127.0.0.1:{p}" for p in driver_ports]}]
        else:
            job["file_sd_configs"] = [{"files": [str(sd_file)], "refresh_interval": "1s"}]
    exchange = {**next(j for j in config["scrape_configs"] if j["job_name"] == "spreadwright"),
                "job_name": "spreadwright-exchange", "static_configs": [{"targets": [f"127.0.0.1:{exchange_port}"]}],
                "authorization": {"type": "Bearer", "credentials": token}}     # it wants the session's token
    config["scrape_configs"].append(exchange)
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


class _Prometheus:
    def __init__(self, config: Path, data: Path) -> None:
        self.port = free_port()
        self.process = subprocess.Popen([shutil.which("prometheus"), f"--config.file={config}",
                                         f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{self.port}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def query(self, expr: str) -> list[dict]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        return self.process.stderr.read().decode(errors="replace")[-3000:]


def _ledger_fill_rates(path: Path) -> dict[str, float]:
    """Per symbol: trader orders with any fill / trader orders sent, from the ledger alone."""
    orders = [o for o in fold(SqliteLedgerStore(path).events()).orders.values() if o.owner.startswith("trader-")]
    by_symbol: dict[str, list[int]] = {}
    for order in orders:
        counts = by_symbol.setdefault(order.legs[0][0], [0, 0])
        counts[0] += order.filled > 0
        counts[1] += 1
    return {symbol: filled / sent for symbol, (filled, sent) in by_symbol.items()}


def _fill_rates(prometheus: _Prometheus, workers: str) -> dict[str, float]:
    """The dashboard's fill-rate expression, kept to this session's trader workers: earlier tests' sessions on
    the shared cluster traded the same symbols, and their series can still be exported."""
    result = prometheus.query(f'sum by (symbol) (spreadwright_order_outcomes_total{{outcome=~"filled|partial",'
                              f'WorkerId=~"{workers}"}}) / sum by (symbol) '
                              f'(spreadwright_orders_submitted_total{{WorkerId=~"{workers}"}})')
    return {r["metric"]["symbol"]: float(r["value"][1]) for r in result}


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus missing: `make prometheus` installs it")
def test_prometheus_fill_rate_matches_the_ledger_and_every_panel_returns_data(ray_cluster, tmp_path, capfd):
    monte_carlo = ProcessMetrics(MetricsConfig(port=0))
    run_montecarlo(tiny_config(paths=1), tmp_path / "mc", InProcessExecutor(), progress=False,
                   telemetry=monte_carlo.telemetry)
    config = load_profile("paper", env={**ENV, "SPREADWRIGHT__LEDGER__PATH": str(tmp_path / "ledger.db")})
    session = PaperSession(config)
    prometheus = None
    runner = threading.Thread(target=session.run, kwargs={"status_every_s": 3600}, daemon=True)
    try:
        session.start()
        runner.start()
        scraped = [session.metrics.port, monte_carlo.port]
        prometheus = _Prometheus(_scrape_config(tmp_path, scraped, session.exchange_process.port,
                                                ENV["SPREADWRIGHT__BROKER__API_KEY"]), tmp_path / "tsdb")
        runtime = session.runtime
        assert wait_for(lambda: runtime.snapshot("broker")["intents"] >= 10, timeout_s=60), runtime.snapshots()
        strategists = [name for name in runtime.names() if name.startswith("regime-")]
        assert strategists and wait_for(lambda: all(runtime.snapshot(name)["evaluations"] >= 1 for name in strategists),
                                        timeout_s=60), {name: runtime.snapshot(name) for name in strategists}
        # a restart for the restarts panel; not a trader: Ray stops exporting a dead worker's series, so a killed
        # trader's counts before the kill would be missing from the fill rate compared below
        victim = "metrics"
        old_pid = ray_cluster.get(runtime.handle(victim).pid.remote())
        os.kill(old_pid, signal.SIGKILL)
        assert wait_for(lambda: ray_cluster.get(runtime.handle(victim).pid.remote(), timeout=2) != old_pid)
        assert wait_for(lambda: runtime.snapshot("router")["closed"] >= 1, timeout_s=90), runtime.snapshot("router")
        # a fill rate to compare: at least two symbols with fills (on a loaded machine a trader's passive orders
        # can go unfilled for minutes, and a symbol without fills has no rate on either side)
        assert wait_for(lambda: sum(runtime.snapshot(t.name)["session_fills"] > 0 for t in session.traders) >= 2,
                        timeout_s=120), {t.name: runtime.snapshot(t.name) for t in session.traders}
        flies = [name for name in runtime.names() if name.startswith("flies-")]
        for name in [t.name for t in session.traders] + flies:    # stop new orders; working ones time out
            runtime.send(name, TradingHalted("", "test: freeze the counts", time.time_ns()))
        assert wait_for(
            lambda: (
                runtime.snapshot("broker")["working"] == 0
                and runtime.snapshot("router")["working"] == 0
                and not any(runtime.snapshot(name)["open"] for name in flies)
            ),
            timeout_s=60,
        )
        time.sleep(1.0)
        expected = {s: rate for s, rate in _ledger_fill_rates(tmp_path / "ledger.db").items() if rate > 0}
        workers = "|".join(ray_cluster.get([runtime.handle(t.name).worker_id.remote() for t in session.traders]))
        assert len(expected) >= 2 and all(0 < rate <= 1 for rate in expected.values()), expected
        def rates_with_fills():
            return {s: rate for s, rate in _fill_rates(prometheus, workers).items() if rate > 0}

        matched = wait_for(lambda: rates_with_fills().keys() == expected.keys() and all(
            abs(rates_with_fills()[s] - expected[s]) < 1e-9 for s in expected), timeout_s=90)
        assert matched, json.dumps([_fill_rates(prometheus, workers), expected, prometheus.query("up"),
                         sorted({r["metric"]["__name__"] for r in prometheus.query('{__name__=~".*spreadwright.*"}')})])
        def exchange_orders() -> int:
            token = ENV["SPREADWRIGHT__BROKER__API_KEY"]                    # the counts need the session's token
            request = urllib.request.Request(session.url + "/health", headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.load(response)["orders"]

        exchange_target = f'instance="127.0.0.1:{session.exchange_process.port}"'

        def scraped_exchange_orders() -> float:
            result = prometheus.query(f"sum(spreadwright_exchange_orders_total{{{exchange_target}}})")
            return float(result[0]["value"][1]) if result else -1.0

        # both read again each time: an order already on its way when the halts went out may still land
        assert exchange_orders() > 0
        assert wait_for(lambda: scraped_exchange_orders() == exchange_orders(), timeout_s=30), (
            scraped_exchange_orders(), exchange_orders(), prometheus.query("spreadwright_exchange_orders_total"))

        def empty_panels():
            return [(board, title, expr) for board, title, expr in dashboard_queries()
                    if not prometheus.query(_grafana(expr))]

        assert wait_for(lambda: not empty_panels(), timeout_s=60), empty_panels()   # rates need two scrapes
        assert wait_for(lambda: prometheus.query('ALERTS{alertname="SpreadwrightTraderHalted"}'), timeout_s=30)
    finally:
        session.request_stop()
        runner.join(timeout=30)
        session.stop()
        monte_carlo.close()
        log = prometheus.stop() if prometheus else ""
    assert "level=error" not in log, log
    session_logs = Path(ray_cluster._private.worker._global_node.get_logs_dir_path())    # this session's Ray
    worker_logs = "".join(p.read_text(errors="replace") for p in session_logs.glob("worker-*") if p.is_file())
    captured = capfd.readouterr()
    assert "order_sent" in captured.out + captured.err + worker_logs       # the session did log its orders
    assert "NEVERLOGGED" not in captured.out + captured.err + worker_logs   # but never the broker's key


def _grafana(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr
