"""Follows a running session from outside: its ledger (orders, fills) and its channel's status (heartbeat, book,
risk), turned into the control database's rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.ledger import LedgerEvent, LedgerState, fold
from persistence.control.tables import OrderLedgerRow, PositionLedgerRow
from persistence.sqlite_ledger import SqliteLedgerStore


def utc(time_ns: int) -> datetime:
    return datetime.fromtimestamp(time_ns / 1e9, tz=timezone.utc)


@dataclass
class LedgerNews:
    orders: list[OrderLedgerRow]
    fills: list[dict[str, Any]]


@dataclass
class LedgerFollower:
    """Folds a session's SQLite ledger as it grows; only orders sent from `since_ns` on belong to the session (a
    ledger outlives sessions)."""

    path: Path
    since_ns: int
    state: LedgerState = field(default_factory=LedgerState)
    fills: int = 0
    _store: SqliteLedgerStore | None = None

    def read(self) -> LedgerNews:
        """What changed since the last read (call it off the event loop: it reads a file)."""
        if self._store is None:
            if not self.path.exists():
                return LedgerNews([], [])
            self._store = SqliteLedgerStore(self.path)
        events = [e for e in self._store.events_after(self.state.last_seq)
                  if e.kind != "intent" or e.time_ns >= self.since_ns]
        fold(events, self.state)
        touched = {e.client_order_id for e in events if e.client_order_id in self.state.orders}
        fills = [_fill(e) for e in events if e.kind == "filled" and e.client_order_id in self.state.orders]
        self.fills += len(fills)
        last = {e.client_order_id: e for e in events}
        return LedgerNews([_order_row(self.state.orders[c], last[c]) for c in sorted(touched)], fills)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _fill(event: LedgerEvent) -> dict[str, Any]:
    return {"client_order_id": event.client_order_id, "owner": event.owner, "time_ns": event.time_ns,
            "quantity": event.payload.get("quantity"), "price_per_share": event.payload.get("price")}


def _order_row(order: Any, last: LedgerEvent) -> OrderLedgerRow:
    return OrderLedgerRow(client_order_id=order.client_order_id, owner=order.owner, legs=list(order.legs),
                          side=str(order.side), quantity=int(order.quantity),
                          limit_price_per_share=float(order.limit_price), status=str(order.status.value),
                          filled_quantity=int(order.filled), average_fill_price_per_share=order.average_price,
                          last_event_seq=last.seq, updated_at=utc(last.time_ns))


@dataclass
class SessionStatus:
    """The channel's status.json as read: when it was written, by which pid, the session's state and status."""

    time_ns: int
    pid: int
    state: str
    status: dict[str, Any] | None
    answers: dict[str, Any]


def read_status(path: Path) -> SessionStatus | None:
    """The latest status, or None when there is none yet (or it is being replaced: the next read gets it)."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return SessionStatus(int(body["time_ns"]), int(body["pid"]), str(body["state"]), body.get("status"),
                             dict(body.get("answers") or {}))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def position_rows(status: dict[str, Any] | None, ledger: LedgerState, at: datetime) -> list[PositionLedgerRow]:
    """The positions with the book's marks and greeks where the status has them, and the ledger's quantities for
    the positions the book does not show (a crypto strangle shows only the legs it manages: a leg it could not
    resume is still held, and shown)."""
    book = (status or {}).get("book") or {}
    rows = [PositionLedgerRow(symbol=p["symbol"], expiry=p["expiry"] or "", strike=float(p["strike"]),
                              right=p["right"], quantity=int(p["quantity"]), mark_per_share=p["mark_per_share"],
                              unrealized_usd=p["unrealized_usd"], delta_shares=p["delta_shares"],
                              gamma_shares=p["gamma_shares_per_usd"], vega_usd=p["vega_usd_per_vol_point"],
                              theta_usd=p["theta_usd_per_day"], updated_at=at) for p in book.get("positions", [])]
    shown = {(r.symbol, r.expiry, r.strike, r.right) for r in rows}
    return rows + [PositionLedgerRow(symbol=s, expiry=e or "", strike=float(k), right=r, quantity=q, updated_at=at)
                   for (s, e, k, r), q in sorted(ledger.positions.items())
                   if q and (s, e or "", float(k), r) not in shown]
