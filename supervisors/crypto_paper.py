"""The crypto strangle as a paper session, on the wall clock.

The paper exchange quotes the simulated crypto market (`spreadwright exchange --symbols BTC`, started for the user
unless a URL is given) and matches orders as the backtest's exchange does; the kernel's crypto session (the
strangle, the gateway and its ledger, the bridge with the paper exchange's HTTP client) runs on the asyncio
runtime in a thread of its own. Every `status_every_s` a status line; every `route_every_s` the expiries the
exchange lists are routed to the strangle (crypto expiries come and go every day). The stop is ordered: the
strangle first (nothing new is sent), then the bridge (it cancels what still works at the exchange), then the
gateway (its ledger closed), then the exchange.

A live session against Deribit or Delta Exchange uses the same topology with their adapters; it needs
`mode: live`, `allow_live: true` and the venue's credentials in the environment, and is not wired to the
command line yet (docs/crypto.md).
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable

from actors.runtime.asyncio_runtime import AsyncioRuntime
from actors.runtime.logs import get_logger
from adapters.bridge import AddRoute
from adapters.paper_http import HttpBroker
from config.crypto import CryptoSessionConfig
from supervisors.kernel import CryptoSession, build_crypto_session, ledger_store
from supervisors.paper import PaperExchangeProcess

_log = get_logger(component="crypto_paper")
_CALL_TIMEOUT_S = 30.0


class CryptoPaperSession:
    def __init__(self, config: CryptoSessionConfig, url: str | None = None, quote_interval_ms: int = 1000,
                 out: Callable[[str], None] = print) -> None:
        if config.mode == "live":
            raise ValueError("mode: live crypto sessions are not wired to this command yet (paper only)")
        self.config, self.url, self.quote_interval_ms, self.out = config, url, quote_interval_ms, out
        self.exchange: PaperExchangeProcess | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="crypto-paper", daemon=True)
        self.runtime: AsyncioRuntime | None = None
        self.session: CryptoSession | None = None
        self.routed: set[str] = set()
        self.stopping = threading.Event()
        self.store = ledger_store(config)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        symbol = self.config.strangle.symbol
        if self.url is None:
            self.exchange = PaperExchangeProcess("127.0.0.1", 0, (0,), self.config.backtest.seed,
                                                 quote_interval_ms=self.quote_interval_ms, symbols=(symbol,))
            self.url = self.exchange.url
        expiries = self.listed_expiries()
        self.thread.start()
        self._on_loop(self._build, expiries)
        self.routed.update(expiries)
        _log.info("crypto_paper_started", url=self.url, symbol=symbol, expiries=expiries)

    def _build(self, expiries: list[str]) -> None:
        self.runtime = AsyncioRuntime(self.loop)
        url = self.url
        self.session = build_crypto_session(self.config, self.runtime, lambda: HttpBroker(url, retries=2), expiries,
                                            ledger=self.store, quote_poll_ms=self.quote_interval_ms)
        self.runtime.start()

    def listed_expiries(self) -> list[str]:
        """What the exchange lists for the strangle's coin now."""
        async def ask() -> list[str]:
            async with HttpBroker(self.url, retries=2) as broker:
                return await broker.expirations(self.config.strangle.symbol)
        return asyncio.run(ask())

    def run(self, duration_s: float | None = None, status_every_s: float = 10.0, route_every_s: float = 30.0) -> None:
        """Supervise until `duration_s` passes or `request_stop()`; a status line every `status_every_s`."""
        started = time.monotonic()
        next_status = next_route = started
        while not self.stopping.is_set():
            now = time.monotonic()
            if duration_s is not None and now - started >= duration_s:
                break
            if now >= next_route:
                next_route = now + route_every_s
                self.route_new_expiries()
            if now >= next_status:
                next_status = now + status_every_s
                self.out(self.status_line())
            self.stopping.wait(0.2)

    def route_new_expiries(self) -> None:
        try:
            listed = self.listed_expiries()
        except Exception as err:  # noqa: BLE001 - logged; the next round asks again
            _log.warning("expiries_unavailable", error=repr(err))
            return
        for expiry in sorted(set(listed) - self.routed):
            self.runtime.tell(self.session.bridge.name, AddRoute(self.config.strangle.symbol, expiry,
                                                                 (self.session.trader.name,)))
            self.routed.add(expiry)

    def request_stop(self, *_: Any) -> None:
        """The CLI's signal handler: set from a new thread (see supervisors.paper.PaperSession.request_stop)."""
        threading.Thread(target=self.stopping.set, name="request-stop", daemon=True).start()

    def stop(self) -> dict[str, Any]:
        """The ordered stop; returns the strangle's last snapshot and the ledger's working orders."""
        self.stopping.set()
        summary: dict[str, Any] = {}
        if self.session is not None:
            summary = self._on_loop(self._stop_orders)
            deadline = time.monotonic() + 5.0                  # the cancels the bridge forwarded reach the ledger
            while time.monotonic() < deadline and self._on_loop(lambda: self.session.gateway.snapshot()["working"]):
                time.sleep(0.05)
            summary["working_at_stop"] = self._on_loop(self._stop_gateway)
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(_CALL_TIMEOUT_S)
        if self.exchange is not None:
            self.exchange.stop()
        _log.info("crypto_paper_stopped", **{k: v for k, v in summary.items() if k != "trades"})
        return summary

    def _stop_orders(self) -> dict[str, Any]:
        """The strangle stops deciding, then the bridge cancels what works at the exchange."""
        now_ns = time.time_ns()
        self.session.trader.on_stop(now_ns)
        summary = self.session.trader.snapshot()
        self.session.bridge.on_stop(now_ns)
        return summary

    def _stop_gateway(self) -> int:
        working = self.session.gateway.snapshot()["working"]
        if working:
            _log.error("orders_left_working", working=working,
                       hint="the gateway reconciles them with the exchange on the next start")
        self.session.gateway.on_stop(time.time_ns())
        return working

    # ------------------------------------------------------------------ status

    def snapshot(self) -> dict[str, Any]:
        return self._on_loop(lambda: {"trader": self.session.trader.snapshot(),
                                      "index_usd": self.session.trader.index_usd,
                                      "gateway": self.session.gateway.snapshot()})

    def status_line(self) -> str:
        state = self.snapshot()
        trader = state["trader"]
        realized = sum(t["pnl_usd"] for t in trader["trades"])
        open_pnl = trader["pnl_usd_open"]
        open_text = "not marked" if open_pnl is None else f"${open_pnl:,.2f}"
        counts = trader["counts"]
        return (f"[{datetime.now(timezone.utc):%H:%M:%S}] {self.config.strangle.symbol} ${state['index_usd']:,.0f}: "
                f"{trader['phase']}, {len(trader['trades'])} strangles closed, realized ${realized:,.2f}, open "
                f"{open_text}; orders {counts['orders']}, fills {counts['fills']}, rejects {counts['rejects']}; "
                f"expiries quoted {', '.join(trader['expiries_quoted']) or 'none yet'}")

    def _on_loop(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run `function` on the session's loop (components are touched by that thread only) and return its
        result."""
        async def call() -> Any:
            return function(*args)
        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(_CALL_TIMEOUT_S)
