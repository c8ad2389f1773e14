"""The paper service forgets finished orders only once they are settled: a fill decided before a cancel is booked."""

from core.orders import Contract, OrderAccepted, OrderCancelled, OrderFilled, OrderLeg, OrderRejected, SubmitOrder
from sim.paper.service import PaperService
from tests.kit.stubs import RecordingPort

LEG = (OrderLeg(Contract("SPY", "2026-12-18", 600.0, "C"), 1),)


def test_a_cancelled_order_with_a_fill_in_flight_is_kept_until_the_fill_lands():
    service = PaperService(max_finished_orders=1)
    service.bind(RecordingPort())
    service.submit(SubmitOrder("slow", "client", LEG, "BUY", 5, 2.0), 0)
    service.on_message(OrderAccepted("slow", 1), 1)
    service.on_message(OrderCancelled("slow", 3, 2), 2)              # 2 of 5 decided before the cancel
    for i in range(3):                                               # a flood of finished orders meanwhile
        service.submit(SubmitOrder(f"r{i}", "client", LEG, "BUY", 1, 2.0), 3)
        service.on_message(OrderRejected(f"r{i}", "unknown contract", 4, "unknown_contract"), 4)
    assert "slow" in service.orders and "r0" in service.forgotten
    service.on_message(OrderFilled("slow", 2, 2.0, (2.0,), 2, 0, 5), 5)
    assert service.position_list()[0]["quantity"] == 2              # booked, not dropped as unknown
    service.submit(SubmitOrder("r9", "client", LEG, "BUY", 1, 2.0), 6)
    service.on_message(OrderRejected("r9", "unknown contract", 7, "unknown_contract"), 7)
    assert "slow" in service.forgotten                               # settled now, so it may go
