"""The paper (or live) session: the backtest's topology as Ray actors on the wall clock, against a broker.

    spreadwright paper --profile config/profiles/paper.yaml [--duration-s S] [--address auto]

`PaperSession.start()` connects to Ray (or starts a local instance), starts the paper exchange
as a child process unless `broker.url` names one, asks the broker which expirations each
symbol lists, and starts one actor per component: the ExpirationTraders, the BrokerGateway
with its SQLite ledger, the BrokerBridge (the venue) and the shared balancer and
metrics, all wired by `supervisors.kernel`. `run()` keeps the ComponentSupervisor's reconcile loop
going and prints the status every `status_every_s` until the duration is over or the process is told to stop (Ctrl-C,
SIGTERM). `stop()` is ordered so nothing is left behind: traders first (no new orders), then
the bridge (cancels every working order at the broker and forwards the outcomes), then the
gateway once its ledger shows nothing working (it closes the ledger), then the rest.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

from actors import names
from actors.expiration_trader import ExpirationTrader
from actors.runtime.logs import get_logger
from adapters.paper_http import HttpBroker
from adapters.protocol import BrokerError
from config.broker import BrokerConfig
from config.crypto import CryptoSessionConfig
from config.session import SessionConfig
from core.ledger import adoption_events, fold, unknown_positions
from sim.paper.server import EXCHANGE_TOKEN_ENV, check_token
from supervisors.kernel import BrokerVenue, build_topology, ledger_store
from supervisors.metrics_server import ProcessMetrics
from supervisors.status import StatusView

_log = get_logger(component="paper-session")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_http(url: str, timeout_s: float = 30.0, gone: Callable[[], str | None] | None = None) -> None:
    """Wait until `url` answers 200, or raise TimeoutError saying what it last got; `gone()` says why the server
    will never answer (it exited), raised at once as a BrokerError."""
    deadline, last = time.monotonic() + timeout_s, "no answer"
    while time.monotonic() < deadline:
        reason = gone() if gone is not None else None
        if reason:
            raise BrokerError(reason)
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except OSError as err:
            last = repr(err)
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s: {last}")


def broker_adapter(url: str, broker: BrokerConfig, client_id: str | None = None) -> Callable[[], Any]:
    """The adapter a session's bridge drives (a new one each call): the paper exchange's HTTP client (the paper
    exchange, or a broker behind its API), or Tradier's. BrokerError naming the setting when Tradier has no token."""
    key = broker.api_key.get_secret_value() if broker.api_key is not None else None
    if broker.kind == "tradier":
        from adapters.tradier import TradierAdapter
        from adapters.venue_http import RetryPolicy

        if not key:
            raise BrokerError("broker.api_key: a Tradier session needs its access token "
                              "(SPREADWRIGHT__BROKER__API_KEY)")
        return functools.partial(TradierAdapter, url, key, broker.account_id,
                                 RetryPolicy(retries=2, timeout_s=broker.request_timeout_s))
    return functools.partial(HttpBroker, url, broker.request_timeout_s, api_key=key, client_id=client_id)


def ask_adapter(adapter_factory: Callable[[], Any], call: Callable[[Any], Any]) -> Any:
    """`call(adapter)` on a new adapter, closed afterwards, from synchronous code."""
    async def ask() -> Any:
        adapter = adapter_factory()
        try:
            return await call(adapter)
        finally:
            await adapter.close()
    return asyncio.run(ask())


def broker_positions(url: str, broker: BrokerConfig) -> dict[tuple, int]:
    """What the broker holds now, per contract (symbol, expiry, strike, right)."""
    held = ask_adapter(broker_adapter(url, broker), lambda adapter: adapter.positions())
    return {(p["symbol"], p["expiry"], float(p["strike"]), p["right"]): int(p["quantity"]) for p in held}


def broker_book_since_ns(url: str, broker: BrokerConfig) -> int:
    """When the broker's book began (the paper exchange says; 0 where it cannot, or a broker does not say)."""
    factory = broker_adapter(url, broker)
    try:
        return ask_adapter(factory, lambda adapter: adapter.book_since_ns() if hasattr(adapter, "book_since_ns")
                    else _zero())
    except (BrokerError, KeyError, ValueError, OSError) as err:
        _log.warning("book_since_unknown", error=repr(err))
        return 0


