"""The paper (or live) session: the backtest's topology as Ray actors on the wall clock, against a broker.

    spreadwright paper --profile config/profiles/paper.yaml [--duration-s S] [--address auto]

`PaperSession.start()` connects to Ray (or starts a local instance), starts the paper exchange
as a child process unless `broker.url` names one, asks the broker which expirations each
symbol lists, and starts one actor per component: the ExpirationTraders, the BrokerGateway
with its SQLite ledger, the BrokerBridge (named "exchange") and the shared balancer and
metrics. `run()` keeps the SymbolSupervisor's reconcile loop going and prints the status
every `status_every_s` until the duration is over or the process is told to stop (Ctrl-C,
SIGTERM). `stop()` is ordered so nothing is left behind: traders first (no new orders), then
the bridge (cancels every working order at the broker and forwards the outcomes), then the
gateway once its ledger shows nothing working (it closes the ledger), then the rest.
"""

from __future__ import annotations

import asyncio
import functools
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import date, datetime, timezone
from typing import Any

from actors.broker_gateway import BrokerGateway
from actors.expiration_trader import ExpirationTrader, TraderSettings
from actors.runtime.logs import get_logger
from actors.shared import BalancerComponent, MetricsComponent
from config.session import SessionConfig
from adapters.bridge import BrokerBridge
from adapters.paper_http import BrokerError, HttpBroker
from supervisors.metrics_server import ProcessMetrics
from supervisors.status import SessionSupervisor

_log = get_logger(component="paper-session")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_http(url: str, timeout_s: float = 30.0) -> None:
    """Wait until `url` answers 200, or raise TimeoutError saying what it last got."""
    deadline, last = time.monotonic() + timeout_s, "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except OSError as err:
            last = repr(err)
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s: {last}")


