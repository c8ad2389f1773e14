"""Random malformed orders and quotes: the exchange never crashes, always says why, and trades nothing."""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.orders import Contract, OrderFilled, OrderLeg, OrderRejected, SubmitOrder
from core.quotes import ChainQuotes, QuoteFlag, quote_flags
from tests.sim.exchange.test_simulated import EXPIRY, EXPIRY_NS, STRIKES, run

bad_numbers = st.one_of(st.just(float("nan")), st.just(float("inf")), st.just(-1.0), st.just(0.0),
                        st.floats(min_value=0.0001, max_value=0.0099), st.integers(-5, 0))
contracts = st.builds(Contract, st.sampled_from(["SPY", "QQQ", ""]), st.sampled_from([EXPIRY, "2020-01-17", "x"]),
                      st.sampled_from([450.0, 451.0, -5.0, float("nan")]), st.sampled_from(["C", "P", "X"]))


@st.composite
def malformed_orders(draw):
    good_leg = OrderLeg(Contract("SPY", EXPIRY, 450.0, "C"), 1)
    legs = draw(st.one_of(st.just(()), st.lists(st.builds(OrderLeg, contracts, st.integers(-3, 3)), min_size=1,
                                                  max_size=4).map(tuple), st.just((good_leg,))))
    quantity = draw(st.one_of(st.integers(-3, 0), st.just(1), st.floats(allow_nan=True), st.just(True)))
    price = draw(st.one_of(bad_numbers, st.just(3.12)))
    side = draw(st.sampled_from(["BUY", "SELL", "buy", "", "HOLD"]))
    order = SubmitOrder("fuzz", "trader", legs, side, quantity, price)
    valid = legs == (good_leg,) and quantity == 1 and quantity is not True and price == 3.12 and side in ("BUY", "SELL")
    return order, valid


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=malformed_orders())
def test_malformed_orders_are_rejected_and_change_nothing(case):
    order, valid = case
    trader, exchange = run([(1000, order)], until_s=0.05)
    if valid:
        return
    (rejected,) = trader.of(OrderRejected)
    assert rejected.reason and isinstance(rejected.reason, str)
    assert not trader.of(OrderFilled)
    snapshot = exchange.snapshot()
    assert snapshot["working"] == 0 and snapshot["books"] == 1


@settings(max_examples=100, deadline=None)
@given(bid=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(0.0)), min_size=5, max_size=5),
       ask=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(0.0)), min_size=5, max_size=5))
def test_bad_quotes_are_flagged_and_never_traded(bid, ask):
    bid, ask = np.array(bid), np.array(ask)
    flags = quote_flags(bid, ask, 0, 0, 10)
    with np.errstate(invalid="ignore"):
        tradable = np.isfinite(bid) & np.isfinite(ask) & (bid > 0) & (ask >= bid)
    assert np.array_equal(flags == QuoteFlag.OK, tradable)
    feed = ChainQuotes("SPY", EXPIRY, EXPIRY_NS, 1, STRIKES, np.ones(5, bool), bid, ask, np.full(5, 10),
                       np.full(5, 10), 0.01, 0.01)
    orders = [(1000 + i, SubmitOrder(f"o{i}", "trader", (OrderLeg(Contract("SPY", EXPIRY, float(k), "C"), 1),),
                                     side, 1, 1.0)) for i, (k, side) in enumerate(zip(STRIKES, ["BUY", "SELL"] * 3))]
    trader, _ = run([(5, feed)] + orders, until_s=0.05)
    for fill in trader.of(OrderFilled):
        column = int(fill.client_order_id[1:])
        assert flags[column] in (QuoteFlag.OK, QuoteFlag.ZERO_BID)
        assert all(math.isfinite(p) for p in fill.leg_prices)


def test_stale_quotes_are_flagged():
    assert quote_flags([1.0], [1.1], [0], 10**9, 10)[0] == QuoteFlag.STALE
