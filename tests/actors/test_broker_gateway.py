"""The gateway writes the intent before the order leaves, never resends an id, and rebuilds on restart."""

import pytest

from actors.broker_gateway import BrokerGateway
from actors.runtime.component import Component
from actors.runtime.inline import InlineRuntime
from config.runtime import RuntimeConfig
from core.ledger import MemoryLedgerStore, fold
from core.orders import (
    NOT_IN_LEDGER,
    CancelOrder,
    CancelRejected,
    Contract,
    OrderAccepted,
    OrderFilled,
    OrderLeg,
    OrderStatus,
    SubmitOrder,
)

LEG = (OrderLeg(Contract("SPY", "2026-12-18", 600.0, "C"), 1),)


class Exchange(Component):
    """Checks the ledger already holds each order's intent when the order arrives, then fills it."""

    def __init__(self, store):
        super().__init__("exchange")
        self.store, self.received, self.intent_first = store, [], []

    def on_message(self, message, now_ns):
        self.received.append(message)
        if isinstance(message, SubmitOrder):
            self.intent_first.append(self.store.has_intent(message.client_order_id))
            self.port.send(message.owner, OrderAccepted(message.client_order_id, now_ns))
            self.port.send(message.owner, OrderFilled(message.client_order_id, message.quantity, message.limit_price,
                                                      (message.limit_price,), message.quantity, 0, now_ns))


class Trader(Component):
    def __init__(self, script):
        super().__init__("trader")
        self.script, self.events = script, []

    def on_start(self, now_ns):
        for message in self.script:
            self.port.send("broker", message)

    def on_message(self, message, now_ns):
        self.events.append(message)


def run(store, script):
    rt = InlineRuntime(RuntimeConfig(check_serializable=True))
    exchange = rt.add(Exchange(store))
    gateway = rt.add(BrokerGateway(store))
    trader = rt.add(Trader(script))
    rt.run()
    return exchange, gateway, trader


def test_intent_is_written_before_the_order_leaves_and_events_reach_the_owner():
    store = MemoryLedgerStore()
    exchange, gateway, trader = run(store, [SubmitOrder("o1", "trader", LEG, "BUY", 2, 3.1)])
    assert exchange.intent_first == [True]
    assert exchange.received[0].owner == "broker"                   # replies come back through the gateway
    assert [type(e).__name__ for e in trader.events] == ["OrderAccepted", "OrderFilled"]
    assert [e.kind for e in store.events()] == ["intent", "accepted", "filled"]


def test_a_retried_or_replayed_id_is_never_sent_twice():
    store = MemoryLedgerStore()
    order = SubmitOrder("o1", "trader", LEG, "BUY", 1, 3.1)
    exchange, gateway, _ = run(store, [order, order])
    assert sum(isinstance(m, SubmitOrder) for m in exchange.received) == 1
    assert gateway.snapshot()["duplicates_refused"] == 1
    exchange, gateway, _ = run(store, [order])                      # a restarted gateway over the same ledger
    assert exchange.received == [] and gateway.snapshot()["duplicates_refused"] == 1


def test_restart_rebuilds_owners_so_late_events_still_arrive():
    store = MemoryLedgerStore()
    run(store, [SubmitOrder("o1", "trader", LEG, "BUY", 1, 3.1)])
    rt = InlineRuntime(RuntimeConfig(check_serializable=True))
    gateway = rt.add(BrokerGateway(store))
    trader = rt.add(Trader([CancelOrder("nope", "trader")]))
    rt.add(Exchange(store))
    rt.start()
    gateway.on_message(OrderAccepted("o1", 99), 99)                 # a late event after the restart
    rt.run()
    assert any(isinstance(e, OrderAccepted) and e.time_ns == 99 for e in trader.events)
    assert any(isinstance(e, CancelRejected) and e.reason == NOT_IN_LEDGER for e in trader.events)
    assert fold(store.events()).orders["o1"].status is OrderStatus.FILLED


class Broker(Component):
    """Answers status requests from a fixed table of reports."""

    def __init__(self, reports, book_since_ns=0):
        super().__init__("exchange")
        self.reports, self.requests, self.book_since_ns = reports, [], book_since_ns

    def on_message(self, message, now_ns):
        from core.orders import OrderStatusReport, OrderStatusRequest

        assert isinstance(message, OrderStatusRequest), message
        self.requests.append(message.client_order_id)
        known, status, filled, leaves = self.reports[message.client_order_id]
        self.port.send(message.owner, OrderStatusReport(message.client_order_id, known, status, filled, leaves, 3.1,
                                                        now_ns, self.book_since_ns))


