"""BrokerGateway: the one door between the traders and a broker, with a write-ahead ledger.

Each order intent is appended to the ledger (with its client order id) before the order
leaves; a client order id already in the ledger is never sent again, so a retried or
replayed submit cannot create a second order. Every event coming back is appended, then
passed to the order's owner.

On start the gateway folds the ledger and reconciles every order it shows working with the
broker, which is authoritative. What the broker explains is written to the ledger and passed
on: fills or a cancel that happened while we were down, or an intent that never reached the
broker (closed as rejected; never resent). What it cannot explain - the broker does not know
an order it had acknowledged, or shows fewer fills than the ledger - halts that trader
(`TradingHalted` with the reason) and is logged as an error. A broker that says its book began after the
order was sent (the paper exchange restarted: `OrderStatusReport.venue_since_ns`) explains the first: the
order was lost with that book, and the ledger closes it as cancelled with that reason, without a halt.
"""

from __future__ import annotations

from typing import Any

from actors import names
from actors.book import structure_of
from actors.messages import Approved, RecordTradingState, ReplayedOrders, ReplayRequest, RiskState, RiskStateRequest
from actors.runtime.component import Component
from core.book import BookFill
from core.ledger import LedgerEvent, LedgerStore, fold, intent_event, order_event
from core.orders import (
    EXPOSURE_EVENTS,
    NOT_IN_LEDGER,
    ORDER_EVENTS,
    CancelOrder,
    CancelRejected,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderState,
    OrderStatus,
    OrderStatusReport,
    OrderStatusRequest,
    ReplaceOrder,
    SubmitOrder,
    TradingHalted,
)
from core.risk.states import STATE_EVENT_KIND, StateChange

_EVENTS = frozenset(ORDER_EVENTS)
_GATE_EVENTS = frozenset(EXPOSURE_EVENTS)
"""The events the risk gate is copied (not an acceptance: the gate counts an order answered when it passes it)."""