async def _zero() -> int:
    return 0


def check_positions(config: SessionConfig | CryptoSessionConfig, held: dict[tuple, int], book_since_ns: int = 0,
                    today: date | None = None, policy: str | None = None) -> dict[tuple, int]:
    """Compare what the broker holds with what the ledger shows (expired contracts aside); where they differ,
    refuse to start (a BrokerError naming the contracts) or, with `broker.unknown_positions: adopt`, write them
    into the ledger (`core.ledger.adoption_events`; `policy` overrides the setting: a crypto session
    always refuses). A broker whose book began after the ledger's last event
    (the paper exchange a session starts is new each time) lost what the ledger held: those positions are closed
    in the ledger with that reason first. Returns the differences."""
    store = ledger_store(config)
    expired = (today or datetime.now(timezone.utc).date()).isoformat()
    try:
        events = store.events()
        state = fold(events)
        live = {key: q for key, q in state.positions.items() if not key[1] or key[1] >= expired}
        if live and book_since_ns > max((e.time_ns for e in events), default=0):
            reason = f"lost with the broker's book: it began at {book_since_ns} ns, after the ledger's last event"
            for event in adoption_events({key: -q for key, q in live.items()}, time.time_ns(), reason):
                store.append(event)
            _log.warning("positions_lost_with_the_broker_s_book", contracts=len(live))
            state = fold(store.events())
        differences = {key: q for key, q in unknown_positions(state, held).items() if not key[1] or key[1] >= expired}
        if not differences:
            return differences
        listed = ", ".join(f"{s} {e or 'shares'} {k:g}{r}: broker {held.get((s, e, k, r), 0):+d}, ledger "
                           f"{state.positions.get((s, e, k, r), 0):+d}" for (s, e, k, r) in list(differences)[:10])
        more = f" and {len(differences) - 10} more" if len(differences) > 10 else ""
        if (policy or config.broker.unknown_positions) == "refuse":
            raise BrokerError(f"the broker's positions differ from the ledger's: {listed}{more}. Close them at "
                              "the broker, or set broker.unknown_positions: adopt to take the broker's over")
        reason = "held at the broker at session start, not in the ledger: adopted (broker.unknown_positions)"
        for event in adoption_events(differences, time.time_ns(), reason):
            store.append(event)
        _log.warning("positions_adopted", contracts=len(differences), positions=listed + more)
        return differences
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()


