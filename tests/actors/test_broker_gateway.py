"""The gateway writes the intent before the order leaves, never resends an id, and rebuilds on restart."""

from actors.broker_gateway import BrokerGateway
from actors.component import Component
from actors.runtime_inline import InlineRuntime
from config.runtime import RuntimeConfig
from core.ledger import MemoryLedgerStore, fold
from core.orders import (CancelOrder, CancelRejected, Contract, OrderAccepted, OrderFilled, OrderLeg, OrderStatus,
                         SubmitOrder)

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
    assert any(isinstance(e, CancelRejected) and e.reason == "unknown order" for e in trader.events)
    assert fold(store.events()).orders["o1"].status is OrderStatus.FILLED
