"""The ledger's events and the state folded from them (pure: storage lives in persistence.sqlite_ledger).

Every order intent is an event written before the order leaves; acks, fills, cancels, rejects
and replaces are events written when they arrive. `fold` rebuilds orders and positions from
the events alone, so a restarted component recovers from the ledger, never from memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple, Protocol

from core.orders import (
    ACTIVE_STATES,
    CancelRejected,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    OrderSide,
    OrderStatus,
    SubmitOrder,
)


class LedgerEvent(NamedTuple):
    """`seq` is assigned by the store (0 before); `payload` holds JSON-able details of the kind."""

    seq: int
    time_ns: int
    kind: str                 # intent, cancel_request, replace_request, accepted, filled, cancelled, rejected, ...
    client_order_id: str
    owner: str
    payload: dict


class LedgerStore(Protocol):
    def append(self, event: LedgerEvent) -> LedgerEvent: ...
    def events(self) -> list[LedgerEvent]: ...
    def has_intent(self, client_order_id: str) -> bool: ...


def intent_event(order: SubmitOrder, owner: str, time_ns: int) -> LedgerEvent:
    legs = [[leg.contract.symbol, leg.contract.expiry, leg.contract.strike, leg.contract.right, leg.ratio]
            for leg in order.legs]
    return LedgerEvent(0, time_ns, "intent", order.client_order_id, owner,
                       {"legs": legs, "side": order.side, "quantity": order.quantity, "limit_price": order.limit_price})


_KIND_OF = {OrderAccepted: "accepted", OrderFilled: "filled", OrderCancelled: "cancelled", OrderRejected: "rejected",
            CancelRejected: "cancel_rejected", OrderReplaced: "replaced"}


def order_event(event: Any, owner: str) -> LedgerEvent:
    """A ledger event for an exchange event (core.orders.ORDER_EVENTS)."""
    payload = {k: (list(v) if isinstance(v, tuple) else v) for k, v in zip(event._fields, event)
               if k != "client_order_id" and k != "time_ns"}
    return LedgerEvent(0, event.time_ns, _KIND_OF[type(event)], event.client_order_id, owner, payload)


@dataclass
class OrderRecord:
    client_order_id: str
    owner: str
    legs: list
    side: str
    quantity: int
    limit_price: float
    status: OrderStatus = OrderStatus.PENDING_NEW
    filled: int = 0
    reason: str | None = None


@dataclass
class LedgerState:
    orders: dict[str, OrderRecord] = field(default_factory=dict)
    positions: dict[tuple, int] = field(default_factory=dict)      # (symbol, expiry, strike, right) -> contracts
    last_seq: int = 0

    def working(self) -> list[OrderRecord]:
        return [o for o in self.orders.values() if o.status in ACTIVE_STATES]


def fold(events: Iterable[LedgerEvent], state: LedgerState | None = None) -> LedgerState:
    """Apply events in order; events for an unknown order are kept out and do not raise."""
    state = state or LedgerState()
    for event in events:
        state.last_seq = max(state.last_seq, event.seq)
        if event.kind == "intent":
            p = event.payload
            state.orders[event.client_order_id] = OrderRecord(event.client_order_id, event.owner, p["legs"], p["side"],
                                                              p["quantity"], p["limit_price"])
            continue
        record = state.orders.get(event.client_order_id)
        if record is not None:
            _APPLY.get(event.kind, lambda s, r, e: None)(state, record, event)
    return state


def _accepted(state: LedgerState, record: OrderRecord, event: LedgerEvent) -> None:
    if record.status is OrderStatus.PENDING_NEW:
        record.status = OrderStatus.ACCEPTED


def _filled(state: LedgerState, record: OrderRecord, event: LedgerEvent) -> None:
    quantity = event.payload["quantity"]
    record.filled = event.payload["cumulative_quantity"]
    if record.status is not OrderStatus.CANCELLED:
        record.status = OrderStatus.FILLED if record.filled >= record.quantity else OrderStatus.PARTIALLY_FILLED
    sign = 1 if record.side == OrderSide.BUY.value else -1
    for symbol, expiry, strike, right, ratio in record.legs:
        key = (symbol, expiry, float(strike), right)
        state.positions[key] = state.positions.get(key, 0) + sign * ratio * quantity
        if state.positions[key] == 0:
            del state.positions[key]


def _cancelled(state: LedgerState, record: OrderRecord, event: LedgerEvent) -> None:
    record.quantity -= event.payload["cancelled_quantity"]
    record.status = OrderStatus.CANCELLED


def _rejected(state: LedgerState, record: OrderRecord, event: LedgerEvent) -> None:
    record.status, record.reason = OrderStatus.REJECTED, event.payload["reason"]


def _replaced(state: LedgerState, record: OrderRecord, event: LedgerEvent) -> None:
    record.limit_price = event.payload["limit_price"]
    record.quantity = record.filled + event.payload["leaves_quantity"]


_APPLY = {"accepted": _accepted, "filled": _filled, "cancelled": _cancelled, "rejected": _rejected,
          "replaced": _replaced}


class MemoryLedgerStore:
    """The ledger in memory, for backtests (same interface as the SQLite store)."""

    def __init__(self) -> None:
        self._events: list[LedgerEvent] = []
        self._intents: set[str] = set()

    def append(self, event: LedgerEvent) -> LedgerEvent:
        stored = LedgerEvent(len(self._events) + 1, *event[1:])
        self._events.append(stored)
        if event.kind == "intent":
            self._intents.add(event.client_order_id)
        return stored

    def events(self) -> list[LedgerEvent]:
        return list(self._events)

    def has_intent(self, client_order_id: str) -> bool:
        return client_order_id in self._intents
