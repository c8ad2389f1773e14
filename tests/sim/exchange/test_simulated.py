"""The simulated exchange on the inline runtime: fills, partials, complex orders, races, rejects."""

from __future__ import annotations

import numpy as np
import pytest

from actors.runtime.component import Component
from actors.runtime.inline import InlineRuntime
from config.exchange import ExchangeConfig, FillModel
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
    OrderReplaced,
    ReplaceOrder,
    SubmitOrder,
)
from core.quotes import ChainQuotes
from sim.exchange.simulated import SimulatedExchange

NEUTRAL_LIQUIDITY = {"queue_ahead_fraction": 0.0, "adverse_selection": 0.0, "depth_levels": 0}
"""The liquidity model's settings at their neutral values: the tests of other behaviour run without them."""


def fill_model(**settings):
    return FillModel(**{**NEUTRAL_LIQUIDITY, **settings})


def exchange_config(**settings):
    return ExchangeConfig(**{"fills": fill_model(), **settings})


EXPIRY = "2026-12-18"
EXPIRY_NS = 10 * 86_400 * 10**9
STRIKES = np.array([440.0, 445.0, 450.0, 455.0, 460.0])


def quotes(time_ns=0, bid=None, ask=None, size=20, symbol="SPY"):
    bid_c = np.array([10.10, 6.20, 3.10, 1.20, 0.40]) if bid is None else np.asarray(bid, float)
    ask_c = bid_c + 0.04 if ask is None else np.asarray(ask, float)
    return ChainQuotes(symbol, EXPIRY, EXPIRY_NS, time_ns, STRIKES, np.ones(5, bool), bid_c, ask_c,
                       np.full(5, size), np.full(5, size), 0.01, 0.01)


def leg(strike, ratio=1, symbol="SPY"):
    return OrderLeg(Contract(symbol, EXPIRY, strike, "C"), ratio)


class Trader(Component):
    """Sends scripted messages at given times and records every event it gets back."""

    def __init__(self, script):
        super().__init__("trader")
        self.script = script
        self.events = []

    def on_start(self, now_ns):
        for delay_ns, message in self.script:
            self.port.schedule(delay_ns, message)

    def on_timer(self, message, now_ns):
        self.port.send("exchange", message)

    def on_message(self, event, now_ns):
        self.events.append(event)

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]


def run(script, config=None, is_open=None, until_s=5.0):
    rt = InlineRuntime(RuntimeConfig(check_serializable=True))
    exchange = rt.add(SimulatedExchange(config or exchange_config(seed=1), is_open=is_open))
    trader = rt.add(Trader([(0, quotes())] + list(script)))
    rt.run(until_ns=int(until_s * 1e9))
    return trader, exchange


def submit(coid, legs, side, qty, price):
    return SubmitOrder(coid, "trader", tuple(legs), side, qty, price)


def test_marketable_buy_fills_at_the_ask_up_to_size_then_rests():
    trader, exchange = run([(1000, submit("a", [leg(450.0)], "BUY", 30, 3.20))], until_s=0.01)
    assert len(trader.of(OrderAccepted)) == 1
    (fill,) = trader.of(OrderFilled)
    assert (fill.quantity, fill.price, fill.leaves_quantity) == (20, 3.14, 10)
    assert exchange.snapshot()["working"] == 1


def refreshed_quotes(seconds):
    return [(int(s * 1e9), quotes(int(s * 1e9))) for s in range(1, seconds)]


def test_resting_order_at_mid_fills_over_time_in_lots():
    trader, _ = run([(1000, submit("a", [leg(450.0)], "BUY", 40, 3.12))] + refreshed_quotes(600), until_s=600)
    fills = trader.of(OrderFilled)
    assert sum(f.quantity for f in fills) == 40 and len(fills) >= 3
    assert all(f.price == 3.12 for f in fills)
    assert fills[-1].cumulative_quantity == 40 and fills[-1].leaves_quantity == 0


def test_stale_quotes_stop_resting_fills():
    trader, _ = run([(1000, submit("a", [leg(450.0)], "BUY", 1000, 3.12))], until_s=600)
    assert all(f.time_ns <= 5 * 10**9 for f in trader.of(OrderFilled))


