"""BrokerBridge: the broker's records become the same order events the simulated exchange sends."""

import time

import numpy as np
import pytest
import structlog
import structlog.testing

from actors.messages import VenueStatus
from adapters.bridge import AddRoute, BrokerBridge, TrackedOrder, events_from_report
from adapters.protocol import BrokerError, BrokerRequestError, report_from_record
from core.orders import (
    CancelOrder,
    Contract,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderLeg,
    OrderRejected,
    OrderStatusReport,
    OrderStatusRequest,
    SubmitOrder,
)
from core.quotes import ChainQuotes
from tests.adapters.bridge_kit import QueuePort, make_bridge, run_bridge


def _events(order, coid, record, now_ns):
    """The bridge's events for a broker record (as the paper exchange's JSON shows one)."""
    return events_from_report(order, coid, report_from_record(record), now_ns)


LEGS = (OrderLeg(Contract("SPY", "2026-12-18", 600.0, "C"), 1), OrderLeg(Contract("SPY", "2026-12-18", 605.0, "C"), -1))


def test_diff_of_status_records_gives_accept_partial_fill_and_cancel():
    order = TrackedOrder.new("x", "t", 3)
    assert _events(order, "a", {"status": "PENDING_NEW"}, 1) == []
    first = _events(
        order, "a", {"status": "PARTIALLY_FILLED", "filled_quantity": 1, "average_price": 1.2}, 2
    )
    assert [type(e) for e in first] == [OrderAccepted, OrderFilled]
    assert first[1].quantity == 1 and first[1].price == pytest.approx(1.2) and first[1].leaves_quantity == 2
    second = _events(order, "a", {"status": "CANCELLED", "filled_quantity": 2, "average_price": 1.25}, 3)
    assert [type(e) for e in second] == [OrderFilled, OrderCancelled]
    assert second[0].price == pytest.approx(1.3)             # (1.25*2 - 1.2) / 1
    assert second[1].cancelled_quantity == 1 and order.done
    assert _events(order, "a", {"status": "CANCELLED", "filled_quantity": 2}, 4) == []


def test_a_status_record_s_reject_code_is_kept_when_it_is_one_of_ours_else_other():
    known = _events(TrackedOrder.new("x", "t", 1), "a",
                               {"status": "REJECTED", "reason": "price off tick", "reject_code": "off_tick"}, 1)
    foreign = _events(TrackedOrder.new("x", "t", 1), "b",
                                 {"status": "REJECTED", "reason": "margin", "reject_code": "MARGIN_CALL_42"}, 1)
    missing = _events(TrackedOrder.new("x", "t", 1), "c", {"status": "REJECTED"}, 1)
    assert [e.code for e in known + foreign + missing if isinstance(e, OrderRejected)] == ["off_tick", "other", "other"]
    assert known[-1].reason == "price off tick"


def test_event_lists_are_replayed_once_each():
    order = TrackedOrder.new("x", "t", 1)
    events = [{"type": "OrderAccepted", "client_order_id": "a", "time_ns": 1}]
    assert [type(e) for e in _events(order, "a", {"events": events}, 5)] == [OrderAccepted]
    events.append({"type": "OrderFilled", "client_order_id": "a", "quantity": 1, "price": 1.1, "leg_prices": [2.0, 0.9],
                   "cumulative_quantity": 1, "leaves_quantity": 0, "time_ns": 2})
    replayed = _events(order, "a", {"events": events}, 6)
    assert len(replayed) == 1 and replayed[0].leg_prices == (2.0, 0.9) and order.done


class FakeBroker:
    """An in-memory broker: orders fill on the second poll unless told otherwise."""

    reports_events = False

    def __init__(self, unreachable_submit=False, missing=False):
        self.orders, self.polls, self.cancels = {}, {}, []
        self.unreachable_submit, self.missing = unreachable_submit, missing

    async def submit(self, order):
        if self.unreachable_submit:
            raise BrokerError("connection refused")
        self.orders[order.client_order_id] = {"status": "ACCEPTED", "filled_quantity": 0, "quantity": order.quantity}
        return report_from_record(self.orders[order.client_order_id])

    async def order(self, coid):
        if coid not in self.orders:
            raise BrokerRequestError(404, {"error": "unknown"})
        self.polls[coid] = self.polls.get(coid, 0) + 1
        if self.polls[coid] >= 2 and self.orders[coid]["status"] == "ACCEPTED":
            self.orders[coid] = {**self.orders[coid], "status": "FILLED", "filled_quantity": 2, "average_price": 1.5}
        return report_from_record(self.orders[coid])

    async def cancel(self, coid):
        self.cancels.append(coid)
        self.orders[coid] = {**self.orders[coid], "status": "CANCELLED"}
        return report_from_record(self.orders[coid])

    async def chain(self, symbol, expiry):
        if symbol == "BAD":
            raise BrokerRequestError(404, {"error": f"no chain for {symbol}"})
        one = np.ones(2)
        return ChainQuotes(symbol, expiry, 0, 0, np.array([600.0, 605.0]), np.array([True, True]), one, one * 1.1,
                           one, one, 0.01, 0.01)

    async def underlying(self, symbol):
        return 601.5

    async def close(self):
        return None


