"""One order-state record (core.orders.OrderState): the ledger fold and the paper exchange fold events alike."""

from __future__ import annotations

from core.ledger import LedgerEvent, fold, intent_event, order_event
from core.orders import (
    EVENT_KIND,
    CancelRejected,
    Contract,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderLeg,
    OrderReplaced,
    OrderState,
    OrderStatus,
    SubmitOrder,
)
from sim.paper.service import PaperService
from tests.kit.stubs import RecordingPort

ORDER = SubmitOrder("s:1:D", "trader", (OrderLeg(Contract("SPY", "2026-12-18", 600.0, "C"), 1),), "BUY", 5, 1.25)
EVENTS = [OrderAccepted("s:1:D", 1), OrderFilled("s:1:D", 2, 1.20, (1.20,), 2, 3, 2),
          OrderReplaced("s:1:D", 1.30, 3, 3), CancelRejected("s:1:D", "too late", 4),
          OrderFilled("s:1:D", 1, 1.30, (1.30,), 3, 2, 5), OrderCancelled("s:1:D", 2, 6),
          OrderFilled("s:1:D", 1, 1.30, (1.30,), 4, 0, 7)]        # decided before the cancel, arriving after it


def _ledger_state() -> OrderState:
    events = [intent_event(ORDER, "trader", 0)] + [order_event(e, "trader") for e in EVENTS]
    return fold(LedgerEvent(i + 1, *e[1:]) for i, e in enumerate(events)).orders["s:1:D"]


def _paper_state() -> OrderState:
    service = PaperService()
    service.bind(RecordingPort())
    service.submit(ORDER, 0)
    for event in EVENTS:
        service.on_message(event, event.time_ns)
    return service.orders["s:1:D"]


def test_a_late_fill_never_reopens_a_cancelled_order():
    state = _ledger_state()
    assert state.status is OrderStatus.CANCELLED and state.done
    assert (state.filled, state.quantity, state.leaves) == (4, 3, 0)
    assert state.average_price == round((2 * 1.20 + 1.30 + 1.30) / 4, 6)
    assert state.last_cancel_reject == "too late"


def test_the_ledger_and_the_paper_exchange_fold_the_same_events_to_the_same_state():
    ledger, paper = _ledger_state(), _paper_state()
    fields = ("status", "filled", "quantity", "leaves", "limit_price", "average_price", "last_cancel_reject")
    assert [getattr(ledger, f) for f in fields] == [getattr(paper, f) for f in fields]


def test_every_order_event_has_a_transition():
    state = OrderState("x", "o", [], "BUY", 1, 1.0)
    for kind in EVENT_KIND.values():
        assert callable(getattr(OrderState, f"_{kind}"))
    state.apply("accepted", {})
    assert state.status is OrderStatus.ACCEPTED
