"""The paper exchange's bookkeeping, as a component: idempotent order intake, order records, fills,
positions, and the event stream that the HTTP layer fans out to websocket clients.

Client order ids are idempotent: the same id with the same order returns the existing record
(a client retry never creates a second order); the same id with a different order is a conflict.
"""

from __future__ import annotations

from typing import Any, Callable

from actors import names
from actors.runtime.component import Component
from core.orders import (
    ACTIVE_STATES,
    REJECT_CODES,
    CancelOrder,
    CancelRejected,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    OrderSide,
    OrderStatus,
    ReplaceOrder,
    SubmitOrder,
)

WORKING_STATUSES = frozenset(status.value for status in ACTIVE_STATES)
_EVENT_LABEL = {"OrderAccepted": "accepted", "OrderRejected": "rejected", "OrderCancelled": "cancelled",
                "CancelRejected": "cancel_rejected", "OrderReplaced": "replaced"}


class OrderConflictError(Exception):
    """A client order id reused for a different order."""


class UnknownOrderError(KeyError):
    """No order with that client order id."""


def public_record(record: dict[str, Any], events: bool = False) -> dict[str, Any]:
    """An order record as the API shows it (events only when asked for)."""
    return {k: v for k, v in record.items() if events or k != "events"}


def _leg_json(leg) -> dict:
    contract = leg.contract
    return {"symbol": contract.symbol, "expiry": contract.expiry, "strike": contract.strike,
            "right": contract.right, "ratio": leg.ratio}


