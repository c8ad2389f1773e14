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


def test_unknown_positions_are_what_the_broker_holds_beyond_the_ledger_and_its_working_orders():
    from core.ledger import LedgerState, OrderState, unknown_positions

    call, put = ("SPY", "2026-12-18", 600.0, "C"), ("SPY", "2026-12-18", 590.0, "P")
    state = LedgerState(positions={call: 2})
    working = OrderState("w", "trader", [["SPY", "2026-12-18", 590.0, "P", 1]], "SELL", 3, 1.0)
    working.apply("accepted", {})
    state.orders["w"] = working
    assert unknown_positions(state, {call: 2}) == {}
    assert unknown_positions(state, {call: 2, put: -3}) == {}             # the working sell may have filled
    assert unknown_positions(state, {call: 2, put: -4}) == {put: -4}      # more than it could
    assert unknown_positions(state, {call: 2, put: 1}) == {put: 1}        # the wrong way
    assert unknown_positions(state, {}) == {call: -2}                     # the ledger holds what the broker does not


def test_adopted_positions_fold_to_what_the_broker_holds_with_the_reason():
    from core.ledger import ADOPTED_OWNER, MemoryLedgerStore, adoption_events, fold, unknown_positions

    held = {("SPY", "2026-12-18", 600.0, "C"): 3, ("QQQ", "2026-12-18", 500.0, "P"): -2, ("SPY", "", 0.0, "S"): 100}
    store = MemoryLedgerStore()
    for event in adoption_events(unknown_positions(fold([]), held), 5, "held at start"):
        store.append(event)
    state = fold(store.events())
    assert state.positions == held and not state.working()
    assert {o.owner for o in state.orders.values()} == {ADOPTED_OWNER}
    assert [e.payload["reason"] for e in store.events() if e.kind == "adopted"] == ["held at start"] * 3