def test_deeper_limits_fill_more_slowly():
    def first_fill_s(price, seed):
        trader, _ = run([(1000, submit("a", [leg(450.0)], "BUY", 1, price))] + refreshed_quotes(600),
                        exchange_config(seed=seed), until_s=600)
        fills = trader.of(OrderFilled)
        return fills[0].time_ns / 1e9 if fills else 600.0

    near = np.median([first_fill_s(3.13, s) for s in range(15)])
    far = np.median([first_fill_s(3.10, s) for s in range(15)])
    assert far > 2 * near


def test_a_resting_complex_order_fills_at_its_hazard_rate_in_continuous_time():
    """A vertical resting at its mid fills after an Exp(rate) wait, rate = rate_at_mid x complex_rate_scale
    (0.25 x 0.35 /s: mean 11.4 s), whatever the quote refreshes in between (each re-arms the timer with
    the hazard left). 60 seeds: the mean first-fill time within 30% of 1/rate."""
    fills = fill_model()
    rate_per_s = fills.rate_at_mid_per_s * fills.complex_rate_scale
    waits_s = []
    for seed in range(60):
        mid = (3.10 + 3.14) / 2 - (1.20 + 1.24) / 2                   # 450/455 call vertical at mid: 1.90
        trader, _ = run([(1000, submit("v", [leg(450.0), leg(455.0, -1)], "BUY", 1, round(mid, 2)))]
                        + refreshed_quotes(200), exchange_config(seed=seed), until_s=200)
        (fill,) = trader.of(OrderFilled) or [None]
        waits_s.append(fill.time_ns / 1e9 if fill else 200.0)
    assert abs(np.mean(waits_s) * rate_per_s - 1.0) < 0.3, np.mean(waits_s)


def test_a_replace_re_arms_the_hazard_at_the_new_price():
    deep = ReplaceOrder("v", "trader", 1.80, 0)
    trader, exchange = run([(1000, submit("v", [leg(450.0), leg(455.0, -1)], "BUY", 1, 1.90)), (2000, deep)]
                           + refreshed_quotes(3), exchange_config(seed=3), until_s=3)
    order = exchange.resting["v"]
    fills = fill_model()
    half_width, widening = 0.04, 1 + 2 * fills.complex_extra_width_fraction
    expected = (fills.rate_at_mid_per_s * fills.complex_rate_scale
                * np.exp(fills.steepness * (1.80 - 1.90) / (half_width * widening)))
    assert trader.of(OrderReplaced) and order.limit == 1.80 and abs(order.rate_per_s - expected) < 1e-9


def test_marketable_complex_order_legs_in_at_the_legs_natural_with_consistent_leg_prices():
    vertical = [leg(450.0, 1), leg(455.0, -1)]
    trader, _ = run([(1000, submit("v", vertical, "BUY", 5, 2.00))], until_s=0.01)
    (fill,) = trader.of(OrderFilled)
    legs_natural = 3.14 - 1.20
    assert fill.price == pytest.approx(legs_natural)          # a marketable limit trades at the natural
    assert fill.leg_prices[0] - fill.leg_prices[1] == pytest.approx(fill.price)


def test_cancel_racing_a_fill_is_refused_too_late():
    trader, _ = run([(1000, submit("a", [leg(450.0)], "BUY", 5, 3.20)), (1001, CancelOrder("a", "trader"))],
                    until_s=0.01)
    assert trader.of(OrderFilled)[0].quantity == 5
    (refused,) = trader.of(CancelRejected)
    assert refused.reason.startswith("too late")


def test_cancel_of_a_resting_order_returns_its_leaves():
    trader, exchange = run([(1000, submit("a", [leg(450.0)], "BUY", 30, 3.20)),
                            (5_000_000, CancelOrder("a", "trader"))], until_s=1)
    (cancelled,) = trader.of(OrderCancelled)
    assert cancelled.cancelled_quantity == 10
    assert exchange.snapshot()["working"] == 0


def test_replace_to_a_marketable_price_fills():
    trader, _ = run([(1000, submit("a", [leg(450.0)], "BUY", 5, 3.00)),
                     (5_000_000, ReplaceOrder("a", "trader", 3.14))], until_s=0.05)
    (replaced,) = trader.of(OrderReplaced)
    assert replaced.limit_price == 3.14
    assert sum(f.quantity for f in trader.of(OrderFilled)) == 5


