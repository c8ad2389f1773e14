"""The simulated exchange's liquidity model: queue position, adverse selection of resting fills, size impact.

Each effect is tested against its neutral setting, so each test fails when the effect is gone."""

from __future__ import annotations

import numpy as np
import pytest

from actors.messages import NextMids
from actors.runtime.inline import InlineRuntime
from config.runtime import RuntimeConfig
from core.orders import OrderFilled
from sim.exchange.simulated import SimulatedExchange
from tests.sim.exchange.test_simulated import EXPIRY, Trader, exchange_config, fill_model, leg, quotes, run, submit

BIDS = np.array([10.10, 6.20, 3.10, 1.20, 0.40])
ASKS = BIDS + 0.04


def test_a_take_larger_than_the_touch_walks_the_levels_behind_it_and_pays_each():
    """20 offered at 3.14; with two levels behind it (20 each, a tick apart) a 50-lot pays 20 x 3.14 + 20 x 3.15 +
    10 x 3.16; a limit of 3.15 stops after 40 and the rest rests; the neutral setting takes the touch only."""
    def first_fill(depth_levels, limit):
        trader, _ = run([(1000, submit("a", [leg(450.0)], "BUY", 50, limit))],
                        exchange_config(seed=1, fills=fill_model(depth_levels=depth_levels)), until_s=0.01)
        fill = trader.of(OrderFilled)[0]
        return fill.quantity, fill.price

    assert first_fill(2, 3.20) == (50, pytest.approx((20 * 3.14 + 20 * 3.15 + 10 * 3.16) / 50))
    assert first_fill(2, 3.15) == (40, pytest.approx(3.145))
    assert first_fill(0, 3.20) == (20, 3.14)


def test_a_spread_walks_each_legs_levels_and_its_leg_prices_sum_to_its_price():
    vertical = [leg(450.0, 1), leg(455.0, -1)]
    trader, _ = run([(1000, submit("v", vertical, "BUY", 30, 2.10))],
                    exchange_config(seed=1, fills=fill_model(depth_levels=1)), until_s=0.01)
    (fill,) = trader.of(OrderFilled)
    assert fill.quantity == 30
    assert fill.price == pytest.approx((20 * (3.14 - 1.20) + 10 * (3.15 - 1.19)) / 30)
    assert fill.leg_prices[0] - fill.leg_prices[1] == pytest.approx(fill.price)


def test_taken_levels_stay_taken_for_the_next_order():
    """A 30-lot takes the touch (20) and half the next level; a second 20-lot right after finds 10 at 3.15 and
    10 at 3.16."""
    trader, _ = run([(1000, submit("a", [leg(450.0)], "BUY", 30, 3.20)),
                     (5_000_000, submit("b", [leg(450.0)], "BUY", 20, 3.20))],
                    exchange_config(seed=1, fills=fill_model(depth_levels=2)), until_s=0.01)
    second = next(f for f in trader.of(OrderFilled) if f.client_order_id == "b")
    assert (second.quantity, second.price) == (20, pytest.approx(3.155))


def _resting_bid_fills(queue_ahead_fraction, limit=3.10, bid_size=20, seconds=120, seed=3, rate_at_mid_per_s=2.0):
    """A 10-lot resting at `limit` while the same quotes (bid 3.10 x `bid_size`) refresh every second."""
    config = exchange_config(seed=seed, fills=fill_model(queue_ahead_fraction=queue_ahead_fraction,
                                                         rate_at_mid_per_s=rate_at_mid_per_s, mean_lot=2.0))
    script = [(1000, submit("a", [leg(450.0)], "BUY", 10, limit))]
    script += [(int(s * 1e9), quotes(int(s * 1e9), size=bid_size)) for s in range(1, seconds)]
    trader, exchange = run(script, config, until_s=seconds)
    return trader.of(OrderFilled), exchange


def test_an_order_joining_the_bid_waits_behind_the_size_displayed_there():
    """With the order last in line, its first fill comes only after the 20 contracts ahead have traded (about ten
    hazard lots of two); first in line (neutral), the first lot is its own."""
    def first_fill_s(fraction, seed):
        fills, _ = _resting_bid_fills(fraction, seed=seed)
        return fills[0].time_ns / 1e9 if fills else 120.0

    last = np.median([first_fill_s(1.0, seed) for seed in range(9)])
    first = np.median([first_fill_s(0.0, seed) for seed in range(9)])
    assert last > 4 * first