class PaperExchangeProcess:
    """`spreadwright exchange` as a child process, for sessions that were not given a broker URL."""

    def __init__(self, host: str, port: int, expiry_days: tuple[int, ...], seed: int,
                 quote_interval_ms: int = 1000, log_path: Path | None = None, token: str | None = None,
                 symbols: tuple[str, ...] = ()) -> None:
        """The child logs to `log_path` (default: spreadwright-exchange-<port>.log in the temp folder), never to
        a pipe no one reads, and stops by itself when this process is gone (`--exit-with-parent`). `token`: the
        bearer token it requires (the session's `broker.api_key`; None: none, and it listens on loopback only).
        `symbols`: what it quotes (default: its own, the US symbols); BTC or ETH quote the crypto market."""
        try:
            check_token(token)
        except ValueError as err:
            raise BrokerError(f"broker.api_key: the paper exchange this session starts takes it as its bearer "
                              f"token; {err}") from None
        env = {k: v for k, v in os.environ.items() if k != EXCHANGE_TOKEN_ENV}
        if token is not None:
            env[EXCHANGE_TOKEN_ENV] = token
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.log_path = log_path or Path(tempfile.gettempdir()) / f"spreadwright-exchange-{self.port}.log"
        command = [sys.executable, "-m", "supervisors.cli", "--log-format", "json", "exchange", "--host", host,
                   "--port", str(self.port), "--seed", str(seed), "--quote-interval-ms", str(quote_interval_ms),
                   "--expiry-days", ",".join(str(d) for d in expiry_days), "--exit-with-parent"]
        if symbols:
            command += ["--symbols", ",".join(symbols)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=env)
        _log.info("paper_exchange_started", url=self.url, pid=self.process.pid, log=str(self.log_path))
        try:
            wait_http(self.url + "/health", gone=self._exited)
        except (TimeoutError, BrokerError):
            self.stop()
            raise

    def _exited(self) -> str | None:
        code = self.process.poll()
        return None if code is None else f"the paper exchange exited with code {code} at start: see {self.log_path}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def listed_expirations(adapter_factory: Callable[[], Any], symbols: tuple[str, ...], per_symbol: int,
                       today: date) -> dict[str, list[date]]:
    """The first `per_symbol` unexpired expirations the broker lists for each symbol; unknown symbols are
    logged and left out (the session trades the others)."""

    async def ask(broker) -> dict[str, Any]:
        answers = await asyncio.gather(*(broker.expirations(s) for s in symbols), return_exceptions=True)
        return dict(zip(symbols, answers))

    chosen: dict[str, list[date]] = {}
    for symbol, answer in ask_adapter(adapter_factory, ask).items():
        if isinstance(answer, BaseException):
            _log.error("symbol_not_tradeable", symbol=symbol, error=str(answer))
            continue
        days = sorted(d for d in (date.fromisoformat(e) for e in answer) if d >= today)[:per_symbol]
        if not days:
            _log.error("symbol_not_tradeable", symbol=symbol, error="no unexpired expirations listed")
            continue
        chosen[symbol] = days
    return chosen


_COMMAND_POLL_S = 0.2
"""How often a session run with a channel looks for commands (a halt from the control plane)."""


