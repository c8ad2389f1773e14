from core.ledger import LedgerEvent, MemoryLedgerStore, fold, intent_event, order_event
from core.orders import (
    Contract,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderLeg,
    OrderRejected,
    OrderStatus,
    SubmitOrder,
)

VERTICAL = (
    OrderLeg(Contract("SPY", "2026-12-18", 600.0, "C"), 1),
    OrderLeg(Contract("SPY", "2026-12-18", 605.0, "C"), -1),
)


def test_fold_rebuilds_orders_and_positions_from_events():
    store = MemoryLedgerStore()
    store.append(intent_event(SubmitOrder("a", "t1", VERTICAL, "BUY", 5, 2.10), "t1", 1))
    store.append(order_event(OrderAccepted("a", 2), "t1"))
    store.append(order_event(OrderFilled("a", 3, 2.10, (4.0, 1.9), 3, 2, 3), "t1"))
    store.append(order_event(OrderCancelled("a", 2, 4), "t1"))
    store.append(intent_event(SubmitOrder("b", "t2", VERTICAL[:1], "SELL", 1, 4.0), "t2", 5))
    store.append(order_event(OrderRejected("b", "market closed", 6), "t2"))
    store.append(order_event(OrderFilled("ghost", 1, 1.0, (1.0,), 1, 0, 7), ""))     # unknown: kept out
    state = fold(store.events())
    a, b = state.orders["a"], state.orders["b"]
    assert (a.status, a.filled, a.quantity) == (OrderStatus.CANCELLED, 3, 3)
    assert (b.status, b.reason) == (OrderStatus.REJECTED, "market closed")
    assert state.positions == {("SPY", "2026-12-18", 600.0, "C"): 3, ("SPY", "2026-12-18", 605.0, "C"): -3}
    assert state.last_seq == 7 and state.working() == []
    assert store.has_intent("a") and not store.has_intent("ghost")


def test_folding_in_two_steps_equals_folding_once():
    store = MemoryLedgerStore()
    store.append(intent_event(SubmitOrder("a", "t", VERTICAL, "BUY", 2, 1.0), "t", 1))
    store.append(order_event(OrderFilled("a", 1, 1.0, (1.0, 0.0), 1, 1, 2), "t"))
    store.append(order_event(OrderFilled("a", 1, 1.0, (1.0, 0.0), 2, 0, 3), "t"))
    events = store.events()
    assert fold(events[2:], fold(events[:2])).positions == fold(events).positions
    assert isinstance(events[0], LedgerEvent) and [e.seq for e in events] == [1, 2, 3]