@pytest.mark.parametrize("message, fragment", [
    (submit("q", [leg(450.0)], "BUY", 0, 3.1), "quantity"),
    (submit("q", [leg(450.0)], "BUY", 1, 3.105), "off the 0.01 tick"),
    (submit("q", [leg(451.0)], "BUY", 1, 3.1), "unknown contract"),
    (submit("q", [leg(450.0, symbol="QQQ")], "BUY", 1, 3.1), "unknown contract"),
    (submit("q", [leg(450.0)], "HOLD", 1, 3.1), "side"),
    (submit("q", [leg(450.0)], "BUY", 1, float("nan")), "finite"),
    (submit("q", [], "BUY", 1, 3.1), "at least one leg"),
    (submit("q", [leg(450.0, -1)], "BUY", 1, 3.1), "ratio 1"),
    (submit("q", [leg(450.0, 1), leg(450.0, -1)], "BUY", 1, 0.0), "two legs"),
])
def test_bad_orders_are_rejected_with_a_reason(message, fragment):
    trader, exchange = run([(1000, message)], until_s=0.01)
    (rejected,) = trader.of(OrderRejected)
    assert fragment in rejected.reason
    assert exchange.snapshot()["working"] == 0 and not trader.of(OrderFilled)


def test_market_closed_expired_crossed_stale_and_zero_bid():
    trader, _ = run([(1000, submit("a", [leg(450.0)], "BUY", 1, 3.1))], is_open=lambda t: False, until_s=0.01)
    assert trader.of(OrderRejected)[0].reason == "market closed"
    trader, _ = run([(EXPIRY_NS, submit("a", [leg(450.0)], "BUY", 1, 3.1))], until_s=EXPIRY_NS / 1e9 + 1)
    assert "expired" in trader.of(OrderRejected)[0].reason
    crossed = quotes(1, bid=[10.1, 6.2, 3.2, 1.2, 0.4], ask=[10.14, 6.24, 3.1, 1.24, 0.44])
    trader, _ = run([(5, crossed), (1000, submit("a", [leg(450.0)], "BUY", 1, 3.1))], until_s=0.01)
    assert "crossed" in trader.of(OrderRejected)[0].reason
    trader, _ = run([(6_000_000_000, submit("a", [leg(450.0)], "BUY", 1, 3.1))], until_s=7)
    assert "stale" in trader.of(OrderRejected)[0].reason
    zero_bid = quotes(1, bid=[10.1, 6.2, 3.1, 1.2, 0.0], ask=[10.14, 6.24, 3.14, 1.24, 0.05])
    trader, _ = run([(5, zero_bid), (1000, submit("s", [leg(460.0)], "SELL", 1, 0.01)),
                     (1000, submit("b", [leg(460.0)], "BUY", 1, 0.05))], until_s=0.01)
    assert trader.of(OrderRejected)[0].client_order_id == "s" and "zero bid" in trader.of(OrderRejected)[0].reason
    assert trader.of(OrderFilled)[0].client_order_id == "b"


def test_duplicate_client_order_id_is_refused():
    trader, _ = run([(1000, submit("a", [leg(450.0)], "BUY", 1, 3.00)),
                     (2000, submit("a", [leg(450.0)], "BUY", 1, 3.00))], until_s=0.01)
    assert [r.reason for r in trader.of(OrderRejected)] == ["duplicate client order id"]


def test_same_seed_same_fills_bit_for_bit():
    script = [(1000 * i, submit(f"o{i}", [leg(450.0)], "BUY", 7, 3.11 + 0.01 * (i % 3))) for i in range(1, 20)]
    first, _ = run(script, exchange_config(seed=5), until_s=300)
    second, _ = run(script, exchange_config(seed=5), until_s=300)
    other, _ = run(script, exchange_config(seed=6), until_s=300)
    assert first.events == second.events
    assert first.events != other.events