class SessionChannel:
    """How a supervising process (the control plane) watches and steers a session it started as a child: the
    session writes `status.json` (atomically: a new file renamed over the old) with the time, its pid, its state
    and its whole status; the supervisor drops commands as JSON files into `commands/`, and their answers come
    back in the status. Files, not a pipe: a session never blocks on a reader, and survives its supervisor."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.status_path = self.folder / "status.json"
        self.commands = self.folder / "commands"
        self.commands.mkdir(parents=True, exist_ok=True)
        self.answers: dict[str, dict[str, Any]] = {}

    def write_status(self, state: str, status: dict[str, Any] | None) -> bool:
        """Best effort: a status that cannot be written (a full disk) is logged and the session goes on (its
        watcher sees the heartbeat age grow); returns whether it was written."""
        import json

        body = {"time_ns": time.time_ns(), "pid": os.getpid(), "state": state, "status": status,
                "answers": self.answers}
        partial = self.status_path.with_suffix(".tmp")
        try:
            partial.write_text(json.dumps(body, default=str), encoding="utf-8")
            os.replace(partial, self.status_path)
        except OSError as err:
            _log.error("status_not_written", path=str(self.status_path), error=repr(err))
            return False
        return True

    def take_commands(self) -> list[dict[str, Any]]:
        """The commands waiting, oldest first, each removed as it is read (an unreadable one is answered as such)."""
        import json

        taken = []
        for path in sorted(self.commands.glob("*.json")):
            try:
                command = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(command, dict):
                    raise ValueError("not a JSON object")
                taken.append(command)
            except (OSError, ValueError) as err:
                self.answers[path.stem] = {"ok": False, "error": f"unreadable command: {err}"}
            try:
                path.unlink(missing_ok=True)
            except OSError as err:             # it would be carried out again: say so, and take no more now
                _log.error("command_not_removed", path=str(path), error=repr(err))
                break
        return taken

    def answer(self, command_id: str, answer: dict[str, Any]) -> None:
        self.answers[command_id] = answer
        while len(self.answers) > 100:
            self.answers.pop(next(iter(self.answers)))


_EXIT_DRAIN_S = 10.0
"""How long a stop waits for butterfly exits under way (a first vertical crosses after 2 s, a second after 0.5 s)."""


class PaperSession:
    def __init__(self, config: SessionConfig, address: str | None = None) -> None:
        if config.mode.value == "backtest":
            raise ValueError("mode: a paper session needs a paper or live profile, not a backtest one")
        self.config = config
        self.address = address or config.runtime.ray_address
        self.exchange_process: PaperExchangeProcess | None = None
        self.runtime = None
        self.traders: list[ExpirationTrader] = []
        self.supervisor: StatusView | None = None
        self.stopping = threading.Event()
        self.url = config.broker.url
        self.metrics = None

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        from actors.runtime.ray_runtime import RayRuntime
        from supervisors.component_supervisor import ComponentSupervisor
        from supervisors.ray_session import ensure_ray

        broker = self.config.broker
        key = broker.api_key.get_secret_value() if broker.api_key is not None else None
        if self.url is None:
            self.exchange_process = PaperExchangeProcess(broker.paper_host, broker.paper_port, broker.paper_expiry_days,
                                                         broker.paper_seed, broker.quote_poll_ms, token=key)
            self.url = self.exchange_process.url
            _log.info("paper_exchange_started", url=self.url, pid=self.exchange_process.process.pid)
        today = datetime.now(timezone.utc).date()
        adapter = broker_adapter(self.url, broker, client_id=self.config.name)
        expirations = listed_expirations(adapter, self.config.symbols, broker.expirations_per_symbol, today)
        if not expirations:
            self.stop()
            raise BrokerError(f"none of {list(self.config.symbols)} can be traded at {self.url} (see the log)")
        try:
            check_positions(self.config, broker_positions(self.url, broker), broker_book_since_ns(self.url, broker))
        except BaseException:
            self.stop()
            raise
        ensure_ray(self.address, namespace=self.config.runtime.ray_namespace,
                   metrics_export_port=self.config.metrics.ray_export_port)
        self.metrics = ProcessMetrics(self.config.metrics)
        self.runtime = RayRuntime(self.config.runtime, self.config.logging, self.config.name,
                                  metrics=self.config.metrics.enabled)
        self.topology = build_topology(self.config, self.runtime, BrokerVenue(adapter), expirations,
                                       session_start_ns=time.time_ns())
        self.traders = self.topology.traders
        self.runtime.start()
        self.health = ComponentSupervisor(self.runtime, telemetry=self.metrics.telemetry)
        self.supervisor = StatusView(self.runtime.snapshots, self.runtime.send, lambda: not self.stopping.is_set())
        _log.info("paper_session_started", url=self.url, traders=[t.name for t in self.traders],
                  ledger=self.config.ledger.path, metrics_port=self.metrics.port)

    # ------------------------------------------------------------------ run

    def run(
        self, duration_s: float | None = None, status_every_s: float = 10.0, reconcile_every_s: float = 2.0,
        channel: SessionChannel | None = None,
    ) -> None:
        """Supervise until `duration_s` passes or `request_stop()` (Ctrl-C/SIGTERM in the CLI); with a `channel`,
        write the status there every `status_every_s` and carry out the commands found in it."""
        started = time.monotonic()
        next_status = next_reconcile = started
        while not self.stopping.is_set():
            now = time.monotonic()
            if duration_s is not None and now - started >= duration_s:
                break
            if now >= next_reconcile:
                next_reconcile = now + reconcile_every_s
                self.health.reconcile(time.time_ns())
            if now >= next_status:
                next_status = now + status_every_s
                self.report_status(channel)
            if channel is not None:
                self.carry_out(channel)
            self.stopping.wait(min(_COMMAND_POLL_S if channel else reconcile_every_s, reconcile_every_s))

    def report_status(self, channel: SessionChannel | None) -> None:
        """The status line on stdout, and the whole status in the channel (a heartbeat for whoever watches)."""
        status = self.print_status()
        if channel is not None:
            channel.write_status("running", status)

    def carry_out(self, channel: SessionChannel) -> None:
        """Halt, reduce or resume the session (or one sender) as the channel's commands say; each answer (the
        state now, or why not) goes back in the next status."""
        from actors.messages import SetTradingState
        from actors.runtime.ray_runtime import deliver_to_running
        from core.risk.states import SESSION_SCOPE

        for command in channel.take_commands():
            scope = command.get("scope") or SESSION_SCOPE
            try:
                snapshot = deliver_to_running(names.RISK, SetTradingState(scope, command["state"], command["reason"]),
                                              self.config.runtime.ray_namespace)
                answer = {"ok": True, "state": snapshot["states"].get(scope, "ACTIVE"), "working": snapshot["working"]}
            except (KeyError, LookupError, TimeoutError, ValueError) as err:
                answer = {"ok": False, "error": f"{type(err).__name__}: {err}"}
            _log.info("session_command", command=command, answer=answer)
            channel.answer(command.get("id", ""), answer)

    def request_stop(self, *_: Any) -> None:
        """Stop the session (the CLI's SIGINT/SIGTERM handler). The event is set from a new thread: a signal
        handler runs on the main thread between two bytecodes, perhaps while `run`'s `stopping.wait` holds the
        event's lock, and setting it there would wait on that lock for ever (seen: a session that never stopped)."""
        threading.Thread(target=self.stopping.set, name="request-stop", daemon=True).start()

    def print_status(self) -> dict[str, Any] | None:
        """One status line (and the status); a status that does not come in time is logged and skipped: a slow
        snapshot (an actor busy, a loaded machine) must not end a session that is trading."""
        try:
            status = self.supervisor.get_status()
        except TimeoutError as err:
            _log.warning("status_unavailable", error=repr(err))
            print(f"[{datetime.now(timezone.utc):%H:%M:%S}] status not available in time: {err}", flush=True)
            return None
        print(f"[{datetime.now(timezone.utc):%H:%M:%S}] {status_line(status)}", flush=True)
        return status

    # ------------------------------------------------------------------ stop

    def stop(self, timeout_s: float = 20.0) -> dict[str, Any]:
        """Ordered stop: what originates orders (traders, strategists, desks), the exit router once the exits
        under way have finished (`_drain_exits`), the bridge (cancels working orders), the gateway (ledger
        closed), the rest."""
        self.stopping.set()
        summary: dict[str, Any] = {}
        if self.runtime is not None:
            summary = self._final_status()
            originators = [n for n in self.runtime.names() if n.startswith(names.ORDER_PATH_PREFIXES)]
            self.runtime.stop(names=[n for n in originators if n != names.ROUTER])
            if names.ROUTER in originators:
                summary["exits_left_working"] = self._drain_exits(min(timeout_s, _EXIT_DRAIN_S))
                self.runtime.stop(names=[names.ROUTER])
            bridge_failures = self.runtime.stop(timeout_s=timeout_s, names=[names.BRIDGE])
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline and self.runtime.snapshot(names.GATEWAY)["working"]:
                time.sleep(0.1)
            summary["ledger"] = self.runtime.snapshot(names.GATEWAY)
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

    def _drain_exits(self, timeout_s: float) -> list[str]:
        """Wait until the exit router has no butterfly exit under way (at most `timeout_s`): the strategists are
        stopped, so none starts, and the bridge's stop cancels what works at the venue, which would leave a fly
        with its first vertical closed and its second cancelled. Returns the flies still exiting (logged)."""
        deadline = time.monotonic() + timeout_s
        exiting: list[str] = []
        while True:
            try:
                exiting = self.runtime.snapshot(names.ROUTER)["exiting"]
            except Exception as err:  # noqa: BLE001 - a router that cannot answer has nothing to wait for
                _log.error("exit_drain_failed", error=repr(err))
                return []
            if not exiting or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        if exiting:
            _log.error("exits_left_working", flies=exiting, waited_s=timeout_s,
                       hint="their working orders are cancelled now: check those flies' legs at the broker")
        return exiting

    def _final_status(self) -> dict[str, Any]:
        try:
            return self.supervisor.get_status() if self.supervisor else {}
        except Exception as err:  # noqa: BLE001 - a status failure must not stop the stop
            _log.error("final_status_failed", error=repr(err))
            return {}


def status_line(status: dict[str, Any]) -> str:
    """The status in one line: the book's P&L and delta at its last mark, traders, attempts and fills summed over
    them, net premium (a cash flow), imbalance."""
    position = status["position_summary"]
    attempts = sum(t["session_attempts"] for t in status["traders"].values())
    fills = sum(t["session_fills"] for t in status["traders"].values())
    total = status.get("book", {}).get("total")
    book = "P&L not marked yet; "
    if total:
        book = (f"P&L ${total['pnl_usd']:,.2f} (unrealized ${total['unrealized_usd']:,.2f}), "
                f"delta ${total['delta_usd']:,.0f}; ")
    return (f"{book}traders {len(status['traders'])}; attempts {attempts}, fills {fills}; "
            f"net premium (cash flow) ${position['net_premium']:.2f}; imbalance {position['total_imbalance']}")


class SessionFailed(RuntimeError):
    """A session that could not start, or stopped on an error while it ran (after its ordered stop)."""


def run_paper(config: SessionConfig, duration_s: float | None = None, address: str | None = None,
              status_every_s: float = 10.0, channel: SessionChannel | None = None) -> dict[str, Any]:
    """Start, supervise until stopped or `duration_s`, stop cleanly; SIGINT/SIGTERM request the stop."""
    session = PaperSession(config, address)
    started, failure = False, ""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, session.request_stop)
    try:
        if channel is not None:
            channel.write_status("starting", None)
        session.start()
        started = True
        if previous:                       # ray.init replaced them (its SIGTERM handler exits the process at once)
            for signum in previous:
                signal.signal(signum, session.request_stop)
        session.run(duration_s, status_every_s, channel=channel)
    except (BrokerError, TimeoutError) as err:
        failure = f"session {'ended on an error' if started else 'could not start'}: {err}"
        raise SessionFailed(failure) from err
    except BaseException as err:
        failure = f"session {'ended on' if started else 'could not start:'} {type(err).__name__}: {err}"
        raise
    finally:
        summary = session.stop()                 # first: nothing (a status write) may keep it from running
        if channel is not None:
            channel.write_status("failed" if failure else "stopped", {**summary, "error": failure})
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return summary