def test_submitted_order_is_followed_to_its_fill_by_polling():
    broker = FakeBroker()
    bridge, port = make_bridge(broker)
    try:
        bridge.on_message(SubmitOrder("s:1:D", "broker", LEGS, "BUY", 2, 1.5), time.time_ns())
        got = run_bridge(bridge, port, lambda r: any(isinstance(m, OrderFilled) for _, m in r))
    finally:
        bridge.on_stop(time.time_ns())
    kinds = [type(m) for _, m in got]
    assert kinds == [OrderAccepted, OrderFilled] and all(receiver == "broker" for receiver, _ in got)
    assert got[1][1].quantity == 2 and bridge.snapshot()["working"] == 0


def test_submit_with_unknown_outcome_is_never_resent_and_rejected_once_the_broker_denies_having_it():
    broker = FakeBroker(unreachable_submit=True)
    bridge, port = make_bridge(broker)
    try:
        bridge.on_message(SubmitOrder("s:2:D", "broker", LEGS, "BUY", 1, 1.5), time.time_ns())
        got = run_bridge(bridge, port, lambda r: bool(r))
    finally:
        bridge.on_stop(time.time_ns())
    assert [type(m) for _, m in got] == [OrderRejected] and "never reached" in got[0][1].reason
    assert broker.orders == {}


def test_quotes_reach_their_routes_with_the_underlying_and_a_bad_chain_is_logged_once():
    broker = FakeBroker()
    with structlog.testing.capture_logs() as logs:
        bridge, port = make_bridge(broker, {("SPY", "2026-12-18"): ("trader-a",), ("BAD", "2026-12-18"): ("trader-b",)})
        try:
            got = run_bridge(bridge, port, lambda r: len(r) >= 3)
        finally:
            bridge.on_stop(time.time_ns())
    assert {receiver for receiver, _ in got} == {"trader-a"}
    assert got[0][1].underlying == 601.5
    assert bridge.snapshot()["quote_errors"] >= 3
    failures = [line for line in logs if line["event"] == "quotes_unavailable"]
    assert len(failures) == 1 and failures[0]["symbol"] == "BAD" and "no chain" in failures[0]["error"]


def test_stop_cancels_working_orders_and_forwards_the_cancel():
    broker = FakeBroker()
    broker.order = _never_fills(broker)
    bridge, port = make_bridge(broker)
    bridge.on_message(SubmitOrder("s:3:D", "broker", LEGS, "BUY", 1, 1.5), time.time_ns())
    run_bridge(bridge, port, lambda r: bool(r))
    bridge.on_stop(time.time_ns())
    sent = []
    while not port.sent.empty():
        sent.append(port.sent.get()[1])
    assert broker.cancels == ["s:3:D"] and any(isinstance(m, OrderCancelled) for m in sent)
    assert bridge.snapshot()["working"] == 0


def test_status_request_reports_unknown_orders_as_unknown():
    bridge, port = make_bridge(FakeBroker())
    try:
        bridge.on_message(OrderStatusRequest("nope", "broker"), time.time_ns())
        got = run_bridge(bridge, port, lambda r: bool(r))
    finally:
        bridge.on_stop(time.time_ns())
    assert isinstance(got[0][1], OrderStatusReport) and got[0][1].known is False


def test_cancel_request_for_a_working_order_is_sent_to_the_broker():
    broker = FakeBroker()
    broker.order = _never_fills(broker)
    bridge, port = make_bridge(broker)
    try:
        bridge.on_message(SubmitOrder("s:4:D", "broker", LEGS, "BUY", 1, 1.5), time.time_ns())
        run_bridge(bridge, port, lambda r: bool(r))
        bridge.on_message(CancelOrder("s:4:D", "broker"), time.time_ns())
        got = run_bridge(bridge, port, lambda r: any(isinstance(m, OrderCancelled) for _, m in r))
    finally:
        bridge.on_stop(time.time_ns())
    assert broker.cancels == ["s:4:D"] and isinstance(got[-1][1], OrderCancelled)


def _never_fills(broker):
    async def order(coid):
        if coid not in broker.orders:
            raise BrokerRequestError(404, {"error": "unknown"})
        return report_from_record(broker.orders[coid])
    return order


def test_an_order_found_working_on_restart_is_reported_then_followed_to_its_fill():
    broker = FakeBroker()
    broker.orders["s:9:D"] = {"status": "ACCEPTED", "filled_quantity": 0, "quantity": 2}
    bridge, port = make_bridge(broker)
    try:
        bridge.on_message(OrderStatusRequest("s:9:D", "broker"), time.time_ns())
        got = run_bridge(bridge, port, lambda r: any(isinstance(m, OrderFilled) for _, m in r))
    finally:
        bridge.on_stop(time.time_ns())
    report = got[0][1]
    assert isinstance(report, OrderStatusReport) and report.known and report.status == "ACCEPTED"
    assert [type(m) for _, m in got[1:]] == [OrderFilled]          # accepted was in the report: not sent again


