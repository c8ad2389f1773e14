"""The seed callbacks behind the broker adapter interface: refusals, timeouts, ids that know their status."""

import asyncio
import threading

import pytest

from adapters.callback import CallbackAdapter, CallbackError, chain_from_any
from adapters.protocol import BrokerError, BrokerRequestError
from core.orders import Contract, OrderLeg, SubmitOrder

LEGS = (OrderLeg(Contract("SPY", "2026-12-18", 600.0, "C"), 1), OrderLeg(Contract("SPY", "2026-12-18", 605.0, "C"), -1))


def adapter(order_callback, **kwargs):
    return CallbackAdapter(order_callback, lambda s, e: None, lambda s: 600.0, {}, timeout_s=0.2, **kwargs)


def test_a_callback_that_raises_refuses_the_order():
    def refuse(*args):
        raise RuntimeError("margin")

    with pytest.raises(BrokerRequestError, match="margin"):
        asyncio.run(adapter(refuse).submit(SubmitOrder("a", "t", LEGS, "BUY", 1, 1.0)))


def test_credit_orders_reach_the_callback_with_a_negative_net_limit():
    seen = []
    broker = adapter(lambda *a: seen.append(a) or "id-1", order_status_callback=lambda i: {"status": "working"})
    asyncio.run(broker.submit(SubmitOrder("a", "t", LEGS, "SELL", 2, 1.25)))
    assert seen[0][0] == "SPY" and seen[0][2] == 2 and seen[0][3] == -1.25
    assert asyncio.run(broker.order("a")).status == "ACCEPTED"


def test_a_slow_callback_is_not_resent_and_its_late_id_is_followed():
    release = threading.Event()

    def slow(*args):
        release.wait(5)
        return "late-id"

    broker = adapter(slow, order_status_callback=lambda i: {"status": "filled", "filled_quantity": 1,
                                                            "average_price": 1.0})

    async def scenario():
        with pytest.raises(BrokerError, match="no answer"):
            await broker.submit(SubmitOrder("a", "t", LEGS, "BUY", 1, 1.0))
        with pytest.raises(BrokerError, match="has not answered"):       # not a 404: the bridge keeps polling
            await broker.order("a")
        release.set()
        for _ in range(50):
            if "a" in broker.ids:
                break
            await asyncio.sleep(0.02)
        return await broker.order("a")

    assert asyncio.run(scenario()).status == "FILLED"


def test_a_plain_id_without_a_status_callback_cannot_be_followed():
    broker = adapter(lambda *a: "plain")
    asyncio.run(broker.submit(SubmitOrder("a", "t", LEGS, "BUY", 1, 1.0)))
    with pytest.raises(BrokerRequestError, match="order_status_callback"):
        asyncio.run(broker.order("a"))


def test_chains_must_name_their_columns():
    with pytest.raises(CallbackError, match="'bid'"):
        chain_from_any({"strike": [1.0], "right": ["C"], "ask": [1.0]}, "SPY", "2026-12-18", 0)
    with pytest.raises(CallbackError, match="C/P"):
        chain_from_any([{"strike": 1.0, "right": "X", "bid": 1.0, "ask": 1.1}], "SPY", "2026-12-18", 0)