class PaperService(Component):
    def __init__(self, name: str = names.PAPER, exchange: str = names.EXCHANGE) -> None:
        super().__init__(name)
        self.exchange = exchange
        self.records: dict[str, dict[str, Any]] = {}
        self.requests: dict[str, SubmitOrder] = {}
        self.fills: list[dict[str, Any]] = []
        self.positions: dict[tuple, int] = {}
        self.listeners: list[Callable[[dict], None]] = []
        self.sent_to_exchange = 0

    def on_start(self, now_ns: int) -> None:
        """Every reject code starts at 0, so a rejects panel or alert has a series before the first reject."""
        for code in REJECT_CODES:
            self.telemetry.count("spreadwright_exchange_rejects_total", 0.0, reason=code)

    # ------------------------------------------------------------------ requests from the HTTP layer

    def submit(self, order: SubmitOrder, now_ns: int) -> tuple[dict[str, Any], bool]:
        """(record, created): created is False when this id was already taken by the same order."""
        existing = self.requests.get(order.client_order_id)
        if existing is not None:
            if existing != order:
                raise OrderConflictError(f"client_order_id {order.client_order_id!r} is already used by another order")
            return self.records[order.client_order_id], False
        self.requests[order.client_order_id] = order
        self.records[order.client_order_id] = {
            "client_order_id": order.client_order_id, "legs": [_leg_json(leg) for leg in order.legs],
            "side": order.side, "quantity": order.quantity, "limit_price": order.limit_price,
            "status": OrderStatus.PENDING_NEW.value, "filled_quantity": 0, "leaves_quantity": order.quantity,
            "average_price": None, "reason": None, "reject_code": None, "created_ns": now_ns, "events": []}
        self.sent_to_exchange += 1
        self.telemetry.count("spreadwright_exchange_orders_total", symbol=order.legs[0].contract.symbol,
                             kind="complex" if len(order.legs) > 1 else "single")
        self.port.send(self.exchange, order)
        return self.records[order.client_order_id], True

    def cancel(self, client_order_id: str) -> dict[str, Any]:
        record = self.record(client_order_id)
        self.port.send(self.exchange, CancelOrder(client_order_id, self.name))
        return record

    def replace(self, client_order_id: str, limit_price: float, quantity: int) -> dict[str, Any]:
        record = self.record(client_order_id)
        self.port.send(self.exchange, ReplaceOrder(client_order_id, self.name, limit_price, quantity))
        return record

    def record(self, client_order_id: str) -> dict[str, Any]:
        record = self.records.get(client_order_id)
        if record is None:
            raise UnknownOrderError(client_order_id)
        return record

    # ------------------------------------------------------------------ events from the exchange

    def on_message(self, event: Any, now_ns: int) -> None:
        record = self.records.get(event.client_order_id)
        if record is None:
            self.log.error("event_for_unknown_order", client_order_id=event.client_order_id,
                           message_type=type(event).__name__)
            return
        kind = type(event).__name__
        payload = {"type": kind, **event._asdict()}
        record["events"].append(payload)
        _APPLY[type(event)](self, record, event)
        self._count_event(record, event, kind)
        for listener in list(self.listeners):
            listener({"channel": "orders", "client_order_id": event.client_order_id, "status": record["status"],
                      "event": payload})

    def _count_event(self, record: dict, event: Any, kind: str) -> None:
        symbol = record["legs"][0]["symbol"]
        label = _EVENT_LABEL.get(kind)
        if label is None:
            label = "filled" if event.leaves_quantity == 0 else "partial"
            self.telemetry.count("spreadwright_exchange_filled_contracts_total", event.quantity, symbol=symbol)
        elif label == "rejected":
            self.telemetry.count("spreadwright_exchange_rejects_total", reason=event.code)
        self.telemetry.count("spreadwright_exchange_order_events_total", symbol=symbol, event=label)

    def working_orders(self) -> int:
        return sum(record["status"] in WORKING_STATUSES for record in self.records.values())

    def _accepted(self, record: dict, event: OrderAccepted) -> None:
        if record["status"] == OrderStatus.PENDING_NEW.value:
            record["status"] = OrderStatus.ACCEPTED.value

    def _rejected(self, record: dict, event: OrderRejected) -> None:
        record["status"], record["reason"], record["leaves_quantity"] = OrderStatus.REJECTED.value, event.reason, 0
        record["reject_code"] = event.code

    def _filled(self, record: dict, event: OrderFilled) -> None:
        previous = record["filled_quantity"]
        average = record["average_price"] or 0.0
        record["filled_quantity"] = event.cumulative_quantity
        record["leaves_quantity"] = event.leaves_quantity
        record["average_price"] = round((average * previous + event.price * event.quantity) / event.cumulative_quantity, 6)
        if record["status"] != OrderStatus.CANCELLED.value:
            done = event.cumulative_quantity >= record["quantity"]
            record["status"] = (OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED).value
        order = self.requests[event.client_order_id]
        sign = 1 if order.side == OrderSide.BUY.value else -1
        for leg, price in zip(order.legs, event.leg_prices):
            key = tuple(leg.contract)
            self.positions[key] = self.positions.get(key, 0) + sign * leg.ratio * event.quantity
            self.fills.append({"client_order_id": event.client_order_id, **_leg_json(leg),
                               "quantity": sign * leg.ratio * event.quantity, "price": price, "time_ns": event.time_ns})

    def _cancelled(self, record: dict, event: OrderCancelled) -> None:
        """Cancelled keeps its fills: quantity shrinks to what was filled."""
        record["quantity"] -= event.cancelled_quantity
        record["leaves_quantity"] = 0
        record["status"] = OrderStatus.CANCELLED.value

    def _cancel_rejected(self, record: dict, event: CancelRejected) -> None:
        record["last_cancel_reject"] = event.reason

    def _replaced(self, record: dict, event: OrderReplaced) -> None:
        record["limit_price"] = event.limit_price
        record["leaves_quantity"] = event.leaves_quantity
        record["quantity"] = record["filled_quantity"] + event.leaves_quantity

    def position_list(self) -> list[dict[str, Any]]:
        return [{"symbol": k[0], "expiry": k[1], "strike": k[2], "right": k[3], "quantity": q}
                for k, q in sorted(self.positions.items()) if q != 0]

    def snapshot(self) -> dict[str, Any]:
        statuses: dict[str, int] = {}
        for record in self.records.values():
            statuses[record["status"]] = statuses.get(record["status"], 0) + 1
        return {"orders": len(self.records), "sent_to_exchange": self.sent_to_exchange, "statuses": statuses,
                "fills": len(self.fills)}


_APPLY = {OrderAccepted: PaperService._accepted, OrderRejected: PaperService._rejected,
          OrderFilled: PaperService._filled, OrderCancelled: PaperService._cancelled,
          CancelRejected: PaperService._cancel_rejected, OrderReplaced: PaperService._replaced}
