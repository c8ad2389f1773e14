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
    EVENT_KIND,
    Contract,
    OrderAccepted,
    OrderFilled,
    OrderLeg,
    OrderSide,
    OrderState,
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
    payload = {"legs": legs, "side": order.side, "quantity": order.quantity, "limit_price": order.limit_price}
    if order.intent:
        payload["intent"] = order.intent             # take or make, as the sender priced it
    return LedgerEvent(0, time_ns, "intent", order.client_order_id, owner, payload)


def order_event(event: Any, owner: str) -> LedgerEvent:
    """A ledger event for an exchange event (core.orders.ORDER_EVENTS)."""
    payload = {k: (list(v) if isinstance(v, tuple) else v) for k, v in zip(event._fields, event)
               if k != "client_order_id" and k != "time_ns"}
    return LedgerEvent(0, event.time_ns, EVENT_KIND[type(event)], event.client_order_id, owner, payload)


@dataclass
class LedgerState:
    orders: dict[str, OrderState] = field(default_factory=dict)
    positions: dict[tuple, int] = field(default_factory=dict)      # (symbol, expiry, strike, right) -> contracts
    last_seq: int = 0

    def working(self) -> list[OrderState]:
        return [o for o in self.orders.values() if o.status in ACTIVE_STATES]


_ORDER_EVENT_KINDS = frozenset(EVENT_KIND.values())


def fold(events: Iterable[LedgerEvent], state: LedgerState | None = None) -> LedgerState:
    """Apply events in order (each order's state by `OrderState.apply`, positions by its fills); events for an
    unknown order are kept out and do not raise."""
    state = state or LedgerState()
    for event in events:
        state.last_seq = max(state.last_seq, event.seq)
        if event.kind == "intent":
            p = event.payload
            state.orders[event.client_order_id] = OrderState(event.client_order_id, event.owner, p["legs"], p["side"],
                                                             p["quantity"], p["limit_price"])
            continue
        record = state.orders.get(event.client_order_id)
        if record is None or event.kind not in _ORDER_EVENT_KINDS:      # the gateway's own notes (a halt) too
            continue
        record.apply(event.kind, event.payload)
        if event.kind == "filled":
            _add_fill(state.positions, record, event.payload["quantity"])
    return state


def _add_fill(positions: dict[tuple, int], record: OrderState, quantity: int) -> None:
    sign = 1 if record.side == OrderSide.BUY.value else -1
    for symbol, expiry, strike, right, ratio in record.legs:
        key = (symbol, expiry, float(strike), right)
        positions[key] = positions.get(key, 0) + sign * ratio * quantity
        if positions[key] == 0:
            del positions[key]


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


ADOPTED_OWNER = "adopted"
"""The owner of the orders that stand in the ledger for positions the broker held and the ledger did not."""


def unknown_positions(state: LedgerState, broker_positions: dict[tuple, int]) -> dict[tuple, int]:
    """Per contract (symbol, expiry, strike, right): what the broker holds beyond the ledger (broker - ledger),
    where the two differ by more than the ledger's working orders could have filled meanwhile (those the
    gateway reconciles with the broker once it starts)."""
    could_fill: dict[tuple, list[int]] = {}                 # key -> [most sold, most bought] by working orders
    for record in state.working():
        left = record.quantity - record.filled
        sign = 1 if record.side == OrderSide.BUY.value else -1
        for symbol, expiry, strike, right, ratio in record.legs:
            bounds = could_fill.setdefault((symbol, expiry, float(strike), right), [0, 0])
            change = sign * ratio * left
            bounds[change > 0] += change
    keys = set(state.positions) | set(broker_positions)
    differences = {key: broker_positions.get(key, 0) - state.positions.get(key, 0) for key in keys}
    return {key: change for key, change in sorted(differences.items())
            if change and not could_fill.get(key, [0, 0])[0] <= change <= could_fill.get(key, [0, 0])[1]}


def adoption_events(differences: dict[tuple, int], time_ns: int, reason: str) -> list[LedgerEvent]:
    """Ledger events that make the folded positions equal the broker's: per contract, an order of ADOPTED_OWNER
    filled at 0 (the broker did not say what they cost) and a note with `reason`. Ids `adopted:<time>:<n>`."""
    events: list[LedgerEvent] = []
    for number, ((symbol, expiry, strike, right), change) in enumerate(differences.items(), start=1):
        coid = f"{ADOPTED_OWNER}:{time_ns}:{number}"
        order = SubmitOrder(coid, ADOPTED_OWNER, (OrderLeg(Contract(symbol, expiry, float(strike), right), 1),),
                            "BUY" if change > 0 else "SELL", abs(change), 0.0)
        events += [intent_event(order, ADOPTED_OWNER, time_ns),
                   LedgerEvent(0, time_ns, "adopted", coid, ADOPTED_OWNER, {"reason": reason}),
                   order_event(OrderAccepted(coid, time_ns), ADOPTED_OWNER),
                   order_event(OrderFilled(coid, abs(change), 0.0, (0.0,), abs(change), 0, time_ns), ADOPTED_OWNER)]
    return events
