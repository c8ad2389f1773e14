"""/api/trading, /api/analytics, /api/risk and /api/stream: session control, what sessions did, and live news."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime

import numpy as np
from aiohttp import web

from control.api import ApiError, Call, Route
from control.schemas import (
    CommandOut,
    ControlIn,
    Dashboard,
    Heartbeat,
    OrderOut,
    PnlSeries,
    PositionOut,
    RiskOut,
    SessionOut,
    SessionQuery,
    SessionsQuery,
    TradingStateIn,
)
from control.sessions import SessionManager
from persistence.control.store import ControlStore
from persistence.control.tables import StrategySession

_ANSWER_WAIT_S = 10.0
"""How long a halt or resume request waits for the session's answer before it returns without one."""
_DASHBOARDS_KEPT = 64
"""Dashboards answered from memory (per session and series length)."""
_STREAM_WRITE_S = 10.0
"""A stream client that does not take an event within this long is dropped."""


class TradingRoutes:
    def __init__(self, store: ControlStore, sessions: SessionManager, now: Callable[[], datetime],
                 clock_s: Callable[[], float]) -> None:
        self.store, self.sessions, self.now, self.clock_s = store, sessions, now, clock_s
        self._dashboards: dict[tuple[str, int], tuple[int, bytes]] = {}
        self._building: dict[tuple[str, int], asyncio.Lock] = {}

    def routes(self) -> list[Route]:
        return [
            Route("POST", "/api/trading/control", self.control, "Start, stop or restart the session of the active "
                  "profile (paper unless the server allows live)", "trading", SessionOut, body=ControlIn,
                  status=202, errors=(409,)),
            Route("GET", "/api/trading/heartbeat", self.heartbeat, "The session's status and last heartbeat",
                  "trading", Heartbeat),
            Route("GET", "/api/trading/sessions", self.list_sessions, "Sessions, newest first", "trading",
                  list[SessionOut], query=SessionsQuery),
            Route("GET", "/api/trading/orders", self.orders, "A session's orders from its ledger, newest first",
                  "trading", list[OrderOut], query=SessionQuery, errors=(404,)),
            Route("GET", "/api/trading/positions", self.positions, "A session's positions with marks, P&L and "
                  "greeks from its book", "trading", list[PositionOut], query=SessionQuery, errors=(404,)),
            Route("GET", "/api/analytics/dashboard", self.dashboard, "KPI tiles and the P&L series", "analytics",
                  Dashboard, query=SessionQuery, errors=(404,)),
            Route("GET", "/api/risk", self.risk, "The risk gate's trading states and counts", "risk", RiskOut),
            Route("POST", "/api/risk/halt", self.halt, "Halt the session (or one sender): working orders are "
                  "cancelled, nothing new is sent until resumed (the kill switch)", "risk", CommandOut,
                  body=TradingStateIn, errors=(409,)),
            Route("POST", "/api/risk/resume", self.resume, "Let a halted or reducing session (or sender) trade "
                  "again", "risk", CommandOut, body=TradingStateIn, errors=(409,)),
            Route("GET", "/api/stream", self.stream, "Server-sent events: heartbeat, fill and session news",
                  "stream", None, status=200, extra_responses={200: "text/event-stream"}, errors=(503,)),
        ]

    async def control(self, call: Call) -> SessionOut:
        body: ControlIn = call.body
        if body.action == "start":
            row = await self.sessions.start(call.actor)
        elif body.action == "stop":
            row = await self.sessions.stop(call.actor, body.reason)
        else:
            row = await self.sessions.restart(call.actor, body.reason, self.sessions.config.stop_timeout_s)
        return SessionOut.model_validate(row)

    async def heartbeat(self, call: Call) -> Heartbeat:
        row = await self.store.active_session() or next(iter(await self.store.sessions(1)), None)
        active = await self.store.active_configuration()
        age = (self.now() - row.heartbeat_at).total_seconds() if row and row.heartbeat_at else None
        running = row is not None and row.status in ("starting", "running", "stopping")
        status = self.sessions.followed.status if self.sessions.followed else None
        risk = ((status.status or {}).get("risk") or {}) if status else {}
        return Heartbeat(session=SessionOut.model_validate(row) if row else None, running=running,
                         answering=running and age is not None and age <= self.sessions.config.heartbeat_stale_s,
                         heartbeat_age_s=age, trading_states=risk.get("states", {}),
                         active_configuration_id=active.id if active else None,
                         active_differs=bool(running and active and row.content_hash != active.content_hash),
                         server_time=self.now())

    async def list_sessions(self, call: Call) -> list[SessionOut]:
        return [SessionOut.model_validate(row) for row in await self.store.sessions(call.query.limit)]

    async def _session(self, query: SessionQuery) -> StrategySession | None:
        if query.session_id:
            return await self.store.session(query.session_id)
        return await self.store.active_session() or next(iter(await self.store.sessions(1)), None)

    async def orders(self, call: Call) -> list[OrderOut]:
        row = await self._session(call.query)
        rows = await self.store.orders(row.id, call.query.limit) if row else []
        return [OrderOut.model_validate(order) for order in rows]

    async def positions(self, call: Call) -> list[PositionOut]:
        row = await self._session(call.query)
        return [PositionOut.model_validate(p) for p in await self.store.positions(row.id)] if row else []

    async def dashboard(self, call: Call) -> web.Response:
        """Built from the database once per change of the session's data (`SessionManager.versions`: only this
        server writes it), then answered from memory: a dashboard polled by many clients costs one query."""
        row = await self._session(call.query)
        if row is None:
            board = dashboard(None, [], 0, 0)
            return web.json_response(board.model_dump(mode="json"))
        key, version = (row.id, call.query.limit), self.sessions.versions.get(row.id, 0)
        cached = self._dashboards.get(key)
        if cached is None or cached[0] != version:
            async with self._building.setdefault(key, asyncio.Lock()):     # one builds, the others wait for it
                cached = self._dashboards.get(key)
                if cached is None or cached[0] != version:
                    rows = await self.store.pnl_series(row.id, call.query.limit)
                    board = dashboard(row.id, rows, *await self.store.order_counts(row.id))
                    cached = self._dashboards[key] = (version, json.dumps(board.model_dump(mode="json")).encode())
            while len(self._dashboards) > _DASHBOARDS_KEPT:
                self._building.pop(next(iter(self._dashboards)), None)
                self._dashboards.pop(next(iter(self._dashboards)))
        return web.Response(body=cached[1], content_type="application/json")

    async def risk(self, call: Call) -> RiskOut:
        followed = self.sessions.followed
        status = followed.status if followed else None
        risk = ((status.status or {}).get("risk") or {}) if status else {}
        return RiskOut(session_id=followed.session_id if followed else None, trading_states=risk.get("states", {}),
                       working_orders=risk.get("working"), open_contracts=risk.get("open_contracts"),
                       denials_by_code={str(k): int(v) for k, v in (risk.get("by_code") or {}).items()})

    async def halt(self, call: Call) -> CommandOut:
        return await self._state(call, "REDUCING" if call.body.reducing else "HALTED")

    async def resume(self, call: Call) -> CommandOut:
        return await self._state(call, "ACTIVE")

    async def _state(self, call: Call, state: str) -> CommandOut:
        body: TradingStateIn = call.body
        sent = await self.sessions.command(call.actor, state, body.scope, body.reason)
        deadline = self.clock_s() + _ANSWER_WAIT_S
        answer = None
        while answer is None and self.clock_s() < deadline:
            await asyncio.sleep(0.1)
            await self.sessions.watch_once()
            answer = self.sessions.answer(sent["id"])
        return CommandOut(id=sent["id"], state=state, scope=body.scope, reason=body.reason, answer=answer)

    async def stream(self, call: Call) -> web.StreamResponse:
        hub = self.sessions.hub
        queue = hub.subscribe()
        if queue is None:
            raise ApiError(503, "too_many_streams", f"at most {hub.max_clients} stream clients at once")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        try:
            await response.prepare(call.request)
            await response.write(b": connected\n\n")
            while queue in hub.queues:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=15.0)
                except asyncio.TimeoutError:
                    item = ("ping", json.dumps({"at": self.now().isoformat()}))
                if item is None:
                    break
                kind, data = item
                await asyncio.wait_for(response.write(f"event: {kind}\ndata: {data}\n\n".encode()), _STREAM_WRITE_S)
        except (ConnectionResetError, asyncio.TimeoutError):
            pass
        finally:
            hub.unsubscribe(queue)
        return response