class BrokerGateway(Component):
    def __init__(self, store: LedgerStore, venue: str = names.EXCHANGE, name: str = names.GATEWAY,
                 book: str | None = None, gate: str | None = None) -> None:
        """`gate`: the risk gate in front (the kernel's topologies always have one): submits and replaces are
        taken only as it passes them (`Approved`), and it is copied the events that change what is working."""
        super().__init__(name)
        self.store = store
        self.venue = venue
        self.book = book                        # every fill, as written to the ledger, goes on to the book
        self.gate = gate
        self.owners: dict[str, str] = {}
        self.orders: dict[str, tuple[str, tuple]] = {}      # client order id -> (side, legs as the intent has them)
        self.counts = {"intents": 0, "duplicates_refused": 0, "events": 0, "unknown_events": 0,
                       "reconciled": 0, "halts": 0}
        self.reconciling: dict[str, OrderState] = {}
        self.intent_ns: dict[str, int] = {}                 # when each order being reconciled was written
        self.working: set[str] = set()

    def on_start(self, now_ns: int) -> None:
        events = self.store.events()
        state = fold(events)
        self.owners = {coid: record.owner for coid, record in state.orders.items()}
        self.orders = {coid: (record.side, tuple(map(tuple, record.legs))) for coid, record in state.orders.items()}
        self.reconciling = {record.client_order_id: record for record in state.working()}
        self.intent_ns = {e.client_order_id: e.time_ns for e in events
                          if e.kind == "intent" and e.client_order_id in self.reconciling}
        self.working = set(self.reconciling)
        if state.orders:
            self.log.info("ledger_rebuilt", orders=len(state.orders), working=len(self.reconciling),
                          last_seq=state.last_seq)
        for coid in self.reconciling:
            self.port.send(self.venue, OrderStatusRequest(coid, self.name))

    def on_message(self, message: Any, now_ns: int) -> None:
        kind = type(message)
        if kind in _EVENTS:
            self._event(message)
        elif kind is Approved:
            request = message.request
            if type(request) is SubmitOrder:
                self._submit(request, now_ns)
            else:
                self._cancel_or_replace(request, now_ns)
        elif kind is SubmitOrder or kind is ReplaceOrder:
            if self.gate is None:
                self._submit(message, now_ns) if kind is SubmitOrder else self._cancel_or_replace(message, now_ns)
            else:
                self._around_gate(message, now_ns)
        elif kind is CancelOrder:
            self._cancel_or_replace(message, now_ns)
        elif kind is OrderStatusReport:
            self._reconcile(message, now_ns)
        elif kind is ReplayRequest:
            self._replay(message)
        elif kind is RiskStateRequest:
            self._risk_state(message)
        elif kind is RecordTradingState:
            change = message.change
            self.store.append(LedgerEvent(0, change.time_ns, STATE_EVENT_KIND, "", change.scope,
                                          {"state": change.state, "reason": change.reason, "trigger": change.trigger}))
        else:
            raise TypeError(f"{self.name} cannot handle {kind.__name__}")

    def _around_gate(self, request: SubmitOrder | ReplaceOrder, now_ns: int) -> None:
        """A submit or replace that did not come through the risk gate: refused, nothing written or sent."""
        self.counts["around_gate"] = self.counts.get("around_gate", 0) + 1
        reason = "orders reach the gateway through the risk gate only"
        self.log.error("order_around_risk_gate", client_order_id=request.client_order_id, owner=request.owner)
        if type(request) is SubmitOrder:
            self.port.send(request.owner, OrderRejected(request.client_order_id, reason, now_ns, "other"))
        else:
            self.port.send(request.owner, CancelRejected(request.client_order_id, reason, now_ns))

    def _submit(self, order: SubmitOrder, now_ns: int) -> None:
        if order.client_order_id in self.owners or self.store.has_intent(order.client_order_id):
            self.counts["duplicates_refused"] += 1
            self.log.warning("duplicate_intent_not_sent", client_order_id=order.client_order_id, owner=order.owner)
            if self.gate is not None:           # the gate counted it as working: it never will be
                self.port.send(self.gate, OrderRejected(order.client_order_id, "duplicate", now_ns, "duplicate"))
            return
        intent = self.store.append(intent_event(order, order.owner, now_ns))       # written before the order leaves
        self.owners[order.client_order_id] = order.owner
        self.orders[order.client_order_id] = (order.side, tuple(map(tuple, intent.payload["legs"])))
        self.working.add(order.client_order_id)
        self.counts["intents"] += 1
        self.port.send(self.venue, _owned_by(order, self.name))

    def _cancel_or_replace(self, request: CancelOrder | ReplaceOrder, now_ns: int) -> None:
        if request.client_order_id not in self.owners:
            self.port.send(request.owner, CancelRejected(request.client_order_id, NOT_IN_LEDGER, now_ns))
            return
        kind = "cancel_request" if isinstance(request, CancelOrder) else "replace_request"
        payload = {} if isinstance(request, CancelOrder) else {"limit_price": request.limit_price,
                                                               "quantity": request.quantity}
        self.store.append(_request_event(kind, request, now_ns, payload))
        self.port.send(self.venue, _owned_by(request, self.name))

    def _event(self, event: Any) -> None:
        owner = self.owners.get(event.client_order_id)
        self.store.append(order_event(event, owner or ""))
        self.counts["events"] += 1
        kind = type(event)
        if kind is OrderCancelled or kind is OrderRejected or (kind is OrderFilled and event.leaves_quantity == 0):
            self.working.discard(event.client_order_id)
        if self.gate is not None and kind in _GATE_EVENTS:
            self.port.send(self.gate, event)
        if kind is OrderFilled and self.book is not None and event.client_order_id in self.orders:
            coid = event.client_order_id
            side, legs = self.orders[coid]
            self.port.send(self.book, BookFill(event.time_ns, coid, structure_of(coid), side, legs, event.quantity,
                                               event.price, tuple(event.leg_prices)))
        if owner is None:
            self.counts["unknown_events"] += 1
            self.log.error("event_for_unknown_order", client_order_id=event.client_order_id,
                           message_type=type(event).__name__)
            return
        self.port.send(owner, event)

    def _reconcile(self, report: OrderStatusReport, now_ns: int) -> None:
        record = self.reconciling.pop(report.client_order_id, None)
        if record is None:
            return
        self.counts["reconciled"] += 1
        never_sent = record.status is OrderStatus.PENDING_NEW
        if not report.known:
            if never_sent:
                self._event(
                    OrderRejected(record.client_order_id, "never reached the broker (found on restart)", now_ns)
                )
            elif report.venue_since_ns > self.intent_ns.get(record.client_order_id, report.venue_since_ns):
                reason = (f"the broker's book began at {report.venue_since_ns} ns, after this order was sent: it "
                          "restarted and lost the order, and nothing of it fills there now")
                self.log.warning("order_lost_with_the_broker_s_book", client_order_id=record.client_order_id,
                                 owner=record.owner, unfilled=record.quantity - record.filled)
                self._event(OrderCancelled(record.client_order_id, record.quantity - record.filled, now_ns, reason))
            else:
                self._halt(
                    record, f"the broker does not know order {record.client_order_id} it had acknowledged", now_ns
                )
            return
        if report.filled_quantity < record.filled:
            self._halt(record, f"the broker shows {report.filled_quantity} filled, the ledger {record.filled}", now_ns)
            return
        if never_sent and report.status != OrderStatus.REJECTED.value:
            self._event(OrderAccepted(record.client_order_id, now_ns))     # acked before a crash lost the write
        missed = report.filled_quantity - record.filled
        if missed:
            self._event(OrderFilled(record.client_order_id, missed, report.average_price, (), report.filled_quantity,
                                    report.leaves_quantity, now_ns))
        if report.status == OrderStatus.CANCELLED.value:
            self._event(OrderCancelled(record.client_order_id, record.quantity - report.filled_quantity, now_ns))
        elif report.status == OrderStatus.REJECTED.value:
            self._event(OrderRejected(record.client_order_id, "rejected by the broker (found on restart)", now_ns))

    def _replay(self, request: ReplayRequest) -> None:
        """The requester's orders as the ledger has them, so a restarted component resumes where it was."""
        events = self.store.events()
        state = fold(events)
        if request.prefix:
            mine = {coid for coid in state.orders if coid.startswith(request.prefix)}
        else:
            mine = {coid for coid, r in state.orders.items() if r.owner == request.owner}
        notional: dict[str, float] = {}
        intent_ns: dict[str, int] = {}
        for event in events:
            if event.client_order_id not in mine:
                continue
            if event.kind == "filled":
                notional[event.client_order_id] = (notional.get(event.client_order_id, 0.0)
                                                   + abs(event.payload["price"]) * event.payload["quantity"])
            elif event.kind == "intent":
                intent_ns[event.client_order_id] = event.time_ns
        working = {r.client_order_id for r in state.working()}
        records = [r for coid, r in state.orders.items() if coid in mine]
        orders = tuple((r.client_order_id, r.filled, round(notional.get(r.client_order_id, 0.0) / r.filled, 6)
                        if r.filled else 0.0, r.client_order_id in working) for r in records)
        details, expiries = (), ()
        if request.with_legs:
            details = tuple((r.side, tuple((right, float(strike), int(ratio)) for _, _, strike, right, ratio in r.legs),
                             intent_ns.get(r.client_order_id, 0)) for r in records)
            expiries = tuple(str(r.legs[0][1]) if r.legs else "" for r in records)
        self.port.send(request.owner, ReplayedOrders(orders, details, expiries))

    def _risk_state(self, request: RiskStateRequest) -> None:
        """What the ledger holds for a (re)starting gate: net positions, working orders, each scope's last state."""
        events = self.store.events()
        state = fold(events)
        working = tuple((r.client_order_id, r.owner, r.side, tuple(tuple(leg) for leg in r.legs), r.leaves)
                        for r in state.working())
        changes = tuple(StateChange(e.owner, e.payload["state"], e.payload.get("reason", ""),
                                    e.payload.get("trigger", ""), e.time_ns)
                        for e in events if e.kind == STATE_EVENT_KIND)
        last = {change.scope: tuple(change) for change in changes}
        self.port.send(request.requester, RiskState(tuple(state.positions.items()), working, tuple(last.values())))

    def _halt(self, record: OrderState, reason: str, now_ns: int) -> None:
        self.counts["halts"] += 1
        self.store.append(LedgerEvent(0, now_ns, "halt", record.client_order_id, record.owner, {"reason": reason}))
        self.log.error("reconciliation_halt", client_order_id=record.client_order_id, owner=record.owner, reason=reason)
        self.port.send(record.owner, TradingHalted(record.client_order_id, reason, now_ns))

    def on_stop(self, now_ns: int) -> None:
        """Close the store: every appended event is on disk (SQLite commits each append)."""
        close = getattr(self.store, "close", None)
        if close is not None:
            close()
        self.log.info("ledger_closed", working=sorted(self.working), intents=self.counts["intents"])

    def snapshot(self) -> dict[str, Any]:
        return {**self.counts, "reconciling": len(self.reconciling), "working": len(self.working)}


def _request_event(kind: str, request: CancelOrder | ReplaceOrder, now_ns: int, payload: dict) -> LedgerEvent:
    return LedgerEvent(0, now_ns, kind, request.client_order_id, request.owner, payload)


def _owned_by(request: SubmitOrder | CancelOrder | ReplaceOrder, owner: str):
    """The request with `owner` replaced (its second field in all three): NamedTuple._replace is a
    slow generic path, and every order and cancel goes through here."""
    return type(request)(request[0], owner, *request[2:])