def ledger_with_working_orders():
    from core.ledger import intent_event, order_event

    store = MemoryLedgerStore()
    for coid in ("never-sent", "missed-fill", "lost-by-broker", "fewer-fills", "cancelled-while-down"):
        store.append(intent_event(SubmitOrder(coid, "trader", LEG, "BUY", 4, 3.1), "trader", 1))
        if coid != "never-sent":
            store.append(order_event(OrderAccepted(coid, 2), "trader"))
    store.append(order_event(OrderFilled("fewer-fills", 2, 3.1, (3.1,), 2, 2, 3), "trader"))
    return store


def test_reconciliation_writes_what_the_broker_explains_and_halts_on_the_rest():
    from core.orders import OrderCancelled, OrderRejected, TradingHalted

    store = ledger_with_working_orders()
    reports = {"never-sent": (False, "", 0, 0), "missed-fill": (True, "FILLED", 4, 0),
               "lost-by-broker": (False, "", 0, 0), "fewer-fills": (True, "PARTIALLY_FILLED", 1, 3),
               "cancelled-while-down": (True, "CANCELLED", 0, 0)}
    rt = InlineRuntime(RuntimeConfig(check_serializable=True))
    broker = rt.add(Broker(reports))
    gateway = rt.add(BrokerGateway(store))
    trader = rt.add(Trader([]))
    rt.run()
    assert sorted(broker.requests) == sorted(reports)
    by_id = {}
    for event in trader.events:
        by_id.setdefault(event.client_order_id, []).append(type(event))
    assert by_id["never-sent"] == [OrderRejected]
    assert by_id["missed-fill"] == [OrderFilled]
    assert by_id["lost-by-broker"] == [TradingHalted] and by_id["fewer-fills"] == [TradingHalted]
    assert by_id["cancelled-while-down"] == [OrderCancelled]
    state = fold(store.events())
    assert state.orders["missed-fill"].filled == 4 and state.orders["missed-fill"].status is OrderStatus.FILLED
    assert state.orders["never-sent"].status is OrderStatus.REJECTED
    assert gateway.snapshot()["halts"] == 2 and gateway.snapshot()["reconciling"] == 0
    assert sum(e.kind == "halt" for e in store.events()) == 2


def test_a_restarted_trader_resumes_its_counter_and_balance_from_the_ledger():
    from datetime import date

    from actors.expiration_trader import ExpirationTrader
    from core.ledger import intent_event, order_event

    store = MemoryLedgerStore()
    coid = "session:SPY:2026-12-18:7:D"
    store.append(
        intent_event(SubmitOrder(coid, "trader-SPY-2026-12-18", LEG, "BUY", 3, 1.2), "trader-SPY-2026-12-18", 1)
    )
    store.append(order_event(OrderFilled(coid, 3, 1.2, (1.2,), 3, 0, 2), "trader-SPY-2026-12-18"))
    working = "session:SPY:2026-12-18:8:C"
    store.append(
        intent_event(SubmitOrder(working, "trader-SPY-2026-12-18", LEG, "SELL", 3, 2.0), "trader-SPY-2026-12-18", 3)
    )
    store.append(order_event(OrderAccepted(working, 4), "trader-SPY-2026-12-18"))
    rt = InlineRuntime(RuntimeConfig(check_serializable=True))
    exchange = rt.add(Broker({working: (True, "ACCEPTED", 0, 3)}))
    exchange.on_message = lambda m, now: exchange.received.append(m) if hasattr(exchange, "received") else None
    exchange.received = []
    rt.add(BrokerGateway(store))
    trader = rt.add(ExpirationTrader("SPY", date(2026, 12, 18)))
    rt.run(until_ns=10**9)
    assert trader.sequence == 8                                    # the next order will be :9:, never a reused id
    balance = trader.balance.get_balance("SPY", date(2026, 12, 18))
    assert balance.debit_contracts == 3 and balance.net_contracts == 3
    assert any(getattr(m, "client_order_id", None) == working and type(m).__name__ == "CancelOrder"
               for m in exchange.received)                         # the stale working order is cancelled


def test_a_message_of_no_known_type_raises_naming_it():
    import pytest

    with pytest.raises(TypeError, match="broker cannot handle object"):
        BrokerGateway(MemoryLedgerStore()).on_message(object(), 0)


