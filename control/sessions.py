"""Sessions the control plane starts, watches and stops.

A session runs as a child process (`spreadwright paper --channel DIR`, or `spreadwright crypto-session --channel
DIR` for a crypto strangle profile: the same sessions as the CLI's) in its own
process group, told to stop (SIGTERM: its ordered stop cancels every working order) when this server goes away.
`watch` runs every `heartbeat_s`: it reads the session's channel (heartbeat, book, risk state) and its ledger
(orders, fills), writes them to the control database and tells stream subscribers; when the process has ended it
closes the session's row with the reason. A database that goes away is logged and retried: the session goes on
trading under its own rules (its ledger and risk gate do not depend on this database)."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import yaml

from actors.runtime.logs import get_logger
from config.control import ControlConfig
from config.crypto import CREDENTIALS, CryptoSessionConfig, is_crypto_profile
from config.loader import CONTROL_ENV_PREFIX, ENV_PREFIX, SECRET_FIELDS
from config.session import Mode
from control.configs import Profile, profile_config
from control.follower import LedgerFollower, SessionStatus, position_rows, read_status, utc
from persistence.control.errors import ConflictError, DatabaseUnavailableError, SessionStartError
from persistence.control.store import ControlStore
from persistence.control.tables import StrategySession, TradeAnalyticsSnapshot

_log = get_logger(component="control-sessions")
_BROKER_KEY_ENV = "SPREADWRIGHT__BROKER__API_KEY"
SERVER = f"{socket.gethostname()}:{os.getpid()}"
"""This server process, recorded on the sessions it starts (another server leaves them alone)."""


class Child(Protocol):
    pid: int

    def poll(self) -> int | None: ...
    def send_signal(self, signum: int) -> None: ...


Launcher = Callable[[Path, Path, float], Child]
"""(session folder, profile file, heartbeat seconds) -> the started session process."""


def _prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()
"""Looked up here, never between fork and exec (a lookup there can deadlock in a threaded server)."""
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: SIGTERM when the server that started it dies (Linux PR_SET_PDEATHSIG), so a session is never
    left trading with no one watching; its SIGTERM handler stops it in order."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def session_environment(environ: dict[str, str]) -> dict[str, str]:
    """The server's environment for a session, less its own settings (the control token among them) and less
    profile overrides other than secrets: the stored profile, whose hash the session row records, is what runs."""
    kept = {f"{ENV_PREFIX}{field.upper().replace('.', '__')}" for field in SECRET_FIELDS}
    return {key: value for key, value in environ.items()
            if not key.startswith(CONTROL_ENV_PREFIX) and (not key.startswith(ENV_PREFIX) or key in kept)}


def live_credentials(config: Profile) -> tuple[str, ...]:
    """The environment variables a session of this profile needs (a live one: its broker's or venue's)."""
    if config.mode is not Mode.LIVE:
        return ()
    if isinstance(config, CryptoSessionConfig):
        return CREDENTIALS[config.venue.kind]
    return (_BROKER_KEY_ENV,)


def profile_kind(config: Profile) -> str:
    return "crypto" if isinstance(config, CryptoSessionConfig) else "spreads"


def launch_session(folder: Path, profile: Path, heartbeat_s: float) -> subprocess.Popen:
    """The session of the profile's kind (`spreadwright paper`, or `crypto-session` for a crypto strangle profile)
    as a child process following `folder` as its channel, its output in `folder/session.log`."""
    crypto = is_crypto_profile(yaml.safe_load(profile.read_text(encoding="utf-8")))
    command = [sys.executable, "-m", "supervisors.cli", "--log-format", "json",
               "crypto-session" if crypto else "paper", "--profile", str(profile),
               "--channel", str(folder), "--status-every-s", str(heartbeat_s)]
    with open(folder / "session.log", "ab") as log:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=session_environment(dict(os.environ)), start_new_session=True,
                                preexec_fn=_die_with_parent)


@dataclass
class Followed:
    """What this server knows of the session it follows."""

    session_id: str
    folder: Path
    child: Child | None
    follower: LedgerFollower
    stop_requested_at: float | None = None
    last_status_ns: int = 0
    last_snapshot_ns: int = 0
    status: SessionStatus | None = None
    commands: int = 0
    unsaved: dict[str, Any] = field(default_factory=dict)
    """Orders read from the ledger and not yet written to the database (by client order id)."""


class Hub:
    """Stream subscribers: each has a bounded queue; one that does not keep up is dropped (it reconnects)."""

    def __init__(self, max_clients: int, queue_size: int = 256) -> None:
        self.max_clients, self.queue_size = max_clients, queue_size
        self.queues: set[asyncio.Queue] = set()
        self.dropped = 0

    def subscribe(self) -> asyncio.Queue | None:
        if len(self.queues) >= self.max_clients:
            return None
        queue: asyncio.Queue = asyncio.Queue(self.queue_size)
        self.queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self.queues.discard(queue)

    def close(self) -> None:
        """End every stream (the server is shutting down): each handler takes the None and returns."""
        for queue in list(self.queues):
            self.queues.discard(queue)
            if not queue.full():
                queue.put_nowait(None)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        message = (kind, json.dumps(data, default=str))
        for queue in list(self.queues):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                self.queues.discard(queue)            # its stream handler sees it gone and ends the response
                self.dropped += 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


class SessionManager:
    def __init__(self, store: ControlStore, config: ControlConfig, now: Callable[[], datetime],
                 clock_s: Callable[[], float], launcher: Launcher = launch_session) -> None:
        self.store, self.config, self.now, self.clock_s, self.launcher = store, config, now, clock_s, launcher
        self.root = Path(config.state_dir) / "sessions"
        self.followed: Followed | None = None
        self.hub = Hub(config.max_stream_clients)
        self._control = asyncio.Lock()
        self._watching = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self.database_ok = True
        self.versions: dict[str, int] = {}
        """Per session, a number that grows whenever its orders or snapshots are written (cached answers built
        from them are good while it has not moved)."""

    def changed(self, session_id: str) -> None:
        self.versions[session_id] = self.versions.get(session_id, 0) + 1

    # ---- control ------------------------------------------------------------------------------------------

    async def start(self, actor: str) -> StrategySession:
        """Start a session of the active profile; 409 when none is active or a session is already active."""
        if self._control.locked():
            raise ConflictError("another start, stop or restart is in progress")
        async with self._control:
            return await self._start(actor)

    async def _start(self, actor: str) -> StrategySession:
        profile = await self.store.active_configuration()
        if profile is None:
            raise ConflictError("no active trading profile: activate one first")
        config = profile_config(profile.body, f"profile {profile.name}")
        if config.mode is Mode.LIVE and not self.config.allow_live:
            raise ConflictError("the active profile is live and this server does not allow live sessions")
        missing = [v for v in live_credentials(config) if not os.environ.get(v)]
        if missing:
            raise ConflictError(f"a live session needs the venue's credentials: set {' and '.join(missing)} in "
                                "the server's environment")
        session_id = f"{self.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        folder = self.root / session_id
        row = StrategySession(id=session_id, configuration_id=profile.id, content_hash=profile.content_hash,
                              mode=config.mode.value, status="starting", started_at=self.now(), stop_reason="",
                              ledger_path=str(config.ledger.path), detail={"profile": profile.name,
                                                                             "version": profile.version,
                                                                             "kind": profile_kind(config)})
        await self.store.create_session(row, actor)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "profile.yaml").write_text(yaml.safe_dump(profile.body, sort_keys=False), encoding="utf-8")
            child = self.launcher(folder, folder / "profile.yaml", self.config.heartbeat_s)
        except (OSError, subprocess.SubprocessError) as err:
            reason = f"could not start the session process: {err}"
            await self.store.update_session(session_id, status="failed", stopped_at=self.now(), stop_reason=reason)
            _log.error("session_not_started", session=session_id, error=repr(err))
            raise SessionStartError(reason) from None
        since_ns = int(row.started_at.timestamp() * 1e9)
        self.followed = Followed(session_id, folder, child, LedgerFollower(Path(config.ledger.path), since_ns))
        row = await self.store.update_session(session_id, detail={**row.detail, "pid": child.pid,
                                                                  "folder": str(folder), "server": SERVER})
        _log.info("session_started", session=session_id, pid=child.pid, profile=profile.name)
        self.hub.publish("session", {"id": session_id, "status": "starting"})
        return row

    async def stop(self, actor: str, reason: str) -> StrategySession:
        """Ask the running session to stop (its working orders are cancelled first); 409 when none runs."""
        if self._control.locked():
            raise ConflictError("another start, stop or restart is in progress")
        async with self._control:
            return await self._stop(actor, reason)

    async def _stop(self, actor: str, reason: str) -> StrategySession:
        active = await self.store.active_session()
        if active is None or self.followed is None or self.followed.session_id != active.id:
            raise ConflictError("no session is running")
        if active.status == "stopping":
            return active
        self.followed.stop_requested_at = self.clock_s()
        self._signal(signal.SIGTERM)
        self.hub.publish("session", {"id": active.id, "status": "stopping"})
        try:
            await self.store.record(actor, "stop", f"session:{active.id}", {"reason": reason}, self.now())
            return await self.store.update_session(active.id, status="stopping", stop_reason=reason)
        except DatabaseUnavailableError as err:
            raise DatabaseUnavailableError(f"the session was told to stop; its end is recorded when the database "
                                           f"is back ({err})") from None

    async def restart(self, actor: str, reason: str, wait_s: float) -> StrategySession:
        """Stop the running session, wait until it has ended (at most `wait_s`), start a new one."""
        if self._control.locked():
            raise ConflictError("another start, stop or restart is in progress")
        async with self._control:
            if self.followed is not None:
                await self._stop(actor, reason)
                deadline = self.clock_s() + wait_s
                while self.followed is not None and self.clock_s() < deadline:
                    await self.watch_once()
                    await asyncio.sleep(min(0.2, self.config.heartbeat_s))
                if self.followed is not None:
                    raise ConflictError(f"the session did not stop within {wait_s:.0f} s; try again")
            return await self._start(actor)

    async def command(self, actor: str, state: str, scope: str | None, reason: str) -> dict[str, Any]:
        """Drop a trading-state command into the running session's channel; its answer comes with a later
        heartbeat (see `answers`)."""
        followed = self.followed
        if followed is None or followed.stop_requested_at is not None:
            raise ConflictError("no session is running")
        followed.commands += 1
        command_id = f"{followed.commands:06d}-{uuid.uuid4().hex[:6]}"
        body = {"id": command_id, "state": state, "scope": scope, "reason": f"{reason} ({actor})"}
        partial = followed.folder / "commands" / f"{command_id}.tmp"
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(body), encoding="utf-8")
        os.replace(partial, partial.with_suffix(".json"))
        detail = {"scope": scope or "session", "reason": reason, "command": command_id}
        try:
            await self.store.record(actor, state.lower(), f"session:{followed.session_id}", detail, self.now())
        except DatabaseUnavailableError as err:       # the command is on its way: its audit row must not stop it
            _log.error("audit_not_written", action=state.lower(), detail=detail, error=str(err))
        return body

    def answer(self, command_id: str) -> dict[str, Any] | None:
        status = self.followed.status if self.followed else None
        return status.answers.get(command_id) if status else None

    def _signal(self, signum: int, group: bool = False) -> None:
        """To the session's process; `group`: to its whole process group (a kill leaves nothing it started)."""
        child = self.followed.child if self.followed else None
        if child is None or child.poll() is not None:
            return
        if group:
            try:
                os.killpg(child.pid, signum)
                return
            except (ProcessLookupError, PermissionError):
                pass
        child.send_signal(signum)

    # ---- watching -----------------------------------------------------------------------------------------

    def start_watching(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch_forever(), name="control-watch")

    async def stop_watching(self) -> None:
        """The server is stopping: a running session is stopped in order (its working orders cancelled) and its end
        recorded, waiting at most `stop_timeout_s`; then following stops."""
        followed = self.followed
        if followed is not None and followed.child is not None and followed.child.poll() is None:
            _log.warning("session_stopped_with_the_server", session=followed.session_id)
            try:
                if followed.stop_requested_at is None:
                    await self._stop("server", "the control plane stopped")
                deadline = self.clock_s() + self.config.stop_timeout_s
                while self.followed is not None and self.clock_s() < deadline:
                    await self.watch_once()
                    await asyncio.sleep(0.1)
            except (ConflictError, DatabaseUnavailableError) as err:
                _log.error("session_stop_with_the_server_failed", error=str(err))
                self._signal(signal.SIGTERM)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _watch_forever(self) -> None:
        """Follow until cancelled; an error is logged with its traceback and the next round tries again (a
        watcher that died would leave a session unwatched, its end unrecorded, its stop timeout not enforced)."""
        leftovers_checked = False
        while True:
            try:
                if not leftovers_checked:
                    await self.adopt_or_close_leftovers()
                    leftovers_checked = True
                await self.watch_once()
                if not self.database_ok:
                    _log.info("control_database_back")
                self.database_ok = True
            except DatabaseUnavailableError as err:
                if self.database_ok:
                    _log.error("control_database_unavailable", error=str(err), hint="the session keeps trading "
                               "under its own risk rules; its rows are written when the database is back")
                self.database_ok = False
            except Exception:  # noqa: BLE001 - logged; following must go on (see the docstring)
                _log.exception("session_watch_failed")
            await asyncio.sleep(self.config.heartbeat_s)

    async def adopt_or_close_leftovers(self) -> None:
        """At start: a session the database shows as active that this server's host ran and whose server process
        is gone (or that names no server) is closed with the reason; its ledger keeps its orders, and the next
        session reconciles with the broker. A session another live server runs is left to it."""
        active = await self.store.active_session()
        if active is None or self.followed is not None:
            return
        host, _, pid = str(active.detail.get("server", "")).rpartition(":")
        if host and host != socket.gethostname():
            _log.warning("session_of_another_server", session=active.id, server=active.detail["server"])
            return
        if pid.isdigit() and _alive(int(pid)):
            _log.warning("session_of_another_server", session=active.id, server=active.detail["server"])
            return
        await self.store.update_session(active.id, status="failed", stopped_at=self.now(),
                                        stop_reason="the control plane restarted while this session ran; the "
                                                    "session was told to stop when it went away")

    async def watch_once(self) -> None:
        """One round of following (callers other than the watcher, a restart or a halt waiting for its answer,
        take turns with it: two rounds at once would fold the same ledger events twice)."""
        async with self._watching:
            followed = self.followed
            if followed is not None:
                await self._follow(followed)

    async def _follow(self, followed: Followed) -> None:
        status = read_status(followed.folder / "status.json")
        news = await asyncio.to_thread(followed.follower.read)
        for fill in news.fills:
            self.hub.publish("fill", {"session": followed.session_id, **fill})
        for order in news.orders:                    # kept until written: a database away loses none
            followed.unsaved[order.client_order_id] = order
        if followed.unsaved:
            await self.store.save_orders(followed.session_id, list(followed.unsaved.values()))
            followed.unsaved.clear()
            self.changed(followed.session_id)
        if status is not None and status.time_ns != followed.last_status_ns:
            followed.last_status_ns, followed.status = status.time_ns, status
            await self._heartbeat(followed, status)
        code = followed.child.poll() if followed.child is not None else None
        if code is not None:
            await self._ended(followed, code, status)
        elif followed.stop_requested_at is not None and \
                self.clock_s() - followed.stop_requested_at > self.config.stop_timeout_s:
            _log.error("session_killed_after_stop_timeout", session=followed.session_id)
            self._signal(signal.SIGKILL, group=True)

    async def _heartbeat(self, followed: Followed, status: SessionStatus) -> None:
        at = utc(status.time_ns)
        values: dict[str, Any] = {"heartbeat_at": at}
        if status.state == "running" and followed.stop_requested_at is None:
            values["status"] = "running"
        await self.store.update_session(followed.session_id, **values)
        book = (status.status or {}).get("book") or {}
        due = status.time_ns - followed.last_snapshot_ns >= self.config.snapshot_every_s * 1e9
        if status.state == "running" and status.status is not None:
            await self.store.replace_positions(followed.session_id,
                                               position_rows(status.status, followed.follower.state, at))
        total = book.get("total")
        if status.state == "running" and total and due:          # an unmarked book is no P&L point, not a zero
            followed.last_snapshot_ns = status.time_ns
            ledger = followed.follower.state
            await self.store.add_snapshot(TradeAnalyticsSnapshot(
                session_id=followed.session_id, at=at, realized_usd=float(total.get("realized_usd", 0.0)),
                unrealized_usd=float(total.get("unrealized_usd", 0.0)), orders=len(ledger.orders),
                fills=followed.follower.fills, open_contracts=int(sum(abs(q) for q in ledger.positions.values()))))
            self.changed(followed.session_id)
        risk = (status.status or {}).get("risk") or {}
        self.hub.publish("heartbeat", {"session": followed.session_id, "state": status.state, "at": at.isoformat(),
                                       "pnl_usd": (book.get("total") or {}).get("pnl_usd"),
                                       "trading_states": risk.get("states", {})})

    async def _ended(self, followed: Followed, code: int, status: SessionStatus | None) -> None:
        error = ((status.status or {}).get("error") if status is not None else "") or ""
        requested = followed.stop_requested_at is not None
        stopped_in_order = status is not None and status.state == "stopped" and not error
        if (code == 0 or (requested and stopped_in_order)) and not error:
            outcome, reason = "stopped", "stopped on request" if requested else "ended by itself (its duration)"
        else:
            outcome = "failed"
            reason = error or f"the session process exited with code {code}: see {followed.folder / 'session.log'}"
        row = await self.store.active_session()
        values: dict[str, Any] = {"status": outcome, "stopped_at": self.now()}
        if not (row and row.stop_reason and outcome == "stopped"):
            values["stop_reason"] = reason
        await self.store.update_session(followed.session_id, **values)
        followed.follower.close()
        if self.followed is followed:
            self.followed = None
        _log.info("session_ended", session=followed.session_id, outcome=outcome, code=code, reason=reason)
        self.hub.publish("session", {"id": followed.session_id, "status": outcome, "reason": reason})
