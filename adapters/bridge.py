"""BrokerBridge: the venue component (`names.BRIDGE`) of a paper or live session, backed by a broker adapter.

The gateway and the traders talk to it with the same messages they send the simulated
exchange (SubmitOrder, CancelOrder, ReplaceOrder, OrderStatusRequest) and get the same
events back, so the topology does not change between a backtest and a session against a
real or paper broker. Behind it is any `BrokerAdapter` (the paper exchange over HTTP, or the
seed facade's callbacks), driven on an asyncio loop in a thread of its own so a slow broker
never blocks the component.

- Quotes: every `quote_poll_ms` each routed chain (and its underlying) is fetched and sent to
  the components routed to it. A failing chain is logged once when it starts failing and
  once when it recovers, with symbol, expiry and the error.
- Orders: every working order is polled every `order_poll_ms`, and at once when the broker's order-event
  stream (an adapter with `order_event_ids()`, like the paper exchange's websocket) announces an event
  for it, so a fill reaches its owner in milliseconds, not at the next poll; the broker's report
  (adapters.protocol.OrderReport) is turned into order events (exactly the broker's own events when its
  report lists them, otherwise by comparing with the last report seen). Results come back to the component through its
  own mailbox, so its state is touched by one thread only.
- A submit whose outcome is unknown (the broker could not be reached after the adapter's
  retries) is never resent: the order is polled until the broker says whether it has it,
  and only "not found" turns it into a rejection. Client order ids are idempotent at the
  broker, so polling is always safe.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from actors import names
from actors.messages import VenueStatus
from actors.runtime.component import Component
from adapters.protocol import BrokerRequestError, OrderReport
from core.orders import (
    DONE_STATES,
    EVENT_KIND,
    REJECT_CODES,
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
)

_DONE = {s.value for s in DONE_STATES}


class BrokerRecord(NamedTuple):
    """The broker's report of one order, for the bridge itself (from its I/O thread to its handler)."""

    client_order_id: str
    report: OrderReport


class BrokerRefused(NamedTuple):
    """The broker refused a request for this order (4xx), or said it does not have it."""

    client_order_id: str
    request: str          # submit | cancel | replace | poll | lost (the broker restarted and lost its book)
    reason: str


@dataclass
class TrackedOrder:
    """One order at the broker as the bridge follows it: `state` is the order as the events the bridge has sent
    the engine leave it (core.orders.OrderState, folded like the ledger folds them); `events_seen` and
    `notional` are how far the broker's reports have been read; `closed` is set when the broker ended it (or
    refused it) without an event that says so."""

    state: OrderState
    events_seen: int = 0
    notional: float = 0.0
    closed: bool = False
    sent_ns: int = 0                  # when the bridge sent it (or took it over): a book that began later lost it

    @classmethod
    def new(cls, client_order_id: str, owner: str, quantity: int) -> TrackedOrder:
        return cls(OrderState(client_order_id, owner, (), "", quantity, 0.0))

    @property
    def owner(self) -> str:
        return self.state.owner

    @property
    def quantity(self) -> int:
        return self.state.quantity

    @property
    def filled(self) -> int:
        return self.state.filled

    @property
    def done(self) -> bool:
        return self.closed or self.state.done

    def tell(self, event: Any) -> Any:
        """Fold an event the bridge is about to send into the state; returns the event."""
        self.state.apply(EVENT_KIND[type(event)], event._asdict())
        return event


def events_from_report(order: TrackedOrder, coid: str, report: OrderReport, now_ns: int) -> list:
    """The order events this report adds to what `order` has seen (and updates `order`)."""
    if report.events is not None:
        return _replay_events(order, report.events)
    return _diff_events(order, coid, report, now_ns)


def _replay_events(order: TrackedOrder, events: tuple) -> list:
    out = [order.tell(event) for event in events[order.events_seen:]]
    order.events_seen = len(events)
    return out


