"""Orders for the underlying's shares on the simulated exchange (what a delta hedge trades)."""

from __future__ import annotations

import numpy as np
import pytest

from actors.runtime.inline import InlineRuntime
from config.exchange import ExchangeConfig
from config.runtime import RuntimeConfig
from core.orders import (
    CancelOrder,
    CancelRejected,
    Contract,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderLeg,
    OrderRejected,
    SubmitOrder,
    underlying_contract,
)
from core.quotes import ChainQuotes
from sim.exchange.simulated import SimulatedExchange
from tests.sim.exchange.test_simulated import EXPIRY, EXPIRY_NS, STRIKES, Trader


def chain(time_ns=0, underlying=451.234, symbol="SPY"):
    bid = np.array([10.10, 6.20, 3.10, 1.20, 0.40])
    return ChainQuotes(symbol, EXPIRY, EXPIRY_NS, time_ns, STRIKES, np.ones(5, bool), bid, bid + 0.04,
                       np.full(5, 20), np.full(5, 20), 0.01, 0.01, underlying)


def shares(coid, side, quantity, limit, symbol="SPY"):
    return SubmitOrder(coid, "trader", (OrderLeg(underlying_contract(symbol), 1),), side, quantity, limit)


def run(script, first_chain=True, until_s=10.0):
    runtime = InlineRuntime(RuntimeConfig(check_serializable=True))
    runtime.add(SimulatedExchange(ExchangeConfig(seed=1, underlying_half_spread_per_share=0.02)))
    trader = runtime.add(Trader(([(0, chain())] if first_chain else []) + list(script)))
    runtime.run(until_ns=int(until_s * 1e9))
    return trader


def test_a_marketable_order_for_shares_fills_whole_at_the_touch_on_the_penny():
    trader = run([(1_000, shares("b", "BUY", 250, 452.0)), (1_000, shares("s", "SELL", 75, 450.0))])
    fills = {f.client_order_id: f for f in trader.of(OrderFilled)}
    assert fills["b"].quantity == 250 and fills["b"].price == 451.26       # 451.234 + 0.02, rounded up to the cent
    assert fills["s"].quantity == 75 and fills["s"].price == 451.21        # 451.234 - 0.02, rounded down
    assert fills["b"].leaves_quantity == 0 and len(trader.of(OrderAccepted)) == 2


def test_a_limit_short_of_the_touch_is_cancelled_at_once_and_a_late_cancel_is_refused():
    trader = run([(1_000, shares("b", "BUY", 100, 451.0)), (5_000_000, CancelOrder("b", "trader"))])
    assert [e.cancelled_quantity for e in trader.of(OrderCancelled)] == [100] and not trader.of(OrderFilled)
    assert "too late" in trader.of(CancelRejected)[0].reason


@pytest.mark.parametrize("order, reason", [
    (shares("x", "BUY", 10, 451.255), "off the 0.01 tick"),
    (shares("x", "BUY", 10, 0.0), "limit price must be"),
    (SubmitOrder("x", "trader", (OrderLeg(Contract("SPY", "", 0.0, "S"), 2),), "BUY", 10, 452.0), "ratio 1"),
    (SubmitOrder("x", "trader", (OrderLeg(Contract("SPY", EXPIRY, 450.0, "S"), 1),), "BUY", 10, 452.0),
     "no expiry or strike"),
    (shares("x", "BUY", 10, 452.0, symbol="QQQ"), "unknown contract QQQ"),
])
def test_bad_orders_for_shares_are_rejected_with_the_reason(order, reason):
    trader = run([(1_000, order)])
    assert reason in trader.of(OrderRejected)[0].reason and not trader.of(OrderFilled)


def test_shares_do_not_trade_on_a_stale_underlying_price():
    trader = run([(6_000_000_000, shares("b", "BUY", 10, 460.0))])      # the only chain is 6 s old (limit 5 s)
    assert trader.of(OrderRejected)[0].reason == "stale underlying price"