def test_cancel_that_overtakes_the_ack_still_cancels():
    slow_ack = ExchangeConfig.model_validate(
        {"seed": 1, "latency": {"ack_median_us": 50_000, "cancel_median_us": 100, "sigma": 0.0}}, strict=False
    )
    trader, exchange = run([(1000, submit("a", [leg(450.0)], "BUY", 5, 3.00)), (2000, CancelOrder("a", "trader"))],
                           slow_ack, until_s=1)
    assert [type(e).__name__ for e in trader.events] == ["OrderAccepted", "OrderCancelled"]
    assert exchange.snapshot()["working"] == 0


def test_quote_update_between_submit_and_ack_is_used():
    moved = quotes(500, bid=[10.3, 6.4, 3.3, 1.4, 0.6])         # the ask of 450 moves to 3.34
    trader, _ = run([(100, submit("a", [leg(450.0)], "BUY", 5, 3.20)), (500, moved)], until_s=0.01)
    assert not trader.of(OrderFilled)                             # no longer marketable at the new quotes
    assert len(trader.of(OrderAccepted)) == 1


def test_status_requests_report_what_the_exchange_knows():
    from core.orders import OrderStatusReport, OrderStatusRequest

    trader, _ = run(
        [
            (1000, submit("a", [leg(450.0)], "BUY", 30, 3.20)),
            (1000, submit("r", [leg(450.0)], "BUY", 0, 3.2)),
            (5_000_000, OrderStatusRequest("a", "trader")),
            (5_000_000, OrderStatusRequest("r", "trader")),
            (5_000_000, OrderStatusRequest("zz", "trader")),
        ],
        until_s=0.01,
    )
    reports = {r.client_order_id: r for r in trader.of(OrderStatusReport)}
    assert (reports["a"].known, reports["a"].status, reports["a"].filled_quantity, reports["a"].leaves_quantity) == (
        True, "PARTIALLY_FILLED", 20, 10)
    assert reports["a"].average_price == 3.14                    # the fill's price at the ask, not the 3.20 limit
    assert (reports["r"].known, reports["r"].status) == (True, "REJECTED")
    assert not reports["zz"].known


def test_a_finished_order_is_kept_as_a_record_that_still_answers():
    """Filled and cancelled orders drop their request, lists and book (memory, and the garbage
    collector's passes over a day of orders) but status, cancel, replace and a reused id still answer."""
    from core.orders import OrderStatusReport, OrderStatusRequest
    from sim.exchange.book import WorkingOrder

    trader, exchange = run(
        [
            (1000, submit("f", [leg(450.0)], "BUY", 5, 3.20)),
            (1000, submit("c", [leg(450.0)], "BUY", 5, 3.00)),
            (2_000_000, CancelOrder("c", "trader")),
            (5_000_000, OrderStatusRequest("f", "trader")),
            (5_000_000, OrderStatusRequest("c", "trader")),
            (5_000_000, CancelOrder("f", "trader")),
            (5_000_000, ReplaceOrder("c", "trader", 3.01)),
            (5_000_000, submit("f", [leg(450.0)], "BUY", 1, 3.20)),
        ],
        until_s=0.05,
    )
    assert not any(isinstance(o, WorkingOrder) for o in exchange.orders.values())
    reports = {r.client_order_id: r for r in trader.of(OrderStatusReport)}
    assert (reports["f"].status, reports["f"].filled_quantity, reports["f"].leaves_quantity) == ("FILLED", 5, 0)
    assert (reports["f"].average_price, reports["c"].status, reports["c"].filled_quantity) == (3.14, "CANCELLED", 0)
    assert sorted((r.client_order_id, r.reason) for r in trader.of(CancelRejected)) == [
        ("c", "too late: order is cancelled"), ("f", "too late: order is filled")]
    assert [r.reason for r in trader.of(OrderRejected)] == ["duplicate client order id"]