def _diff_events(order: TrackedOrder, coid: str, report: OrderReport, now_ns: int) -> list:
    """Events implied by a report without an event list (the seed callbacks' brokers)."""
    out: list = []
    status = report.status or order.state.status.value
    if order.state.status is OrderStatus.PENDING_NEW and status not in (OrderStatus.PENDING_NEW.value,
                                                                         OrderStatus.REJECTED.value):
        out.append(order.tell(OrderAccepted(coid, now_ns)))
    filled = report.filled_quantity
    if filled > order.filled:
        average = report.average_price or 0.0
        notional = average * filled
        price = round((notional - order.notional) / (filled - order.filled), 6)
        out.append(order.tell(OrderFilled(coid, filled - order.filled, price, (), filled,
                                          max(order.quantity - filled, 0), now_ns)))
        order.notional = notional
    if status == OrderStatus.REJECTED.value and not order.done:
        code = report.reject_code if report.reject_code in REJECT_CODES else "other"   # a broker's codes stay bounded
        out.append(order.tell(OrderRejected(coid, report.reason or "rejected by the broker", now_ns, code)))
    elif status == OrderStatus.CANCELLED.value and not order.done:
        out.append(order.tell(OrderCancelled(coid, max(order.quantity - order.filled, 0), now_ns)))
    order.closed = order.closed or status in _DONE          # the broker says it is over, fills or not
    return out


class AddRoute(NamedTuple):
    """Start quoting a chain to `receivers` (a symbol or expiration added while the session runs)."""

    symbol: str
    expiry: str
    receivers: tuple[str, ...]


class _Adopt(NamedTuple):
    """An order found working at the broker during reconciliation: track it for its owner from now on."""

    client_order_id: str
    owner: str
    report: OrderReport