def test_the_queue_is_what_the_order_joined_then_shrinks_with_the_size_displayed():
    _, exchange = _resting_bid_fills(1.0, seconds=2, rate_at_mid_per_s=1e-9)
    singles = exchange.singles[("SPY", EXPIRY)]
    slot = singles.slot_of["a"]
    assert singles.ahead[slot] == 20                       # joined behind the 20 displayed at 3.10
    rt = InlineRuntime(RuntimeConfig())
    exchange = rt.add(SimulatedExchange(exchange_config(seed=1, fills=fill_model(queue_ahead_fraction=1.0,
                                                                                rate_at_mid_per_s=1e-9))))
    rt.add(Trader([(0, quotes()), (1000, submit("a", [leg(450.0)], "BUY", 10, 3.10)),
                   (1_000_000_000, quotes(1_000_000_000, size=5))]))
    rt.run(until_ns=2 * 10**9)
    singles = exchange.singles[("SPY", EXPIRY)]
    assert singles.ahead[singles.slot_of["a"]] == 5        # size cancelled ahead of it leaves the queue


def test_an_order_that_improves_the_bid_has_no_queue():
    _, exchange = _resting_bid_fills(1.0, limit=3.11, seconds=2, rate_at_mid_per_s=1e-9)
    singles = exchange.singles[("SPY", EXPIRY)]
    assert singles.ahead[singles.slot_of["a"]] == 0


def test_a_spread_joining_the_legs_combined_bid_waits_behind_its_size():
    vertical = [leg(450.0, 1), leg(455.0, -1)]
    own_bid = 3.10 - 1.24                                  # bought leg's bid less the sold leg's ask
    _, exchange = run([(1000, submit("v", vertical, "BUY", 5, round(own_bid, 2)))],
                      exchange_config(seed=1, fills=fill_model(queue_ahead_fraction=0.5, rate_at_mid_per_s=1e-9)),
                      until_s=0.01)
    assert exchange.resting["v"].ahead == pytest.approx(10)


def _fills_before_moves(adverse_selection, complex_order=False, seconds=400):
    """Quotes in one of three states, drawn each second, each a step apart that moves a contract by its delta times
    a size (the order's mid by a half-spread), the exchange told each next mid first; a large order rests at the
    middle state's mid. Returns the fills in middle-state seconds before a down move and before an up move."""
    rng = np.random.default_rng(7)
    states = rng.choice([-1.0, 0.0, 1.0], size=seconds + 2)
    steps = np.diff(states)
    move_per_state = np.round(np.array([0.9, 0.7, 0.5, 0.3, 0.1]) * (0.2 if complex_order else 0.04), 2)
    shifts = states[:, None] * move_per_state
    script = []
    for s in range(1, seconds):
        time_ns = int(s * 1e9)
        next_bids = BIDS + shifts[s + 1]
        script.append((time_ns, NextMids(time_ns + 10**9, {("SPY", EXPIRY): next_bids + 0.02})))
        script.append((time_ns, quotes(time_ns, bid=BIDS + shifts[s], ask=ASKS + shifts[s], size=1)))
    legs = [leg(450.0), leg(455.0, -1)] if complex_order else [leg(450.0)]
    limit = round(3.12 - 1.22, 2) if complex_order else 3.12
    script.insert(0, (1_000_500_000, submit("a", legs, "BUY", 10_000_000, limit)))
    config = exchange_config(seed=5, fills=fill_model(adverse_selection=adverse_selection, rate_at_mid_per_s=2.0,
                                                      mean_lot=1.0, displayed_refill_per_s=None))
    trader, _ = run(script, config, until_s=seconds)
    before_down = before_up = 0
    for fill in trader.of(OrderFilled):
        second = int(fill.time_ns // 10**9)
        if states[second] == 0 and fill.time_ns % 10**9 > 2_000_000:      # decided within that second
            if steps[second] < 0:
                before_down += fill.quantity
            elif steps[second] > 0:
                before_up += fill.quantity
    return before_down, before_up


@pytest.mark.parametrize("complex_order", [False, True], ids=["single", "spread"])
def test_resting_fills_come_before_the_mid_moves_against_them(complex_order):
    """Fully adverse (1.0), a resting buy fills only in seconds before the mid steps down; neutral (0), about as
    often before an up step as before a down step."""
    down, up = _fills_before_moves(1.0, complex_order)
    assert down > 20 and up == 0
    down, up = _fills_before_moves(0.0, complex_order)
    assert up > 0.5 * down > 5


def test_the_walk_changes_tick_where_the_product_does():
    """SPX-style ticks (0.05 below $3, 0.10 from $3): an ask of 2.95 walks to 3.00 then 3.10, never 3.05."""
    wide = quotes(bid=[10.0, 6.2, 2.90, 1.2, 0.4], ask=[10.1, 6.3, 2.95, 1.3, 0.5])._replace(tick_below_3=0.05,
                                                                                        tick_from_3=0.10)
    config = exchange_config(seed=1, fills=fill_model(depth_levels=2), complex_price_tick=0.05)
    trader, _ = run([(10, wide), (1000, submit("a", [leg(450.0)], "BUY", 60, 3.20))], config, until_s=0.01)
    fill = trader.of(OrderFilled)[0]
    assert (fill.quantity, fill.price) == (60, pytest.approx((2.95 + 3.00 + 3.10) / 3))
