"""A restarted session reconciles its open orders with each real venue's fake, through the BrokerBridge: the
gateway asks for each order its ledger shows working (OrderStatusRequest), the bridge's new adapter (a new process:
nothing in memory) finds it at the venue by its client order id, reports it, and follows it to its fill; an order
the venue forgot is reported unknown."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters.delta_exchange import DeltaExchangeAdapter
from adapters.deribit import DeribitAdapter
from adapters.tradier import TradierAdapter
from adapters.venue_http import RetryPolicy
from core.orders import Contract, OrderFilled, OrderLeg, OrderStatusReport, OrderStatusRequest, SubmitOrder
from tests.adapters.bridge_kit import make_bridge, run_bridge
from tests.adapters.fakes.common import served_in_thread
from tests.adapters.fakes.delta_exchange import EXPIRY as DELTA_EXPIRY
from tests.adapters.fakes.delta_exchange import FakeDeltaExchange
from tests.adapters.fakes.deribit import EXPIRIES, FakeDeribit
from tests.adapters.fakes.tradier import EXPIRY as TRADIER_EXPIRY
from tests.adapters.fakes.tradier import FakeTradier

FAST = RetryPolicy(retries=3, backoff_s=0.01, max_backoff_s=0.05, timeout_s=5.0)


def deribit_case():
    fake = FakeDeribit()
    order = SubmitOrder("strangle-BTC-1-1", "strangle-BTC",
                        (OrderLeg(Contract("BTC", EXPIRIES[0], 95_000.0, "C"), 1),), "SELL", 2, 0.05)
    return fake, (lambda url: DeribitAdapter(url, "id", "secret", policy=FAST)), order


def delta_case():
    fake = FakeDeltaExchange()
    order = SubmitOrder("strangle-BTC-1793608240-99999", "strangle-BTC",        # longer than Delta's 32 characters
                        (OrderLeg(Contract("BTC", DELTA_EXPIRY, 95_000.0, "C"), 1),), "SELL", 2, 500.0)
    return fake, (lambda url: DeltaExchangeAdapter(url, "key", "secret", policy=FAST)), order


def tradier_case():
    fake = FakeTradier()
    order = SubmitOrder("trader-SPY-2026-12-18:7:D", "trader-SPY-2026-12-18",        # ':' is no tag character
                        (OrderLeg(Contract("SPY", TRADIER_EXPIRY, 600.0, "C"), 1),
                         OrderLeg(Contract("SPY", TRADIER_EXPIRY, 605.0, "C"), -1)), "SELL", 2, 1.05)
    return fake, (lambda url: TradierAdapter(url, "token", "VA000001", policy=FAST)), order


@pytest.mark.parametrize("case", [deribit_case, delta_case, tradier_case], ids=["deribit", "delta_exchange", "tradier"])
def test_a_restart_reconciles_open_orders_and_follows_them_to_their_fill(case):
    fake, adapter_for, order = case()
    with served_in_thread(fake) as url:
        async def before_the_restart():
            async with adapter_for(url) as venue:
                await venue.submit(order)
                await venue.submit(order._replace(client_order_id="forgotten-1"))
        asyncio.run(before_the_restart())
        fake.forget("forgotten-1")
        bridge, port = make_bridge(adapter_for(url))
        try:
            for coid in (order.client_order_id, "forgotten-1"):
                bridge.on_message(OrderStatusRequest(coid, "broker"), time.time_ns())
            reports = run_bridge(bridge, port, lambda r: sum(isinstance(m, OrderStatusReport) for _, m in r) == 2,
                                 timeout_s=60)
            fake.fill(order.client_order_id)
            fills = run_bridge(bridge, port, lambda r: any(isinstance(m, OrderFilled) for _, m in r), timeout_s=60)
        finally:
            bridge.on_stop(time.time_ns())
    by_id = {m.client_order_id: m for _, m in reports if isinstance(m, OrderStatusReport)}
    assert by_id[order.client_order_id].known and by_id[order.client_order_id].status == "ACCEPTED"
    assert not by_id["forgotten-1"].known
    filled = [m for _, m in fills if isinstance(m, OrderFilled)]
    assert filled and filled[0].quantity == 2 and filled[0].price == pytest.approx(order.limit_price)
