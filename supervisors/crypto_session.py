"""The crypto strangle as a paper or live session, on the wall clock.

Paper (`venue.kind: paper`, the default): the paper exchange quotes the simulated crypto market (`spreadwright
exchange --symbols BTC`, started for the user unless `venue.url` names one) and matches orders as the backtest's
exchange does. Live (`mode: live`, `allow_live: true`, `venue.kind` deribit or delta_exchange at `venue.url`, the
credentials in the environment: `config.crypto.CREDENTIALS`): the venue's adapter. Either way the kernel's crypto
session (the strangle, the risk gate, the gateway and its ledger, the bridge with the venue's adapter) runs on Ray
actors (`runtime.kind: ray`, supervised: an actor that dies is restarted and rebuilds from the ledger) or on the
asyncio runtime in a thread of this process (`runtime.kind: asyncio`). Every `status_every_s` a status line (and,
with a channel, the status for the control plane, whose commands are carried out); every `route_every_s` the
expiries the exchange lists are routed to the strangle (crypto expiries come and go every day). The stop is
ordered: the strangle first (nothing new is sent), then the bridge (it cancels what still works at the exchange),
then the gateway (its ledger closed), then the exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Mapping

from actors.messages import SetTradingState
from actors.runtime.asyncio_runtime import AsyncioRuntime
from actors.runtime.logs import get_logger
from adapters.bridge import AddRoute
from adapters.delta_exchange import DeltaExchangeAdapter
from adapters.deribit import DeribitAdapter
from adapters.paper_http import HttpBroker
from config.crypto import CREDENTIALS, CryptoSessionConfig
from config.session import Mode
from core.risk.states import SESSION_SCOPE, parse_state
from supervisors.kernel import CryptoSession, Runtime, build_crypto_session, ledger_store
from supervisors.paper import PaperExchangeProcess, SessionChannel, ask_adapter, check_positions

_log = get_logger(component="crypto_session")
_CALL_TIMEOUT_S = 30.0


class CredentialsError(ValueError):
    """A live session without its venue's credentials in the environment (names the variables)."""


def venue_adapter_factory(config: CryptoSessionConfig, url: str,
                          env: Mapping[str, str] = os.environ) -> Callable[[], Any]:
    """The adapter a session's bridge drives: the paper exchange's HTTP client, or a real venue's with the
    credentials from the environment (CredentialsError naming what is missing)."""
    venue, coin = config.venue, config.strangle.symbol
    if venue.kind == "paper":
        return lambda: HttpBroker(url, retries=2)
    variables = CREDENTIALS[venue.kind]
    missing = [v for v in variables if not env.get(v)]
    if missing:
        raise CredentialsError(f"venue: {venue.kind} needs {' and '.join(missing)} in the environment "
                               f"(credentials never go in a profile)")
    key, secret = (env[v] for v in variables)
    if venue.kind == "deribit":
        return lambda: DeribitAdapter(url, key, secret, coin=coin, chain_source=venue.deribit_chain)
    return lambda: DeltaExchangeAdapter(url, key, secret, coin=coin)


class _LoopHost:
    """The session's components on the asyncio runtime, in a thread of this process (`runtime.kind: asyncio`)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="crypto-session", daemon=True)
        self.runtime: AsyncioRuntime | None = None
        self.stopped: set[str] = set()

    def build(self, make: Callable[[Runtime], CryptoSession]) -> CryptoSession:
        self.thread.start()

        def build_and_start() -> CryptoSession:
            self.runtime = AsyncioRuntime(self.loop)
            session = make(self.runtime)
            self.runtime.start()
            return session
        return self._on_loop(build_and_start)

    def snapshot(self, name: str) -> dict[str, Any]:
        return self._on_loop(self.runtime.components[name].snapshot)

    def send(self, name: str, message: Any) -> None:
        self.runtime.tell(name, message)

    def deliver(self, name: str, message: Any) -> dict[str, Any]:
        """`message` handled by `name` (its snapshot after): the loop runs calls in the order they were made."""
        self.send(name, message)
        return self.snapshot(name)

    def stop(self, names: list[str]) -> None:
        def stop_each() -> None:
            for name in names:
                self.runtime.components[name].on_stop(time.time_ns())
        self._on_loop(stop_each)
        self.stopped.update(names)

    def reconcile(self) -> None:
        """Nothing to restart: a component's failure is logged by the runtime and the session goes on."""

    def close(self) -> None:
        if self.runtime is not None:
            self.stop([n for n in self.runtime.components if n not in self.stopped])
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(_CALL_TIMEOUT_S)

    def _on_loop(self, function: Callable[[], Any]) -> Any:
        """Run `function` on the loop (components are touched by that thread only) and return its result."""
        async def call() -> Any:
            return function()
        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(_CALL_TIMEOUT_S)