def run_paper_job(config: SessionConfig, duration_s: float | None = None, address: str | None = None,
                  status_every_s: float = 10.0, channel: SessionChannel | None = None) -> int:
    """A session with its console lines (start, the status as the stop began, the stop); the exit code:
    0, or 1 when it could not start or left orders working."""
    print(f"{config.mode.value} session {config.name}: {', '.join(config.symbols)}; ledger {config.ledger.path}; "
          "Ctrl-C stops it (working orders are cancelled first)", flush=True)
    try:
        summary = run_paper(config, duration_s, address, status_every_s, channel)
    except SessionFailed as err:
        print(err, file=sys.stderr)
        return 1
    ledger = summary.get("ledger", {})
    if "traders" in summary:                   # taken as the stop began, before cancels (absent when it did not come)
        print(f"status as the stop began: {status_line(summary)}", flush=True)
    print(f"stopped: {ledger.get('intents', 0)} orders sent, {ledger.get('working', 0)} left working; "
          f"ledger {config.ledger.path}", flush=True)
    return 0 if not ledger.get("working") else 1


def main(argv: list[str] | None = None) -> int:
    """`python -m supervisors.paper --profile P [--duration-s S]`: the paper/live session as a Ray job.

    Inside `ray job submit` (RAY_ADDRESS is set) it joins that cluster; otherwise it starts a local Ray.
    """
    import argparse

    from actors.runtime.logs import configure_logging
    from config import ConfigError, load_profile

    parser = argparse.ArgumentParser(prog="python -m supervisors.paper", description=main.__doc__)
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--duration-s", type=float, default=None)
    parser.add_argument("--address", default=None)
    parser.add_argument("--status-every-s", type=float, default=10.0)
    args = parser.parse_args(argv)
    try:
        config = load_profile(args.profile)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    if config.mode.value == "backtest":
        print(f"profile {args.profile} is a backtest profile; use `spreadwright backtest` for it", file=sys.stderr)
        return 2
    configure_logging(config.logging, force=True)
    return run_paper_job(config, args.duration_s, args.address, args.status_every_s)


if __name__ == "__main__":
    sys.exit(main())
