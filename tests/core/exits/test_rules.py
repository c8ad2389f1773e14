"""Seed 003's exits, unit-consistent: targets and stops in USD, the ATR trail on the underlying's price, the BBW
lock on the P&L, time, expiry and event exits, each with its reason."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.exits.rules import SEED_003_RULES, Marks, TrailState, evaluate_exits, targets_usd

SHORT_VOL, DIRECTIONAL = SEED_003_RULES["SHORT_VOL"], SEED_003_RULES["DIRECTIONAL"]


def marks(pnl, target=500.0, stop=350.0, bullish=True, price=100.0, atr=2.0, bbw=1.0, dte=10.0, entry_dte=10.0,
          to_close_s=1e6, blackout=False):
    return Marks(*(np.atleast_1d(np.asarray(x)) for x in (pnl, target, stop, bullish, price, atr, bbw, dte, entry_dte,
                                                         to_close_s, blackout)))


def walk(rule, steps):
    """Feed one position the marks of `steps` in turn; the reasons, one a step."""
    state, reasons = TrailState.empty(1), []
    for step in steps:
        state, reason = evaluate_exits(state, marks(**step), rule)
        reasons.append(reason[0])
    return state, reasons


def test_bbw_trailing_follows_the_seeds_worked_example():
    # seed 003: target 500; +250 activates; +350 with BBW 1.9x locks 300; 320 holds; 280 exits
    state, reasons = walk(SHORT_VOL, [dict(pnl=250.0), dict(pnl=350.0, bbw=1.9), dict(pnl=320.0), dict(pnl=280.0)])
    assert reasons == ["", "", "", "trailing_bbw"]
    assert state.locked_usd[0] == pytest.approx(300.0)


def test_bbw_without_an_expansion_never_locks_and_a_lock_never_sits_above_the_pnl():
    _, reasons = walk(SHORT_VOL, [dict(pnl=250.0), dict(pnl=350.0, bbw=1.7), dict(pnl=100.0)])
    assert reasons == ["", "", ""]
    state, reasons = walk(SHORT_VOL, [dict(pnl=260.0, bbw=2.0)])          # 60% of the target (300) is above the P&L
    assert reasons == [""] and state.locked_usd[0] == pytest.approx(0.6 * 260.0)


def test_atr_trailing_exits_when_the_price_crosses_half_an_atr_behind_its_best_bullish_and_bearish():
    target = 600.0
    up = [dict(pnl=100.0, target=target, price=100.0),                 # not active: no stop
          dict(pnl=320.0, target=target, price=102.0),                 # active: stop 101.0
          dict(pnl=400.0, target=target, price=104.0),                 # ratchets to 103.0
          dict(pnl=380.0, target=target, price=103.5),                 # stays 103.0: hold
          dict(pnl=350.0, target=target, price=103.0)]                 # crosses: exit
    state, reasons = walk(DIRECTIONAL, up)
    assert reasons == ["", "", "", "", "trailing_atr"] and state.stop_price[0] == pytest.approx(103.0)
    down = [dict(step, bullish=False, price=200.0 - step["price"]) for step in up]
    state, reasons = walk(DIRECTIONAL, down)
    assert reasons == ["", "", "", "", "trailing_atr"] and state.stop_price[0] == pytest.approx(97.0)


def test_atr_trailing_compares_prices_not_pnl_with_a_price():
    # the seed's sketch (pnl <= price - 0.5 atr) would exit here at once: P&L 320 <= 100 - 1 is false, but a
    # P&L of 50 against a price of 100 would always "cross"; the price-based stop holds while the price rises
    _, reasons = walk(DIRECTIONAL, [dict(pnl=50.0, target=100.0, price=100.0 + i) for i in range(5)])
    assert reasons == [""] * 5


def test_targets_and_stops_by_style_in_usd():
    target, stop = targets_usd([50.0], [950.0], [950.0], [50.0], SHORT_VOL)      # a condor: credit 50, width 10
    assert target[0] == pytest.approx(25.0) and stop[0] == pytest.approx(0.35 * 950.0)
    target, stop = targets_usd([math.inf], [math.inf], [2_000.0], [0.0], DIRECTIONAL)   # unbounded both ways
    assert target[0] == pytest.approx(0.022 * 2_000.0) and stop[0] == pytest.approx(0.5 * 2_000.0)
    _, stop = targets_usd([math.inf], [290_000.0], [40_000.0], [50.0], DIRECTIONAL)   # a risk reversal: put at 2,900
    assert stop[0] == pytest.approx(0.5 * 40_000.0)                                    # from the margin, the lesser
    quiet, _ = targets_usd([1.0], [99.0], [10_000.0], [0.0], SHORT_VOL)       # the band's floor wins, quiet: high end
    busy, _ = targets_usd([1.0], [99.0], [10_000.0], [100.0], SHORT_VOL)
    assert quiet[0] == pytest.approx(180.0) and busy[0] == pytest.approx(140.0)


def test_stop_expiry_event_and_time_exits_in_priority_order():
    rule = SHORT_VOL
    cases = [(dict(pnl=-400.0), "stop"), (dict(pnl=600.0), "target"),
             (dict(pnl=10.0, to_close_s=600.0), "expiry"), (dict(pnl=10.0, blackout=True), "event"),
             (dict(pnl=10.0, dte=21.0, entry_dte=45.0), "time"), (dict(pnl=10.0, dte=21.0, entry_dte=7.0), ""),
             (dict(pnl=-400.0, blackout=True, to_close_s=0.0), "stop"), (dict(pnl=600.0, blackout=True), "event")]
    for step, expected in cases:
        _, reason = evaluate_exits(TrailState.empty(1), marks(**step), rule)
        assert reason[0] == expected, (step, reason[0])


def test_many_positions_in_one_call():
    n = 5
    state = TrailState.empty(n)
    m = marks(pnl=np.array([0.0, 300.0, 600.0, -400.0, 10.0]), blackout=np.array([False, False, False, False, True]))
    m = Marks(*(np.broadcast_to(x, (n,)) for x in m))
    state, reasons = evaluate_exits(state, m, SHORT_VOL)
    assert list(reasons) == ["", "", "target", "stop", "event"]
    assert list(state.active) == [False, True, True, False, False]