class _RayHost:
    """The session's components on Ray actors (`runtime.kind: ray`): the order path (gate, gateway, bridge) in one
    actor, the strangle in another; a component supervisor restarts an actor that dies, and the strangle rebuilds
    itself from the ledger."""

    def __init__(self, config: CryptoSessionConfig) -> None:
        from actors.runtime.ray_runtime import RayRuntime
        from supervisors.ray_session import ensure_ray

        self.namespace = config.runtime.ray_namespace
        ensure_ray(config.runtime.ray_address, namespace=self.namespace)
        self.runtime = RayRuntime(config.runtime, None, config.name)
        self.health = None

    def build(self, make: Callable[[Runtime], CryptoSession]) -> CryptoSession:
        from supervisors.component_supervisor import ComponentSupervisor

        session = make(self.runtime)
        self.runtime.start()
        session.gateway.store.close()           # the driver's connection: the gateway's actor opened its own
        self.health = ComponentSupervisor(self.runtime)
        return session

    def snapshot(self, name: str) -> dict[str, Any]:
        with _unavailable_as_timeout(name):
            return self.runtime.snapshot(name)

    def send(self, name: str, message: Any) -> None:
        with _unavailable_as_timeout(name):
            self.runtime.send(name, message)

    def deliver(self, name: str, message: Any) -> dict[str, Any]:
        from actors.runtime.ray_runtime import deliver_to_running

        with _unavailable_as_timeout(name):
            return deliver_to_running(name, message, self.namespace)

    def stop(self, names: list[str]) -> None:
        self.runtime.stop(names=names)

    def reconcile(self) -> None:
        if self.health is not None:
            self.health.reconcile(time.time_ns())

    def close(self) -> None:
        self.runtime.stop()


class ComponentUnavailableError(TimeoutError):
    """A component's actor did not answer: it died and is being restarted (its supervisor brings it back), or it
    is too busy; the caller tries again later, as after a timeout."""


@contextlib.contextmanager
def _unavailable_as_timeout(name: str) -> Iterator[None]:
    import ray.exceptions

    try:
        yield
    except ray.exceptions.RayError as err:
        raise ComponentUnavailableError(f"{name} did not answer: {type(err).__name__}") from err


