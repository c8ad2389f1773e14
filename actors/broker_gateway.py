"""BrokerGateway: the one door between the traders and a broker, with a write-ahead ledger.

Each order intent is appended to the ledger (with its client order id) before the order
leaves; a client order id already in the ledger is never sent again, so a retried or
replayed submit cannot create a second order. Every event coming back is appended, then
passed to the order's owner. On start the gateway folds the ledger to learn the owners of
orders still in flight, so after a restart their events still reach the right trader.
"""

from __future__ import annotations

from typing import Any

from actors.component import Component
from core.ledger import LedgerEvent, LedgerStore, fold, intent_event, order_event
from core.orders import ORDER_EVENTS, CancelOrder, CancelRejected, ReplaceOrder, SubmitOrder


class BrokerGateway(Component):
    def __init__(self, store: LedgerStore, exchange: str = "exchange", name: str = "broker") -> None:
        super().__init__(name)
        self.store = store
        self.exchange = exchange
        self.owners: dict[str, str] = {}
        self.counts = {"intents": 0, "duplicates_refused": 0, "events": 0, "unknown_events": 0}

    def on_start(self, now_ns: int) -> None:
        state = fold(self.store.events())
        self.owners = {coid: record.owner for coid, record in state.orders.items()}
        if state.orders:
            self.log.info("ledger_rebuilt", orders=len(state.orders), working=len(state.working()),
                          last_seq=state.last_seq)

    def on_message(self, message: Any, now_ns: int) -> None:
        if isinstance(message, SubmitOrder):
            self._submit(message, now_ns)
        elif isinstance(message, (CancelOrder, ReplaceOrder)):
            self._cancel_or_replace(message, now_ns)
        elif isinstance(message, ORDER_EVENTS):
            self._event(message)
        else:
            raise TypeError(f"{self.name} cannot handle {type(message).__name__}")

    def _submit(self, order: SubmitOrder, now_ns: int) -> None:
        if order.client_order_id in self.owners or self.store.has_intent(order.client_order_id):
            self.counts["duplicates_refused"] += 1
            self.log.warning("duplicate_intent_not_sent", client_order_id=order.client_order_id, owner=order.owner)
            return
        self.store.append(intent_event(order, order.owner, now_ns))       # written before the order leaves
        self.owners[order.client_order_id] = order.owner
        self.counts["intents"] += 1
        self.port.send(self.exchange, order._replace(owner=self.name))

    def _cancel_or_replace(self, request: CancelOrder | ReplaceOrder, now_ns: int) -> None:
        if request.client_order_id not in self.owners:
            self.port.send(request.owner, CancelRejected(request.client_order_id, "unknown order", now_ns))
            return
        kind = "cancel_request" if isinstance(request, CancelOrder) else "replace_request"
        payload = {} if isinstance(request, CancelOrder) else {"limit_price": request.limit_price,
                                                               "quantity": request.quantity}
        self.store.append(_request_event(kind, request, now_ns, payload))
        self.port.send(self.exchange, request._replace(owner=self.name))

    def _event(self, event: Any) -> None:
        owner = self.owners.get(event.client_order_id)
        self.store.append(order_event(event, owner or ""))
        self.counts["events"] += 1
        if owner is None:
            self.counts["unknown_events"] += 1
            self.log.error("event_for_unknown_order", client_order_id=event.client_order_id,
                           message_type=type(event).__name__)
            return
        self.port.send(owner, event)

    def snapshot(self) -> dict[str, Any]:
        return dict(self.counts)


def _request_event(kind: str, request: CancelOrder | ReplaceOrder, now_ns: int, payload: dict) -> LedgerEvent:
    return LedgerEvent(0, now_ns, kind, request.client_order_id, request.owner, payload)