def test_a_route_added_while_running_gets_its_chain():
    bridge, port = make_bridge(FakeBroker())
    try:
        bridge.on_message(AddRoute("QQQ", "2026-12-18", ("trader-q",)), time.time_ns())
        got = run_bridge(bridge, port, lambda r: any(receiver == "trader-q" for receiver, _ in r))
    finally:
        bridge.on_stop(time.time_ns())
    assert any(receiver == "trader-q" and m.symbol == "QQQ" for receiver, m in got)


def test_the_exchange_stream_rings_the_doorbell_so_a_fill_arrives_before_the_next_poll():
    """Order polls every 5 s; the paper exchange's order-event stream makes the bridge poll the order at once."""
    import asyncio

    from adapters.paper_http import HttpBroker
    from supervisors.paper import PaperExchangeProcess
    from tests.sim.paper.test_server import marketable_order

    exchange = PaperExchangeProcess("127.0.0.1", 0, (7,), seed=1, quote_interval_ms=200)
    bridge = None
    try:
        async def order():
            async with HttpBroker(exchange.url) as broker:
                return await marketable_order(broker, "bell:1")

        submit = asyncio.run(order())._replace(owner="broker")
        bridge = BrokerBridge(lambda: HttpBroker(exchange.url), {}, quote_poll_ms=5000, order_poll_ms=5000,
                              stop_timeout_s=2)
        port = QueuePort(bridge.name)
        bridge.bind(port)
        bridge.on_start(time.time_ns())
        time.sleep(0.5)                                   # the stream is open before the order goes
        started = time.monotonic()
        bridge.on_message(submit, time.time_ns())
        got = run_bridge(bridge, port, lambda r: any(isinstance(m, OrderFilled) for _, m in r), timeout_s=3.0)
        elapsed_s = time.monotonic() - started
    finally:
        if bridge is not None:
            bridge.on_stop(time.time_ns())
        exchange.stop()
    assert any(isinstance(m, OrderFilled) for _, m in got), got
    assert elapsed_s < 3.0 and bridge.counts["doorbells"] >= 1


def test_the_gate_hears_when_the_broker_stops_answering_and_when_it_is_back():
    broker = FakeBroker()
    answer = broker.chain
    broker.down = True

    async def chain(symbol, expiry):
        if broker.down:
            raise BrokerError("connection refused")
        return await answer(symbol, expiry)

    broker.chain = chain
    bridge, port = make_bridge(broker, {("SPY", "2026-12-18"): ("trader-a",)}, risk="risk")
    try:
        got = run_bridge(bridge, port, lambda r: any(isinstance(m, VenueStatus) for _, m in r))
        broker.down = False
        got += run_bridge(bridge, port, lambda r: any(isinstance(m, VenueStatus) for _, m in r))
    finally:
        bridge.on_stop(time.time_ns())
    statuses = [m for receiver, m in got if receiver == "risk"]
    assert [s.up for s in statuses] == [False, True] and "connection refused" in statuses[0].reason


class RestartingBroker(FakeBroker):
    """Accepts orders, then restarts (`restart()`): an empty book that began after them."""

    def __init__(self):
        super().__init__()
        self.since_ns = time.time_ns()

    def restart(self):
        self.orders, self.since_ns = {}, time.time_ns()

    async def order(self, coid):
        if coid in self.orders:
            return report_from_record(self.orders[coid])          # stays working until the restart
        raise BrokerRequestError(404, {"error": "unknown"})

    async def book_since_ns(self):
        return self.since_ns


def test_an_order_lost_when_the_broker_restarts_is_cancelled_with_the_reason():
    """A working order the restarted broker no longer knows: cancelled, saying the broker lost its book (not a
    rejection of an order that was never sent); the status of an order sent after the restart is unknown."""
    broker = RestartingBroker()
    bridge, port = make_bridge(broker)
    try:
        bridge.on_message(SubmitOrder("s:9:D", "broker", LEGS, "BUY", 2, 1.5), time.time_ns())
        got = run_bridge(bridge, port, lambda r: any(isinstance(m, OrderAccepted) for _, m in r))
        broker.restart()
        got += run_bridge(bridge, port, lambda r: any(isinstance(m, OrderCancelled) for _, m in r))
        bridge.on_message(OrderStatusRequest("s:9:D", "broker"), time.time_ns())
        report = run_bridge(bridge, port, lambda r: any(isinstance(m, OrderStatusReport) for _, m in r))
    finally:
        bridge.on_stop(time.time_ns())
    cancelled = [m for _, m in got if isinstance(m, OrderCancelled)]
    assert len(cancelled) == 1 and cancelled[0].cancelled_quantity == 2 and "lost its book" in cancelled[0].reason
    assert not any(isinstance(m, OrderRejected) for _, m in got)
    assert report[0][1].known is False and report[0][1].venue_since_ns == broker.since_ns