class PaperExchangeProcess:
    """`spreadwright exchange` as a child process, for sessions that were not given a broker URL."""

    def __init__(self, host: str, port: int, expiry_days: tuple[int, ...], seed: int,
                 quote_interval_ms: int = 1000) -> None:
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        command = [sys.executable, "-m", "supervisors.cli", "--log-format", "json", "exchange", "--host", host,
                   "--port", str(self.port), "--seed", str(seed), "--quote-interval-ms", str(quote_interval_ms),
                   "--expiry-days", ",".join(str(d) for d in expiry_days)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_http(self.url + "/health")
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def listed_expirations(url: str, symbols: tuple[str, ...], per_symbol: int, today: date,
                       timeout_s: float = 5.0) -> dict[str, list[date]]:
    """The first `per_symbol` unexpired expirations the broker lists for each symbol; unknown symbols are
    logged and left out (the session trades the others)."""

    async def ask() -> dict[str, Any]:
        async with HttpBroker(url, timeout_s=timeout_s, retries=2) as broker:
            answers = await asyncio.gather(*(broker.expirations(s) for s in symbols), return_exceptions=True)
        return dict(zip(symbols, answers))

    chosen: dict[str, list[date]] = {}
    for symbol, answer in asyncio.run(ask()).items():
        if isinstance(answer, BaseException):
            _log.error("symbol_not_tradeable", symbol=symbol, error=str(answer))
            continue
        days = sorted(d for d in (date.fromisoformat(e) for e in answer) if d >= today)[:per_symbol]
        if not days:
            _log.error("symbol_not_tradeable", symbol=symbol, error="no unexpired expirations listed")
            continue
        chosen[symbol] = days
    return chosen


def session_trader_settings(config: SessionConfig) -> TraderSettings:
    """Traders of a wall-clock session (paper, live, the seed facade): decide on the next quote, quotes may be
    up to three polls old, market hours as the broker config says."""
    return TraderSettings(config.timing, config.sizing, config.executor, config.credit_maximizer, config.balancer,
                          session=config.name, seed=config.runtime.seed,
                          max_quote_age_s=max(config.exchange.max_quote_age_ms, 3 * config.broker.quote_poll_ms) / 1000,
                          market_hours=config.broker.market_hours, decide_on_quote=True)


class PaperSession:
    def __init__(self, config: SessionConfig, address: str | None = None) -> None:
        if config.mode.value == "backtest":
            raise ValueError("mode: a paper session needs a paper or live profile, not a backtest one")
        self.config = config
        self.address = address or config.runtime.ray_address
        self.exchange_process: PaperExchangeProcess | None = None
        self.runtime = None
        self.traders: list[ExpirationTrader] = []
        self.supervisor: SessionSupervisor | None = None
        self.stopping = threading.Event()
        self.url = config.broker.url
        self.metrics = None

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        from actors.runtime.ray_runtime import RayRuntime
        from supervisors.ray_session import ensure_ray
        from supervisors.component_supervisor import SymbolSupervisor

        broker = self.config.broker
        if self.url is None:
            self.exchange_process = PaperExchangeProcess(broker.paper_host, broker.paper_port, broker.paper_expiry_days,
                                                         broker.paper_seed, broker.quote_poll_ms)
            self.url = self.exchange_process.url
            _log.info("paper_exchange_started", url=self.url, pid=self.exchange_process.process.pid)
        today = datetime.now(timezone.utc).date()
        expirations = listed_expirations(self.url, self.config.symbols, broker.expirations_per_symbol, today)
        if not expirations:
            self.stop()
            raise BrokerError(f"none of {list(self.config.symbols)} can be traded at {self.url} (see the log)")
        ensure_ray(self.address, namespace=self.config.runtime.ray_namespace,
                   metrics_export_port=self.config.metrics.ray_export_port)
        self.metrics = ProcessMetrics(self.config.metrics)
        self.runtime = RayRuntime(self.config.runtime, self.config.logging, self.config.name,
                                  metrics=self.config.metrics.enabled)
        settings = session_trader_settings(self.config)
        self.traders = [ExpirationTrader(symbol, expiry, settings, exchange="broker")
                        for symbol, days in expirations.items() for expiry in days]
        routes = {(t.symbol, t.expiration.isoformat()): (t.name,) for t in self.traders}
        from supervisors.backtest import butterfly_components, ledger_store

        calendar_ok = None
        if broker.market_hours:
            from core.calendar import MarketCalendar

            calendar_ok = MarketCalendar().is_open
        flies = butterfly_components(self.config, expirations, routes, calendar_ok, session_start_ns=time.time_ns())
        adapter = functools.partial(HttpBroker, self.url, broker.request_timeout_s,
                                    api_key=broker.api_key.get_secret_value() if broker.api_key else None)

        for component in (BrokerBridge(adapter, routes, broker.quote_poll_ms, broker.order_poll_ms),
                          BrokerGateway(ledger_store(self.config), exchange="exchange", name="broker"),
                          BalancerComponent(self.config.balancer.max_imbalance,
                                            self.config.balancer.force_balance_at_close),
                          MetricsComponent(), *self.traders, *flies):
            self.runtime.add(component)
        self.runtime.start()
        self.health = SymbolSupervisor(self.runtime, telemetry=self.metrics.telemetry)
        self.supervisor = SessionSupervisor(self.runtime.snapshots, self.runtime.send, lambda: not self.stopping.is_set())
        _log.info("paper_session_started", url=self.url, traders=[t.name for t in self.traders],
                  ledger=self.config.ledger.path, metrics_port=self.metrics.port)

    # ------------------------------------------------------------------ run

    def run(self, duration_s: float | None = None, status_every_s: float = 10.0, reconcile_every_s: float = 2.0) -> None:
        """Supervise until `duration_s` passes or `request_stop()` (Ctrl-C/SIGTERM in the CLI)."""
        started = time.monotonic()
        next_status = started + status_every_s
        while not self.stopping.is_set():
            if duration_s is not None and time.monotonic() - started >= duration_s:
                break
            self.health.reconcile(time.time_ns())
            if time.monotonic() >= next_status:
                next_status += status_every_s
                self.print_status()
            self.stopping.wait(reconcile_every_s)

    def request_stop(self, *_: Any) -> None:
        self.stopping.set()

    def print_status(self) -> None:
        """One status line; a status that does not come in time is logged and skipped: a slow
        snapshot (an actor busy, a loaded machine) must not end a session that is trading."""
        try:
            status = self.supervisor.get_status()
        except TimeoutError as err:
            _log.warning("status_unavailable", error=repr(err))
            print(f"[{datetime.now(timezone.utc):%H:%M:%S}] status not available in time: {err}", flush=True)
            return
        print(f"[{datetime.now(timezone.utc):%H:%M:%S}] {status_line(status)}", flush=True)

    # ------------------------------------------------------------------ stop

    def stop(self, timeout_s: float = 20.0) -> dict[str, Any]:
        """Ordered stop: traders, bridge (cancels working orders), gateway (ledger closed), the rest."""
        self.stopping.set()
        summary: dict[str, Any] = {}
        if self.runtime is not None:
            summary = self._final_status()
            self.runtime.stop(names=[n for n in self.runtime.names() if n.startswith(("trader-", "flies-", "router"))])
            bridge_failures = self.runtime.stop(timeout_s=timeout_s, names=["exchange"])
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline and self.runtime.snapshot("broker")["working"]:
                time.sleep(0.1)
            summary["ledger"] = {k: v for k, v in self.runtime.snapshot("broker").items()
                                 if not k.endswith("_marks")}      # latency marks are for benches, not the log
            summary["stop_failures"] = {**bridge_failures, **self.runtime.stop()}
            if summary["ledger"]["working"]:
                _log.error("orders_left_working", working=summary["ledger"]["working"],
                           hint="the gateway reconciles them with the broker on the next start")
            self.runtime = None
        if self.exchange_process is not None:
            self.exchange_process.stop()
            self.exchange_process = None
        if self.metrics is not None:
            self.metrics.close()
        _log.info("paper_session_stopped", **{k: v for k, v in summary.items() if k != "traders"})
        return summary

    def _final_status(self) -> dict[str, Any]:
        try:
            return self.supervisor.get_status() if self.supervisor else {}
        except Exception as err:  # noqa: BLE001 - a status failure must not stop the stop
            _log.error("final_status_failed", error=repr(err))
            return {}


def status_line(status: dict[str, Any]) -> str:
    """The status in one line: traders, attempts and fills summed over them, net premium, imbalance."""
    position = status["position_summary"]
    attempts = sum(t["session_attempts"] for t in status["traders"].values())
    fills = sum(t["session_fills"] for t in status["traders"].values())
    return (f"traders {len(status['traders'])}; attempts {attempts}, fills {fills}; "
            f"net premium ${position['net_premium']:.2f}; imbalance {position['total_imbalance']}")


def run_paper(config: SessionConfig, duration_s: float | None = None, address: str | None = None,
              status_every_s: float = 10.0) -> dict[str, Any]:
    """Start, supervise until stopped or `duration_s`, stop cleanly; SIGINT/SIGTERM request the stop."""
    session = PaperSession(config, address)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, session.request_stop)
    try:
        session.start()
        session.run(duration_s, status_every_s)
    finally:
        summary = session.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return summary