@pytest.mark.parametrize("book_since_ns, lost", [(5, True), (1, False)])
def test_an_order_lost_with_a_restarted_broker_s_book_is_closed_with_the_reason_not_halted(book_since_ns, lost):
    """The ledger wrote the intent at 1; a broker whose book began at 5 restarted after it and lost the order:
    closed as cancelled with the reason, no halt. A book that began at 1 does not explain it: a halt."""
    from core.orders import OrderCancelled, TradingHalted

    store = ledger_with_working_orders()
    reports = {"never-sent": (False, "", 0, 0), "missed-fill": (True, "FILLED", 4, 0),
               "lost-by-broker": (False, "", 0, 0), "fewer-fills": (True, "PARTIALLY_FILLED", 2, 2),
               "cancelled-while-down": (True, "CANCELLED", 0, 0)}
    rt = InlineRuntime(RuntimeConfig(check_serializable=True))
    rt.add(Broker(reports, book_since_ns=book_since_ns))
    gateway = rt.add(BrokerGateway(store))
    trader = rt.add(Trader([]))
    rt.run()
    mine = [e for e in trader.events if e.client_order_id == "lost-by-broker"]
    record = fold(store.events()).orders["lost-by-broker"]
    if lost:
        assert [type(e) for e in mine] == [OrderCancelled] and "lost the order" in mine[0].reason
        assert record.status is OrderStatus.CANCELLED and gateway.snapshot()["halts"] == 0
        assert [e.payload["reason"] for e in store.events() if e.kind == "cancelled"
                and e.client_order_id == "lost-by-broker"] == [mine[0].reason]
    else:
        assert [type(e) for e in mine] == [TradingHalted] and gateway.snapshot()["halts"] == 1


class CrashingStore(MemoryLedgerStore):
    """Dies (raises) on writing the broker's ack: the process crashed between the ack and the ledger write."""

    def append(self, event):
        if event.kind == "accepted" and not getattr(self, "crashed", False):
            self.crashed = True
            raise OSError("killed between the broker's ack and the ledger write")
        return super().append(event)


class Venue(Component):
    """Acks each order and keeps it working; reports its status; fills it when told."""

    def __init__(self):
        super().__init__("exchange")
        self.submits, self.working = [], {}

    def on_message(self, message, now_ns):
        from core.orders import OrderStatusReport, OrderStatusRequest

        if isinstance(message, SubmitOrder):
            self.submits.append(message.client_order_id)
            self.working[message.client_order_id] = message
            self.port.send(message.owner, OrderAccepted(message.client_order_id, now_ns))
        elif isinstance(message, OrderStatusRequest):
            known = message.client_order_id in self.working
            self.port.send(message.owner, OrderStatusReport(message.client_order_id, known, "ACCEPTED" if known
                                                            else "", 0, 1 if known else 0, 0.0, now_ns))

    def fill(self, coid, now_ns):
        order = self.working.pop(coid)
        self.port.send("broker", OrderFilled(coid, order.quantity, order.limit_price, (order.limit_price,),
                                             order.quantity, 0, now_ns))


def test_a_crash_between_the_broker_s_ack_and_the_ledger_write_loses_nothing_and_sends_nothing_twice():
    """The gateway dies writing the ack; the one started over the same ledger asks the broker, writes the ack it
    missed, and the order's later fill reaches the ledger and its owner; the order was sent once."""
    store = CrashingStore()
    rt = InlineRuntime(RuntimeConfig(check_serializable=True))
    venue = rt.add(Venue())
    rt.add(BrokerGateway(store))
    rt.add(Trader([SubmitOrder("o1", "trader", LEG, "BUY", 1, 3.1)]))
    with pytest.raises(OSError):
        rt.run()
    assert [e.kind for e in store.events()] == ["intent"]
    restarted = InlineRuntime(RuntimeConfig(check_serializable=True))
    restarted.add(venue)
    gateway = restarted.add(BrokerGateway(store))
    trader = restarted.add(Trader([SubmitOrder("o1", "trader", LEG, "BUY", 1, 3.1)]))      # a retry: refused
    restarted.run()
    venue.fill("o1", 10)
    restarted.run()
    assert venue.submits == ["o1"] and gateway.snapshot()["duplicates_refused"] == 1
    assert [e.kind for e in store.events()] == ["intent", "accepted", "filled"]
    assert fold(store.events()).orders["o1"].status is OrderStatus.FILLED
    assert [type(e).__name__ for e in trader.events][-2:] == ["OrderAccepted", "OrderFilled"]