class CryptoSessionRunner:
    def __init__(self, config: CryptoSessionConfig, quote_interval_ms: int | None = None,
                 out: Callable[[str], None] = print, env: Mapping[str, str] = os.environ) -> None:
        if config.mode is Mode.BACKTEST:
            raise ValueError("mode: a backtest profile runs with spreadwright crypto-backtest")
        self.config, self.url, self.out = config, config.venue.url, out
        self.quote_interval_ms = quote_interval_ms or config.venue.quote_poll_ms
        if config.venue.kind != "paper":
            self.adapter_factory = venue_adapter_factory(config, self.url, env)        # refuses before anything starts
        self.exchange: PaperExchangeProcess | None = None
        self.host: _LoopHost | _RayHost | None = None
        self.session: CryptoSession | None = None
        self.routed: set[str] = set()
        self.stopping = threading.Event()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        symbol = self.config.strangle.symbol
        if self.url is None:
            self.exchange = PaperExchangeProcess("127.0.0.1", 0, (0,), self.config.backtest.seed,
                                                 quote_interval_ms=self.quote_interval_ms, symbols=(symbol,))
            self.url = self.exchange.url
        if self.config.venue.kind == "paper":
            self.adapter_factory = venue_adapter_factory(self.config, self.url)
        self._check_positions()
        expiries = self.listed_expiries()
        self.host = _RayHost(self.config) if self.config.runtime.kind == "ray" else _LoopHost()
        started_ns = time.time_ns()
        self.session = self.host.build(lambda runtime: build_crypto_session(
            self.config, runtime, self.adapter_factory, expiries, ledger=ledger_store(self.config),
            quote_poll_ms=self.quote_interval_ms, order_poll_ms=self.config.venue.order_poll_ms,
            session_start_ns=started_ns))
        self.routed.update(expiries)
        _log.info("crypto_session_started", url=self.url, symbol=symbol, expiries=expiries,
                  runtime=self.config.runtime.kind)

    def _check_positions(self) -> None:
        """The venue's positions in the coin must be the ledger's (a BrokerError naming them otherwise): a restart
        resumes what the ledger holds, and nothing the venue holds may go unmanaged."""
        coin = self.config.strangle.symbol
        held = ask_adapter(self.adapter_factory, lambda adapter: adapter.positions())
        book = {(p["symbol"], p["expiry"], float(p["strike"]), p["right"]): int(p["quantity"]) for p in held
                if p["symbol"] == coin}
        since = ask_adapter(self.adapter_factory, _book_since_ns)
        check_positions(self.config, book, since, policy="refuse")

    def listed_expiries(self) -> list[str]:
        """What the venue lists for the strangle's coin now, within the strangle's reach (max_expiry_days)."""
        listed = ask_adapter(self.adapter_factory, lambda adapter: adapter.expirations(self.config.strangle.symbol))
        horizon = datetime.now(timezone.utc).date() + timedelta(days=self.config.strangle.max_expiry_days + 1)
        return [e for e in listed if date.fromisoformat(e) <= horizon]

    def run(self, duration_s: float | None = None, status_every_s: float = 10.0, route_every_s: float = 30.0,
            channel: SessionChannel | None = None, reconcile_every_s: float = 2.0) -> None:
        """Supervise until `duration_s` passes or `request_stop()`; a status line every `status_every_s` (and the
        whole status in `channel`, whose commands are carried out as they come)."""
        started = time.monotonic()
        next_status = next_route = next_reconcile = started
        while not self.stopping.is_set():
            now = time.monotonic()
            if duration_s is not None and now - started >= duration_s:
                break
            if now >= next_reconcile:
                next_reconcile = now + reconcile_every_s
                self.host.reconcile()
            if now >= next_route:
                next_route = now + route_every_s
                self.route_new_expiries()
            if now >= next_status:
                next_status = now + status_every_s
                self.report_status(channel)
            if channel is not None:
                self.carry_out(channel)
            self.stopping.wait(0.2)

    def report_status(self, channel: SessionChannel | None) -> None:
        """The status line, and the whole status in the channel; a status that does not come in time (an actor
        busy, a loaded machine) is logged and skipped, never the end of a session that is trading."""
        try:
            status = self.status()
        except TimeoutError as err:
            _log.warning("status_unavailable", error=repr(err))
            self.out(f"[{datetime.now(timezone.utc):%H:%M:%S}] status not available in time: {err}")
            return
        self.out(self.status_line(status))
        if channel is not None:
            channel.write_status("running", status)

    def carry_out(self, channel: SessionChannel) -> None:
        """Halt, reduce or resume the session (or the strangle) as the channel's commands say, at the risk gate;
        each answer (the state now, or why not) goes back in the next status."""
        for command in channel.take_commands():
            scope = command.get("scope") or SESSION_SCOPE
            try:
                state = parse_state(str(command["state"])).name
                gate = self.host.deliver(self.session.gate.name, SetTradingState(scope, state,
                                                                                 str(command["reason"])))
                answer = {"ok": True, "state": gate["states"].get(scope, "ACTIVE"), "working": gate["working"]}
            except (KeyError, LookupError, ValueError, TimeoutError) as err:
                answer = {"ok": False, "error": f"{type(err).__name__}: {err}"}
            _log.info("session_command", command=command, answer=answer)
            channel.answer(command.get("id", ""), answer)

    def route_new_expiries(self) -> None:
        try:
            listed = self.listed_expiries()
        except Exception as err:  # noqa: BLE001 - logged; the next round asks again
            _log.warning("expiries_unavailable", error=repr(err))
            return
        for expiry in sorted(listed):             # every round: a restarted bridge knows only its first routes
            self.host.send(self.session.bridge.name, AddRoute(self.config.strangle.symbol, expiry,
                                                              (self.session.trader.name, self.session.gate.name)))
        if set(listed) - self.routed:
            _log.info("expiries_routed", new=sorted(set(listed) - self.routed))
        self.routed.update(listed)

    def request_stop(self, *_: Any) -> None:
        """The CLI's signal handler: set from a new thread (see supervisors.paper.PaperSession.request_stop)."""
        threading.Thread(target=self.stopping.set, name="request-stop", daemon=True).start()

    def stop(self) -> dict[str, Any]:
        """The ordered stop: the strangle decides no more, the bridge cancels what works at the venue, the gateway
        closes its ledger once those cancels are in it; returns the strangle's last snapshot and the number of
        orders the ledger still shows working."""
        self.stopping.set()
        summary: dict[str, Any] = {}
        try:
            if self.session is not None:
                summary = self._final_snapshot()
                self.host.stop([self.session.trader.name])
                self.host.stop([self.session.bridge.name])
                summary["working_at_stop"] = self._working_after_cancels(deadline_s=30.0)
        except Exception as err:  # noqa: BLE001 - logged and reported; the rest of the stop must still run
            _log.exception("crypto_session_stop_failed")
            summary["stop_error"] = f"{type(err).__name__}: {err}"
        finally:
            try:
                if self.host is not None:
                    self.host.close()
            finally:
                if self.exchange is not None:
                    self.exchange.stop()
        _log.info("crypto_session_stopped", **{k: v for k, v in summary.items() if k not in ("trades", "book")})
        return summary

    def _final_snapshot(self) -> dict[str, Any]:
        try:
            return self.host.snapshot(self.session.trader.name)
        except Exception as err:  # noqa: BLE001 - a status failure must not stop the stop
            _log.error("final_status_failed", error=repr(err))
            return {}

    def _working_after_cancels(self, deadline_s: float) -> int:
        """Wait (at most `deadline_s`) until the cancels the bridge forwarded reach the ledger; what still works
        is logged (the gateway reconciles it with the venue on the next start)."""
        deadline = time.monotonic() + deadline_s
        working = self.host.snapshot(self.session.gateway.name)["working"]
        while working and time.monotonic() < deadline:
            time.sleep(0.05)
            working = self.host.snapshot(self.session.gateway.name)["working"]
        if working:
            _log.error("orders_left_working", working=working,
                       hint="the gateway reconciles them with the exchange on the next start")
        return working

    # ------------------------------------------------------------------ status

    def snapshot(self) -> dict[str, Any]:
        trader = self.host.snapshot(self.session.trader.name)
        return {"trader": trader, "index_usd": trader["index_usd"],
                "gateway": self.host.snapshot(self.session.gateway.name)}

    def status(self) -> dict[str, Any]:
        """The whole status as the control plane reads it from a session's channel: the strangle's book
        (positions, total P&L in USD), the risk gate's trading states, the gateway's counts, the strangle."""
        trader = self.host.snapshot(self.session.trader.name)
        return {"book": trader.pop("book"), "risk": self.host.snapshot(self.session.gate.name), "strangle": trader,
                "index_usd": trader["index_usd"], "ledger": self.host.snapshot(self.session.gateway.name)}

    def status_line(self, status: dict[str, Any] | None = None) -> str:
        state = status or self.status()
        trader = state["strangle"]
        realized = sum(t["pnl_usd"] for t in trader["trades"])
        open_pnl = trader["pnl_usd_open"]
        open_text = "not marked" if open_pnl is None else f"${open_pnl:,.2f}"
        counts = trader["counts"]
        return (f"[{datetime.now(timezone.utc):%H:%M:%S}] {self.config.strangle.symbol} ${state['index_usd']:,.0f}: "
                f"{trader['phase']}, {len(trader['trades'])} strangles closed, realized ${realized:,.2f}, open "
                f"{open_text}; orders {counts['orders']}, fills {counts['fills']}, rejects {counts['rejects']}; "
                f"expiries quoted {', '.join(trader['expiries_quoted']) or 'none yet'}")


async def _book_since_ns(adapter: Any) -> int:
    """When the venue's book began, where it says (the paper exchange, new each session); 0 elsewhere."""
    return await adapter.book_since_ns() if hasattr(adapter, "book_since_ns") else 0