def dashboard(session_id: str | None, rows: list[tuple], orders: int, filled: int) -> Dashboard:
    """The tiles from the last snapshot and the ledger's order counts; the series and its drawdown (the largest fall
    of the P&L from its running peak) from the snapshots `rows` (at, realized, unrealized, fills, open)."""
    realized = np.array([r[1] for r in rows], dtype=np.float64)
    unrealized = np.array([r[2] for r in rows], dtype=np.float64)
    pnl = np.round(realized + unrealized, 2)
    drawdown = float(np.max(np.maximum.accumulate(pnl) - pnl)) if pnl.size else 0.0
    last = rows[-1] if rows else None
    series = PnlSeries.model_construct(at=[r[0] for r in rows], realized_usd=realized.tolist(),
                                       unrealized_usd=unrealized.tolist(), pnl_usd=pnl.tolist())  # typed already
    return Dashboard(session_id=session_id, pnl_usd=float(pnl[-1]) if pnl.size else 0.0,
                     realized_usd=float(realized[-1]) if pnl.size else 0.0,
                     unrealized_usd=float(unrealized[-1]) if pnl.size else 0.0, orders=orders,
                     fills=int(last[3]) if last else 0, filled_orders=filled,
                     fill_rate=round(filled / orders, 4) if orders else None,
                     open_contracts=int(last[4]) if last else 0, max_drawdown_usd=round(drawdown, 2), series=series)
