"""The paper exchange's bookkeeping, as a component: idempotent order intake, order records, fills,
positions, and the event stream that the HTTP layer fans out to websocket clients.

Client order ids are idempotent: the same id with the same order returns the existing record
(a client retry never creates a second order); the same id with a different order is a conflict.

Memory is bounded: beyond `max_finished_orders` finished orders the oldest are forgotten (their records;
positions keep their fills), and an id forgotten stays refused for reuse while it is among the last
10 x max_finished_orders forgotten; the fills list keeps the last 10 x max_finished_orders fills. Orders and
fills carry a `seq` (increasing) that the API pages by.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from actors import names
from actors.runtime.component import Component
from core.orders import (
    EVENT_KIND,
    REJECT_CODES,
    CancelOrder,
    OrderFilled,
    OrderSide,
    OrderState,
    OrderStatus,
    ReplaceOrder,
    SubmitOrder,
)


class OrderConflictError(Exception):
    """A client order id reused for a different order."""


class UnknownOrderError(KeyError):
    """No order with that client order id."""


class ForgottenOrderError(KeyError):
    """An order that finished long ago and is no longer kept (`max_finished_orders`)."""


def public_record(record: dict[str, Any], events: bool = False) -> dict[str, Any]:
    """An order record as the API shows it (events only when asked for)."""
    return {k: v for k, v in record.items() if events or k != "events"}


def _record_json(state: OrderState, created_ns: int, events: list[dict], seq: int) -> dict[str, Any]:
    """The API's view of an order's state (core.orders.OrderState), with its events."""
    record = {"client_order_id": state.client_order_id, "legs": state.legs, "side": state.side,
              "quantity": state.quantity, "limit_price": state.limit_price, "status": state.status.value,
              "filled_quantity": state.filled, "leaves_quantity": state.leaves, "average_price": state.average_price,
              "reason": state.reason, "reject_code": state.reject_code, "created_ns": created_ns, "seq": seq,
              "events": events}
    if state.last_cancel_reject is not None:
        record["last_cancel_reject"] = state.last_cancel_reject
    return record


def _leg_json(leg) -> dict:
    contract = leg.contract
    return {"symbol": contract.symbol, "expiry": contract.expiry, "strike": contract.strike,
            "right": contract.right, "ratio": leg.ratio}


class PaperService(Component):
    def __init__(self, name: str = names.PAPER, exchange: str = names.EXCHANGE,
                 max_finished_orders: int = 100_000) -> None:
        super().__init__(name)
        self.exchange = exchange
        self.max_finished_orders = max_finished_orders
        self.orders: dict[str, OrderState] = {}                       # in submission (seq) order
        self.history: dict[str, tuple[int, list[dict], int]] = {}     # client order id -> (created_ns, events, seq)
        self.requests: dict[str, SubmitOrder] = {}
        self.fills: deque[dict[str, Any]] = deque(maxlen=10 * max_finished_orders)
        self.finished: dict[str, None] = {}                           # settled ids, oldest first
        self.forgotten: dict[str, None] = {}                          # ids forgotten, oldest first (bounded)
        self.order_seq = self.fill_seq = 0
        self.positions: dict[tuple, int] = {}
        self.listeners: list[Callable[[dict], None]] = []
        self.sent_to_exchange = 0
        self.client_of: dict[str, str] = {}                           # client order id -> the client that sent it
        self.dead_man: dict[str, tuple[int, int]] = {}                # client -> (timeout ns, last heartbeat ns)
        self.dead_man_cancels = 0

    def on_start(self, now_ns: int) -> None:
        """Every reject code starts at 0, so a rejects panel or alert has a series before the first reject."""
        for code in REJECT_CODES:
            self.telemetry.count("spreadwright_exchange_rejects_total", 0.0, reason=code)

    # ------------------------------------------------------------------ requests from the HTTP layer

    def submit(self, order: SubmitOrder, now_ns: int, client: str = "") -> tuple[dict[str, Any], bool]:
        """(record, created): created is False when this id was already taken by the same order. `client`: who
        sent it (its dead-man's switch cancels it)."""
        if order.client_order_id in self.forgotten:
            raise OrderConflictError(f"client_order_id {order.client_order_id!r} was used by an order that finished "
                                     "and is no longer kept")
        existing = self.requests.get(order.client_order_id)
        if existing is not None:
            if existing != order:
                raise OrderConflictError(f"client_order_id {order.client_order_id!r} is already used by another order")
            return self.record(order.client_order_id), False
        self.requests[order.client_order_id] = order
        self.client_of[order.client_order_id] = client
        self.orders[order.client_order_id] = OrderState(order.client_order_id, order.owner,
                                                        [_leg_json(leg) for leg in order.legs], order.side,
                                                        order.quantity, order.limit_price)
        self.order_seq += 1
        self.history[order.client_order_id] = (now_ns, [], self.order_seq)
        self.sent_to_exchange += 1
        self.telemetry.count("spreadwright_exchange_orders_total", symbol=order.legs[0].contract.symbol,
                             kind="complex" if len(order.legs) > 1 else "single")
        self.port.send(self.exchange, order)
        return self.record(order.client_order_id), True

    def cancel(self, client_order_id: str) -> dict[str, Any]:
        record = self.record(client_order_id)
        self.port.send(self.exchange, CancelOrder(client_order_id, self.name))
        return record

    def replace(self, client_order_id: str, limit_price: float, quantity: int) -> dict[str, Any]:
        record = self.record(client_order_id)
        self.port.send(self.exchange, ReplaceOrder(client_order_id, self.name, limit_price, quantity))
        return record

    def record(self, client_order_id: str) -> dict[str, Any]:
        """The API's record of an order (a fresh dict: its state and events now)."""
        state = self.orders.get(client_order_id)
        if state is None:
            if client_order_id in self.forgotten:
                raise ForgottenOrderError(client_order_id)
            raise UnknownOrderError(client_order_id)
        return _record_json(state, *self.history[client_order_id])

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        """Every kept order's API record, by client order id."""
        return {coid: self.record(coid) for coid in self.orders}

    def page(self, after_seq: int, limit: int, status: str | None = None) -> tuple[list[dict[str, Any]], int | None]:
        """Up to `limit` records with seq > `after_seq` (and `status`: "working" or "done"), in seq order, and
        the seq to ask after for the next page (None when this was the last)."""
        out: list[dict[str, Any]] = []
        for coid, (_, _, seq) in self.history.items():
            if seq <= after_seq:
                continue
            done = self.orders[coid].done
            if status is not None and done != (status == "done"):
                continue
            if len(out) == limit:
                return out, out[-1]["seq"]
            out.append(self.record(coid))
        return out, None

    def fill_page(self, after_seq: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        """Up to `limit` kept fills with seq > `after_seq`, and the seq for the next page (None: the last)."""
        chosen = [f for f in self.fills if f["seq"] > after_seq]
        return chosen[:limit], (chosen[limit - 1]["seq"] if len(chosen) > limit else None)

    # ------------------------------------------------------------------ events from the exchange

    def on_message(self, event: Any, now_ns: int) -> None:
        state = self.orders.get(event.client_order_id)
        if state is None:
            self.log.error("event_for_unknown_order", client_order_id=event.client_order_id,
                           message_type=type(event).__name__)
            return
        kind = type(event).__name__
        payload = {"type": kind, **event._asdict()}
        self.history[event.client_order_id][1].append(payload)
        state.apply(EVENT_KIND[type(event)], payload)
        if isinstance(event, OrderFilled):
            self._book_fill(event)
        self._count_event(state, event)
        if state.done and (state.status is OrderStatus.REJECTED or state.filled >= state.quantity):
            self._finished(event.client_order_id)          # settled: no fill decided before a cancel still to come
        for listener in list(self.listeners):
            listener({"channel": "orders", "client_order_id": event.client_order_id, "status": state.status.value,
                      "event": payload})

    def _count_event(self, state: OrderState, event: Any) -> None:
        """The event metrics; a fill's label says whether it completed the order (filled) or not (partial)."""
        symbol = state.legs[0]["symbol"]
        label = EVENT_KIND[type(event)]
        if label == "filled":
            label = "filled" if event.leaves_quantity == 0 else "partial"
            self.telemetry.count("spreadwright_exchange_filled_contracts_total", event.quantity, symbol=symbol)
        elif label == "rejected":
            self.telemetry.count("spreadwright_exchange_rejects_total", reason=event.code)
        self.telemetry.count("spreadwright_exchange_order_events_total", symbol=symbol, event=label)

    def _finished(self, client_order_id: str) -> None:
        """A finished order joins the kept ones; beyond `max_finished_orders` the oldest is forgotten."""
        if client_order_id in self.finished:
            return
        self.finished[client_order_id] = None
        if len(self.finished) <= self.max_finished_orders:
            return
        oldest = next(iter(self.finished))
        del self.finished[oldest]
        for table in (self.orders, self.history, self.requests, self.client_of):
            table.pop(oldest, None)
        self.forgotten[oldest] = None
        if len(self.forgotten) > 10 * self.max_finished_orders:
            del self.forgotten[next(iter(self.forgotten))]

    # ------------------------------------------------------------------ dead-man's switch

    def heartbeat(self, client: str, timeout_s: float, now_ns: int) -> dict[str, Any]:
        """Arm (or keep armed) `client`'s dead-man's switch: no heartbeat for `timeout_s` and every order it has
        working is cancelled. `timeout_s` 0 disarms it."""
        if timeout_s <= 0:
            self.dead_man.pop(client, None)
            return {"client": client, "armed": False}
        timeout_ns = int(timeout_s * 1_000_000_000)
        armed_before = client in self.dead_man
        self.dead_man[client] = (timeout_ns, now_ns)
        if not armed_before:
            self.log.info("dead_man_armed", client=client, timeout_s=timeout_s)
        self.port.schedule(timeout_ns + 1, ("dead_man", client, now_ns))
        working = sum(1 for coid, who in self.client_of.items() if who == client and not self.orders[coid].done)
        return {"client": client, "armed": True, "timeout_s": timeout_s, "working": working}

    def on_timer(self, tag, now_ns: int) -> None:
        if tag[0] != "dead_man":
            return
        client, beat_ns = tag[1], tag[2]
        armed = self.dead_man.get(client)
        if armed is None or armed[1] != beat_ns:              # a later heartbeat came: its own timer checks it
            return
        del self.dead_man[client]
        orders = [coid for coid, who in self.client_of.items() if who == client and not self.orders[coid].done]
        for coid in orders:
            self.port.send(self.exchange, CancelOrder(coid, self.name))
        self.dead_man_cancels += len(orders)
        self.telemetry.count("spreadwright_exchange_dead_man_cancels_total", len(orders))
        self.log.warning("dead_man_tripped", client=client, cancelled=len(orders),
                         silent_s=(now_ns - beat_ns) / 1e9)

    def working_orders(self) -> int:
        return sum(not state.done for state in self.orders.values())

    def _book_fill(self, event: OrderFilled) -> None:
        """The fill's legs into positions and the fills list (each leg at its own price)."""
        order = self.requests[event.client_order_id]
        sign = 1 if order.side == OrderSide.BUY.value else -1
        for leg, price in zip(order.legs, event.leg_prices):
            key = tuple(leg.contract)
            self.positions[key] = self.positions.get(key, 0) + sign * leg.ratio * event.quantity
            self.fill_seq += 1
            self.fills.append({"seq": self.fill_seq, "client_order_id": event.client_order_id, **_leg_json(leg),
                               "quantity": sign * leg.ratio * event.quantity, "price": price, "time_ns": event.time_ns})

    def position_list(self) -> list[dict[str, Any]]:
        return [{"symbol": k[0], "expiry": k[1], "strike": k[2], "right": k[3], "quantity": q}
                for k, q in sorted(self.positions.items()) if q != 0]

    def snapshot(self) -> dict[str, Any]:
        statuses: dict[str, int] = {}
        for state in self.orders.values():
            statuses[state.status.value] = statuses.get(state.status.value, 0) + 1
        return {"orders": len(self.orders), "sent_to_exchange": self.sent_to_exchange, "statuses": statuses,
                "fills": self.fill_seq, "forgotten_orders": len(self.forgotten), "dead_man_armed": len(self.dead_man),
                "dead_man_cancels": self.dead_man_cancels}