def test_a_cancel_queued_behind_an_order_rejected_at_its_ack_is_answered():
    slow_ack = ExchangeConfig.model_validate({"seed": 1, "latency": {"ack_median_us": 50_000, "cancel_median_us": 100,
                                                                     "sigma": 0.0}}, strict=False)
    crossed = quotes(500, bid=[10.10, 6.20, 3.30, 1.20, 0.40], ask=[10.14, 6.24, 3.20, 1.24, 0.44])
    trader, exchange = run([(100, submit("a", [leg(450.0)], "BUY", 5, 3.20)), (500, crossed),
                            (2000, CancelOrder("a", "trader"))], slow_ack, until_s=1)
    assert [type(e).__name__ for e in trader.events] == ["OrderRejected", "CancelRejected"]
    assert "crossed" in trader.events[0].reason and trader.events[1].reason == "too late: order is rejected"
    assert exchange.snapshot()["working"] == 0


def test_an_order_refused_at_submit_answers_cancel_and_replace_as_rejected_not_unknown():
    """Its id stays taken (a reuse is a duplicate) and the exchange still knows it: a cancel or
    replace is too late, not an "unknown order" that a client could read as never having reached it."""
    trader, exchange = run([(1000, submit("r", [leg(450.0)], "BUY", 0, 3.2)),
                            (5_000_000, CancelOrder("r", "trader")), (5_000_000, ReplaceOrder("r", "trader", 3.1)),
                            (5_000_000, CancelOrder("never", "trader"))], until_s=0.05)
    assert "quantity" in trader.of(OrderRejected)[0].reason
    assert sorted((r.client_order_id, r.reason) for r in trader.of(CancelRejected)) == [
        ("never", "unknown order"), ("r", "too late: order is rejected"), ("r", "too late: order is rejected")]
    assert exchange.orders["r"] == ("REJECTED", 0, 0.0, "trader")


def test_a_limit_far_through_the_far_touch_is_refused_by_the_price_collar():
    """A $99,999 bid for a call offered at 0.44 is refused at the ack (code price_collar) and never fills; a
    limit within the collar (max $1.00, 50% of the far touch) trades at the touch as before."""
    trader, exchange = run([(1000, submit("fat", [leg(460.0)], "BUY", 5, 99_999.0)),
                            (2000, submit("ok", [leg(460.0)], "BUY", 5, 1.44))], until_s=0.01)
    (rejected,) = trader.of(OrderRejected)
    assert (rejected.client_order_id, rejected.code) == ("fat", "price_collar")
    assert [f.client_order_id for f in trader.of(OrderFilled)] == ["ok"]
    assert trader.of(OrderFilled)[0].price == pytest.approx(0.44)


def test_a_replace_through_the_collar_is_refused_and_the_order_keeps_its_limit():
    trader, _ = run([(1000, submit("a", [leg(450.0)], "BUY", 5, 3.00)),
                     (5_000_000, ReplaceOrder("a", "trader", 500.0))], until_s=0.05)
    (refused,) = trader.of(CancelRejected)
    assert "through the far touch" in refused.reason
    assert not trader.of(OrderReplaced) and all(f.price <= 3.00 for f in trader.of(OrderFilled))


def test_a_spread_is_never_bought_at_zero_while_its_legs_are_quoted_above_zero():
    """Legs bid/ask 0.02/0.03 and 0.03/0.04: the call spread's natural is 0.03 - 0.03 = 0.00. A marketable buy
    pays one tick, never 0.00, and a buy limit of 0.00 is refused; an offer to sell it for 0.00 is accepted."""
    cheap = quotes(1, bid=[10.1, 6.2, 3.1, 0.02, 0.03], ask=[10.14, 6.24, 3.14, 0.03, 0.04])
    spread = [leg(455.0, 1), leg(460.0, -1)]
    trader, _ = run([(5, cheap), (1000, submit("buy", spread, "BUY", 2, 0.05)),
                     (2000, submit("zero", spread, "BUY", 2, 0.0)), (3000, submit("sell", spread, "SELL", 2, 0.0))],
                    until_s=0.01)
    fills = {f.client_order_id: f for f in trader.of(OrderFilled)}
    assert fills["buy"].price == pytest.approx(0.01) and "zero" not in fills
    assert "sell" in {e.client_order_id for e in trader.of(OrderAccepted)}
    (rejected,) = trader.of(OrderRejected)
    assert rejected.client_order_id == "zero" and "0.00" in rejected.reason