class _IoLoop:
    """An asyncio loop on a daemon thread: the bridge's only place for network calls."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="spreadwright-broker-io", daemon=True)
        self.thread.start()

    def spawn(self, coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def call(self, function: Callable, *args) -> None:
        self.loop.call_soon_threadsafe(function, *args)

    def stop(self) -> None:
        """Cancel every task, let them finish cancelling, then stop the loop and its thread."""
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=2.0)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=2.0)


class BrokerBridge(Component):
    def __init__(self, adapter_factory: Callable[[], Any], routes: dict[tuple[str, str], tuple[str, ...]],
                 quote_poll_ms: int = 1000, order_poll_ms: int = 100, name: str = names.BRIDGE,
                 stop_timeout_s: float = 5.0, risk: str | None = None, dead_man_s: float = 0.0) -> None:
        """`risk`: told `VenueStatus` when the broker stops answering every quote request, and when it answers
        again (the kill switch's disconnect trigger)."""
        super().__init__(name)
        self.risk, self.dead_man_s = risk, dead_man_s
        self._venue_up: bool | None = None
        self.adapter_factory = adapter_factory
        self.routes = dict(routes)
        self.quote_poll_s, self.order_poll_s = quote_poll_ms / 1000, order_poll_ms / 1000
        self.stop_timeout_s = stop_timeout_s
        self.orders: dict[str, TrackedOrder] = {}
        self.counts = {"submitted": 0, "refused": 0, "events": 0, "quotes": 0, "quote_errors": 0, "poll_errors": 0,
                       "doorbells": 0}
        self._io: _IoLoop | None = None
        self._adapter = None
        self._polling: set[str] = set()          # owned by the io thread
        self._doorbell_polls: set[asyncio.Future] = set()     # owned by the io thread
        self._event_records = False
        self._failing: dict[tuple[str, str], str] = {}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.update(_io=None, _adapter=None, _polling=set(), _doorbell_polls=set())
        return state

    # ------------------------------------------------------------------ lifecycle

    def on_start(self, now_ns: int) -> None:
        self._io = _IoLoop()
        self._adapter = self.adapter_factory()
        self._event_records = bool(getattr(self._adapter, "reports_events", False))
        self._io.spawn(self._quote_loop())
        self._io.spawn(self._order_loop())
        if hasattr(self._adapter, "order_event_ids"):
            self._io.spawn(self._doorbell_loop())
        self.log.info("broker_bridge_started", chains=len(self.routes), quote_poll_ms=int(self.quote_poll_s * 1000),
                      order_poll_ms=int(self.order_poll_s * 1000))

    def on_stop(self, now_ns: int) -> None:
        """Cancel every working order at the broker, forward what it says, then close the adapter."""
        if self._io is None:
            return
        working = [coid for coid, order in self.orders.items() if not order.done]
        future = self._io.spawn(self._cancel_all(working))
        try:
            outcomes = future.result(timeout=self.stop_timeout_s)
        except Exception as err:  # noqa: BLE001 - reported; the gateway reconciles on the next start
            self.log.error("cancel_on_stop_failed", working=len(working), error=repr(err))
            outcomes = []
        for coid, report in outcomes:
            self._apply_report(coid, report, now_ns)
        still = [coid for coid, order in self.orders.items() if not order.done]
        self.log.info("broker_bridge_stopped", cancelled=len(working), still_working=still)
        self._io.spawn(self._adapter.close()).result(timeout=self.stop_timeout_s)
        self._io.stop()
        self._io = None

    async def _cancel_all(self, coids: list[str]) -> list[tuple[str, OrderReport]]:
        await asyncio.gather(*(self._quietly(self._adapter.cancel(c)) for c in coids))
        deadline = time.monotonic() + self.stop_timeout_s / 2
        results: dict[str, OrderReport] = {}
        while coids and time.monotonic() < deadline:
            reports = await asyncio.gather(*(self._quietly(self._adapter.order(c)) for c in coids))
            for coid, report in zip(coids, reports):
                if isinstance(report, OrderReport):
                    results[coid] = report
            coids = [c for c in coids if c not in results or results[c].status not in _DONE]
            if coids:
                await asyncio.sleep(self.order_poll_s)
        return list(results.items())

    @staticmethod
    async def _quietly(coroutine) -> Any:
        try:
            return await coroutine
        except Exception as err:  # noqa: BLE001 - the caller decides what a failure means
            return err

    # ------------------------------------------------------------------ messages (component thread)

    def on_message(self, message: Any, now_ns: int) -> None:
        if isinstance(message, BrokerRecord):
            self._apply_report(message.client_order_id, message.report, now_ns)
        elif isinstance(message, BrokerRefused):
            self._refused(message, now_ns)
        elif isinstance(message, _Adopt):
            _adopt(self, message, now_ns)
        elif isinstance(message, AddRoute):
            key = (message.symbol, message.expiry)
            self.routes[key] = tuple(dict.fromkeys((*self.routes.get(key, ()), *message.receivers)))
        elif isinstance(message, SubmitOrder):
            sent_ns = time.time_ns()
            self.orders[message.client_order_id] = TrackedOrder.new(message.client_order_id, message.owner,
                                                                    message.quantity)
            self.orders[message.client_order_id].sent_ns = sent_ns
            self.counts["submitted"] += 1
            self.log.info("order_to_adapter", client_order_id=message.client_order_id, sent_ns=sent_ns)
            self._io.spawn(self._submit(message))
        elif isinstance(message, CancelOrder):
            self._io.spawn(
                self._request("cancel", message.client_order_id, self._adapter.cancel(message.client_order_id))
            )
        elif isinstance(message, ReplaceOrder):
            call = self._adapter.replace(message.client_order_id, message.limit_price, message.quantity)
            self._io.spawn(self._request("replace", message.client_order_id, call))
        elif isinstance(message, OrderStatusRequest):
            self._io.spawn(self._status(message))
        else:
            raise TypeError(f"{self.name} cannot handle {type(message).__name__}")

    def _apply_report(self, coid: str, report: OrderReport, now_ns: int) -> None:
        order = self.orders.get(coid)
        if order is None or order.done or (self._event_records and report.events is None):
            return                    # an adapter that lists events is followed by its polled reports only
        for event in events_from_report(order, coid, report, now_ns):
            self.counts["events"] += 1
            self.port.send(order.owner, event)

    def _refused(self, refusal: BrokerRefused, now_ns: int) -> None:
        order = self.orders.get(refusal.client_order_id)
        if order is None:
            return
        self.counts["refused"] += 1
        self.log.warning("broker_refused", client_order_id=refusal.client_order_id, request=refusal.request,
                         reason=refusal.reason)
        if refusal.request == "lost" and not order.done:
            left = max(order.quantity - order.filled, 0)
            self.port.send(order.owner, order.tell(OrderCancelled(refusal.client_order_id, left, now_ns,
                                                                  refusal.reason)))
        elif refusal.request in ("submit", "poll") and not order.done:
            self.port.send(order.owner, order.tell(OrderRejected(refusal.client_order_id, refusal.reason, now_ns)))
        elif refusal.request in ("cancel", "replace"):
            self.port.send(order.owner, CancelRejected(refusal.client_order_id, refusal.reason, now_ns))

    # ------------------------------------------------------------------ broker calls (io thread)

    async def _submit(self, order: SubmitOrder) -> None:
        coid = order.client_order_id
        try:
            report = await self._adapter.submit(order)
        except BrokerRequestError as err:
            self.port.send(self.name, BrokerRefused(coid, "submit", str(err)))
            return
        except Exception as err:  # noqa: BLE001 - outcome unknown: never resent, polled until the broker says
            self.log.error("submit_outcome_unknown", client_order_id=coid, error=repr(err))
            self._polling.add(coid)
            return
        self._polling.add(coid)
        self.port.send(self.name, BrokerRecord(coid, report))

    async def _request(self, kind: str, coid: str, call) -> None:
        try:
            report = await call
        except BrokerRequestError as err:
            self.port.send(self.name, BrokerRefused(coid, kind, str(err)))
            return
        except Exception as err:  # noqa: BLE001 - logged with context; the poll keeps the order's state current
            self.log.error("broker_request_failed", client_order_id=coid, request=kind, error=repr(err))
            return
        self.port.send(self.name, BrokerRecord(coid, report))

    async def _status(self, request: OrderStatusRequest) -> None:
        now_ns = time.time_ns()
        try:
            report = await self._adapter.order(request.client_order_id)
        except Exception as err:  # noqa: BLE001 - split below: 404 answers "unknown", anything else is logged
            if not isinstance(err, BrokerRequestError) or err.status != 404:
                self.log.error("status_request_failed", client_order_id=request.client_order_id, error=repr(err))
                return
            since_ns = await self._book_since_ns()
            self.port.send(request.owner, OrderStatusReport(request.client_order_id, False, "", 0, 0, 0.0, now_ns,
                                                            since_ns))
            return
        status = report.status
        self.port.send(request.owner, OrderStatusReport(
            request.client_order_id, True, status, report.filled_quantity, report.leaves_quantity or 0,
            report.average_price or 0.0, now_ns))
        if status not in _DONE:
            self.port.send(self.name, _Adopt(request.client_order_id, request.owner, report))

    async def _book_since_ns(self) -> int:
        """When the broker's book began, where the adapter says (`book_since_ns`, the paper exchange's); 0 when
        it does not or cannot say now."""
        if not hasattr(self._adapter, "book_since_ns"):
            return 0
        try:
            return int(await self._adapter.book_since_ns())
        except Exception as err:  # noqa: BLE001 - unknown: the order is treated as the broker not knowing it
            self.log.warning("book_since_unknown", error=repr(err))
            return 0

    async def _book_lost(self, sent_ns: int) -> str | None:
        """The reason an order the broker no longer knows was lost with its book (it restarted after the order
        was sent), or None when that is not why."""
        since_ns = await self._book_since_ns()
        if since_ns <= sent_ns:
            return None
        self.log.warning("broker_lost_its_book", book_since_ns=since_ns, sent_ns=sent_ns)
        return f"the broker restarted after this order was sent and lost its book (book since {since_ns} ns)"

    async def _order_loop(self) -> None:
        while True:
            await asyncio.sleep(self.order_poll_s)
            for coid in list(self._polling):
                await self._poll_one(coid)

    async def _poll_one(self, coid: str) -> None:
        try:
            report = await self._adapter.order(coid)
        except BrokerRequestError as err:
            if coid in self._polling:
                self._polling.discard(coid)
                order = self.orders.get(coid)
                lost = await self._book_lost(order.sent_ns if order is not None else 0) if err.status == 404 else None
                if lost:
                    self.port.send(self.name, BrokerRefused(coid, "lost", lost))
                    return
                reason = "never reached the broker" if err.status == 404 else str(err)
                self.port.send(self.name, BrokerRefused(coid, "poll", reason))
            return
        except Exception as err:  # noqa: BLE001 - counted and retried on the next poll
            self.counts["poll_errors"] += 1
            self.log.warning("order_poll_failed", client_order_id=coid, error=repr(err))
            return
        if report.status in _DONE:
            self._polling.discard(coid)
        self.port.send(self.name, BrokerRecord(coid, report))

    async def _doorbell_loop(self) -> None:
        """An event announced on the broker's stream polls that order now (records stay the one source of
        events, so a duplicate or late announcement changes nothing). A dropped stream is reopened after a
        second and said once; the periodic poll carries on meanwhile."""
        dropped = False
        while True:
            try:
                async for coid in self._adapter.order_event_ids():
                    if dropped:
                        dropped = False
                        self.log.info("order_stream_recovered")
                    if coid in self._polling:
                        self.counts["doorbells"] += 1
                        poll = asyncio.ensure_future(self._poll_one(coid))
                        self._doorbell_polls.add(poll)                 # held until done: asyncio keeps weak refs
                        poll.add_done_callback(self._doorbell_polls.discard)
            except Exception as err:  # noqa: BLE001 - the poll still follows every order; reported once per outage
                if not dropped:
                    self.log.warning("order_stream_dropped", error=repr(err))
                dropped = True
            await asyncio.sleep(1.0)

    async def _quote_loop(self) -> None:
        while True:
            answered = await asyncio.gather(*(self._publish(key, receivers)
                                              for key, receivers in list(self.routes.items())))
            if answered:
                self._tell_venue(any(answered))
            if self.dead_man_s > 0 and hasattr(self._adapter, "heartbeat"):
                await self._heartbeat()
            await asyncio.sleep(self.quote_poll_s)

    async def _heartbeat(self) -> None:
        """Keep the broker's dead-man's switch armed: if this session dies, its working orders are cancelled."""
        try:
            await self._adapter.heartbeat(self.dead_man_s)
        except Exception as err:  # noqa: BLE001 - said once per outage; the next poll tries again
            if self.counts.get("heartbeat_errors", 0) == 0:
                self.log.error("dead_man_heartbeat_failed", error=repr(err))
            self.counts["heartbeat_errors"] = self.counts.get("heartbeat_errors", 0) + 1
            return
        self.counts["heartbeat_errors"] = 0

    def _tell_venue(self, up: bool) -> None:
        """The venue is up when any chain came back this round, down when none did: said to the gate on a change."""
        if up == self._venue_up or self.risk is None:
            self._venue_up = up
            return
        self._venue_up = up
        reason = "" if up else "; ".join(sorted(set(self._failing.values())))[:500]
        self.port.send(self.risk, VenueStatus(up, self.port.now_ns(), reason))

    async def _publish(self, key: tuple[str, str], receivers: tuple[str, ...]) -> bool:
        """Fetch one chain and send it to its receivers; False when the broker could not give it."""
        symbol, expiry = key
        try:
            chain, price = await asyncio.gather(self._adapter.chain(symbol, expiry), self._adapter.underlying(symbol))
        except Exception as err:  # noqa: BLE001 - one bad chain must not stop the others
            self.counts["quote_errors"] += 1
            if self._failing.get(key) != repr(err):
                self._failing[key] = repr(err)
                self.log.error("quotes_unavailable", symbol=symbol, expiry=expiry, error=repr(err),
                               receivers=list(receivers))
            return False
        if key in self._failing:
            del self._failing[key]
            self.log.info("quotes_recovered", symbol=symbol, expiry=expiry)
        quotes = chain._replace(underlying=float(price))
        self.counts["quotes"] += 1
        for receiver in receivers:
            self.port.send(receiver, quotes)
        return True

    def snapshot(self) -> dict[str, Any]:
        working = sum(1 for order in self.orders.values() if not order.done)
        return {**self.counts, "working": working, "orders": len(self.orders)}


def _adopt(bridge: BrokerBridge, message: _Adopt, now_ns: int) -> None:
    order = TrackedOrder.new(message.client_order_id, message.owner, message.report.quantity or 0)
    order.sent_ns = time.time_ns()
    events_from_report(order, message.client_order_id, message.report, now_ns)   # already reported: not resent
    bridge.orders[message.client_order_id] = order
    bridge._io.call(bridge._polling.add, message.client_order_id)
