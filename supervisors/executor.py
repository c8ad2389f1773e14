"""The seed's API (001, "Arbitrage Executor"): `create_arbitrage_executor` and `ArbitrageExecutor`.

    from supervisors.executor import create_arbitrage_executor          # seed: from execution import ...
    from supervisors.executor import (ArbitrageExecutor, TimingParameters, SizingParameters,
                                      PositionBalancer, CreditMaximizer)

The executor runs the same components as every other mode (ExpirationTraders, BrokerGateway
with its ledger, the shared balancer and metrics) on an asyncio runtime in a background thread
on the wall clock, so user callbacks (which hold sockets, sessions, ...) never need to be
pickled. The callbacks are reached through a BrokerBridge over a `CallbackAdapter` (see
`adapters/callback.py` for what each must return). Settings not in the call come from the
defaults, overridable from the environment like every profile (`SPREADWRIGHT__BROKER__MARKET_HOURS=false`
to trade a simulated market around the clock). Replace `executor.balancer` or
`executor.credit_maximizer` before `start()`: every trader uses them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import time
from datetime import date, datetime
from typing import Any, Callable, Iterable

from actors import names
from actors.expiration_trader import ExpirationTrader
from actors.runtime.asyncio_runtime import AsyncioRuntime
from actors.runtime.logs import get_logger
from adapters.callback import CallbackAdapter
from config.execution import SizingParameters, TimingParameters
from config.loader import apply_env_overrides, validate_config
from core.execution.balancer import PositionBalancer
from core.execution.credit import CreditMaximizer, SpreadLeg
from core.execution.metrics import OptimizationMetrics
from core.ledger import MemoryLedgerStore
from supervisors.kernel import BrokerVenue, Topology, add_chain_traders, build_topology
from supervisors.status import StatusView

__all__ = ["ArbitrageExecutor", "create_arbitrage_executor", "TimingParameters", "SizingParameters",
           "PositionBalancer", "CreditMaximizer", "OptimizationMetrics", "ExpirationTrader", "SpreadLeg"]

_log = get_logger(component="arbitrage-executor")


class ArbitrageExecutor:
    def __init__(self, order_callback: Callable, quote_callback: Callable, underlying_callback: Callable,
                 timing: TimingParameters | None = None, sizing: SizingParameters | None = None,
                 min_fill_rate: float = 0.25, optimal_expiry_range: tuple[int, int] = (30, 180),
                 order_status_callback: Callable | None = None, cancel_callback: Callable | None = None,
                 session: str = "executor", ledger_path: str | None = None, env: dict[str, str] | None = None) -> None:
        data: dict[str, Any] = {"name": session, "mode": "backtest", "runtime": {"kind": "inline"},
                                "executor": {"min_fill_rate": min_fill_rate,
                                             "optimal_expiry_range": list(optimal_expiry_range)}}
        if timing is not None:
            data["timing"] = timing.model_dump()
        if sizing is not None:
            data["sizing"] = sizing.model_dump()
        self.config = validate_config(apply_env_overrides(data, os.environ if env is None else env), "executor")
        self.callbacks = (order_callback, quote_callback, underlying_callback)
        self.order_status_callback, self.cancel_callback = order_status_callback, cancel_callback
        self.ledger_path = ledger_path
        self.balancer = PositionBalancer(
            self.config.balancer.max_imbalance, self.config.balancer.force_balance_at_close
        )
        self.credit_maximizer = CreditMaximizer(**self.config.credit_maximizer.model_dump())
        self.symbols: dict[str, list[Any]] = {}
        self.expirations: dict[tuple[str, str], Any] = {}
        self.traders: dict[str, ExpirationTrader] = {}
        self._topology: Topology | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runtime: AsyncioRuntime | None = None
        self._active = False

    # ------------------------------------------------------------------ the seed's API

    def add_symbol(self, symbol: str, expirations: Iterable[date | datetime]) -> list[str]:
        """Trade `symbol` on `expirations` (now, or from `start()`); returns the traders' names.

        Expired expirations are logged and skipped; a symbol the broker does not quote is logged
        by the bridge and its traders wait for quotes: nothing else stops."""
        today = datetime.now().date()
        added = []
        for expiration in expirations:
            day = expiration.date() if isinstance(expiration, datetime) else expiration
            if not isinstance(day, date):
                _log.error("invalid_expiration", symbol=symbol, expiration=repr(expiration))
                continue
            if day < today:
                _log.error("expired_expiration", symbol=symbol, expiration=day.isoformat(), today=today.isoformat())
                continue
            key = (symbol, day.isoformat())
            if key in self.expirations:
                continue
            self.expirations[key] = expiration
            self.symbols.setdefault(symbol, []).append(expiration)
            if self._active:
                added.append(self._on_loop(self._start_trader, symbol, day).result(timeout=10))
            else:
                added.append(names.trader_name(symbol, day))      # built at start()
        return added

    def start(self) -> None:
        """Start every trader in a background thread; returns at once."""
        if self._active:
            return
        started = concurrent.futures.Future()
        threading.Thread(target=self._run_loop, args=(started,), name="arbitrage-executor", daemon=True).start()
        started.result(timeout=30)
        self._on_loop(self._build).result(timeout=30)
        self._active = True
        _log.info("executor_started", traders=sorted(self.traders))

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop the traders, cancel working orders at the broker, close the ledger, stop the thread."""
        if not self._active:
            return
        self._active = False
        self._on_loop(self._stop_components).result(timeout=timeout_s)
        self._loop.call_soon_threadsafe(self._loop.stop)
        _log.info("executor_stopped", **self._gateway.snapshot())

    def get_status(self) -> dict[str, Any]:
        return self._supervisor().get_status()

    def get_llm_summary(self) -> str:
        return self._supervisor().get_llm_summary()

    def optimize_parameters(self) -> dict[str, Any]:
        return self._supervisor().optimize_parameters()

    def apply_optimization(self, recommendations: dict[str, Any]) -> int:
        return self._supervisor().apply_optimization(recommendations)

    # ------------------------------------------------------------------ wiring

    def _run_loop(self, started: concurrent.futures.Future) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        started.set_result(True)
        self._loop.run_forever()

    def _on_loop(self, function: Callable, *args) -> concurrent.futures.Future:
        """Run `function(*args)` on the executor's thread (where the components live); a future of its result."""
        future: concurrent.futures.Future = concurrent.futures.Future()

        def call() -> None:
            try:
                future.set_result(function(*args))
            except BaseException as err:  # noqa: BLE001 - handed to the caller through the future
                future.set_exception(err)

        self._loop.call_soon_threadsafe(call)
        return future

    def _build(self) -> None:
        broker = self.config.broker
        adapter = CallbackAdapter(*self.callbacks, self.expirations, self.order_status_callback, self.cancel_callback,
                                  timeout_s=broker.request_timeout_s * 2.5)
        store = MemoryLedgerStore()
        if self.ledger_path:
            from persistence.sqlite_ledger import SqliteLedgerStore

            store = SqliteLedgerStore(self.ledger_path)
        self._runtime = AsyncioRuntime(self._loop, check_serializable=False)
        expirations: dict[str, list[date]] = {}
        for symbol, expiry in self.expirations:                   # every symbol added, before or since a start
            expirations.setdefault(symbol, []).append(date.fromisoformat(expiry))
        self._topology = build_topology(self.config, self._runtime, BrokerVenue(lambda: adapter), expirations,
                                        ledger=store, credit_maximizer=self.credit_maximizer, balancer=self.balancer)
        self._bridge, self._gateway = self._topology.venue.bridge, self._topology.gateway
        self._balancer, self._metrics = self._topology.balancer, self._topology.metrics
        self.traders = {t.name: t for t in self._topology.traders}
        self._runtime.start()

    def _start_trader(self, symbol: str, day: date) -> str:
        trader, = add_chain_traders(self._topology, symbol, [day], time.time_ns())
        self.traders[trader.name] = trader
        trader.on_start(time.time_ns())
        return trader.name

    def _stop_components(self) -> None:
        now_ns = time.time_ns()
        for component in (*self.traders.values(), *self._topology.flies):     # no new orders, then the venue
            component.on_stop(now_ns)
            component.bind(_Muted())
        self._bridge.on_stop(now_ns)
        self._gateway.on_stop(now_ns)

    def _snapshots(self) -> dict[str, dict]:
        if not self._active:
            return self._read_snapshots()
        return self._on_loop(self._read_snapshots).result(timeout=10)

    def _read_snapshots(self) -> dict[str, dict]:
        components = [self._balancer, self._metrics, *self.traders.values()] if self._runtime else []
        return {c.name: c.snapshot() for c in components}

    def _supervisor(self) -> StatusView:
        def send(name: str, message: Any) -> None:
            self._on_loop(self.traders[name].on_message, message, time.time_ns())

        return StatusView(self._snapshots, send, lambda: self._active)


class _Muted:
    """The port of a stopped trader: what it still tries to send goes nowhere."""

    def send(self, receiver: str, message: Any) -> None:
        return None

    def send_all(self, receiver: str, messages: tuple[Any, ...]) -> None:
        return None

    def schedule(self, delay_ns: int, tag: Any) -> None:
        return None

    def now_ns(self) -> int:
        return time.time_ns()


def create_arbitrage_executor(order_callback: Callable, quote_callback: Callable, underlying_callback: Callable,
                              min_fill_rate: float = 0.25, cancel_after_seconds: float = 2.5, min_delay: float = 3.0,
                              max_delay: float = 15.0, max_contracts: int = 10, **kwargs: Any) -> ArbitrageExecutor:
    """The seed's factory: an ArbitrageExecutor with the common timing and sizing knobs set."""
    timing = TimingParameters(cancel_after_seconds=float(cancel_after_seconds),
                              min_delay_between_attempts=float(min_delay), max_delay_between_attempts=float(max_delay))
    sizing = SizingParameters(max_contracts=int(max_contracts))
    return ArbitrageExecutor(order_callback, quote_callback, underlying_callback, timing=timing, sizing=sizing,
                             min_fill_rate=min_fill_rate, **kwargs)