def test_finished_orders_beyond_the_cap_are_forgotten():
    """An order flood leaves at most max_finished_orders finished records; the newest still answer."""
    script = [(1000 + i, submit(f"u{i}", [leg(451.0)], "BUY", 1, 1.0)) for i in range(40)]     # unknown contract
    trader, exchange = run(script, config=exchange_config(seed=1, max_finished_orders=10), until_s=0.01)
    assert len(trader.of(OrderRejected)) == 40
    assert len(exchange.orders) == 10 and exchange.counts["forgotten"] == 30
    assert set(exchange.orders) == {f"u{i}" for i in range(30, 40)}


def _takes(refill_per_s, third_at_ns=2_000_000):
    config = exchange_config(seed=1, fills=fill_model(displayed_refill_per_s=refill_per_s, rate_at_mid_per_s=1e-9))
    script = [(1000, submit("a", [leg(450.0)], "BUY", 15, 3.14)), (2000, submit("b", [leg(450.0)], "BUY", 5, 3.14)),
              (third_at_ns - 1000, quotes(third_at_ns - 1000)),
              (third_at_ns, submit("c", [leg(450.0)], "BUY", 20, 3.14))]
    trader, _ = run(script, config=config, until_s=third_at_ns / 1e9 + 0.01)
    first = {}
    for fill in trader.of(OrderFilled):
        first.setdefault(fill.client_order_id, fill.quantity)
    return first


def test_displayed_size_taken_is_gone_until_it_refills():
    """20 offered: a takes 15 and b 5; c two milliseconds later (a new snapshot showing the same 20) finds
    nothing left and rests; five seconds later (refill 0.2 of the size a second) c finds all 20 again. The
    neutral setting gives every order the full 20."""
    assert _takes(0.2) == {"a": 15, "b": 5}
    assert _takes(0.2, third_at_ns=5_100_000_000) == {"a": 15, "b": 5, "c": 20}
    assert _takes(None) == {"a": 15, "b": 5, "c": 20}


def test_a_cancel_of_an_order_forgotten_while_the_cancel_was_in_flight_is_answered_not_a_crash():
    script = [(1000, submit("x", [leg(451.0)], "BUY", 1, 1.0)), (1001, CancelOrder("x", "trader"))]
    script += [(2000 + i, submit(f"u{i}", [leg(451.0)], "BUY", 1, 1.0)) for i in range(12)]
    trader, exchange = run(script, config=exchange_config(seed=1, max_finished_orders=10), until_s=0.05)
    (refused,) = trader.of(CancelRejected)
    assert refused.client_order_id == "x" and "x" not in exchange.orders


def test_resting_single_leg_orders_share_the_displayed_size_that_becomes_marketable():
    """Two resting 15-lot bids at 3.10; a quote offers 20 at 3.10: they fill 20 between them, not 30."""
    offered = quotes(50_000_000, bid=[10.1, 6.2, 3.0, 1.2, 0.4], ask=[10.14, 6.24, 3.10, 1.24, 0.44])
    trader, _ = run([(1000, submit("p", [leg(450.0)], "BUY", 15, 3.10)),
                     (2000, submit("q", [leg(450.0)], "BUY", 15, 3.10)), (50_000_000, offered)],
                    config=exchange_config(seed=1, fills=fill_model(rate_at_mid_per_s=1e-9)), until_s=0.06)
    assert sum(f.quantity for f in trader.of(OrderFilled)) == 20


def test_a_replace_that_makes_a_spread_marketable_pays_a_tick_not_zero():
    """The replace path reads the same checked view as the ack: a spread whose natural nets to 0.00 is bought
    at one tick, never for nothing."""
    cheap = quotes(1, bid=[10.1, 6.2, 3.1, 0.02, 0.03], ask=[10.14, 6.24, 3.14, 0.03, 0.04])
    spread = [leg(455.0, 1), leg(460.0, -1)]
    trader, _ = run([(5, cheap), (1000, submit("r", spread, "BUY", 2, -0.05)),
                     (5_000_000, ReplaceOrder("r", "trader", 0.05))],
                    config=exchange_config(seed=1, fills=fill_model(rate_at_mid_per_s=1e-9)), until_s=0.05)
    fills = trader.of(OrderFilled)
    assert fills and all(f.price == pytest.approx(0.01) for f in fills)
