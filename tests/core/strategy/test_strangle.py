"""The short strangle's rules: IST windows (across midnight too), expiry with a buffer, strikes by delta band,
exits by max loss, max profit, trailing levels, buffer and exit time."""

from __future__ import annotations

from datetime import datetime, time, timezone

import numpy as np
import pytest

from core.strategy.strangle import (
    ExitLimits,
    StranglePick,
    TrailingLevel,
    choose_expiry,
    exit_reason,
    in_window,
    pick_strikes,
    strangle_pnl_usd,
    trailing_floor_usd,
)

HOUR_NS = 3600 * 10**9


def utc_ns(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()) * 10**9


@pytest.mark.parametrize(("utc", "start", "end", "inside"), [
    ("2026-12-07T04:00", time(9, 30), time(15, 0), True),      # 09:30 IST
    ("2026-12-07T03:59", time(9, 30), time(15, 0), False),     # 09:29 IST
    ("2026-12-07T09:30", time(9, 30), time(15, 0), False),     # 15:00 IST: the end is out
    ("2026-12-07T18:00", time(22, 0), time(2, 0), True),       # 23:30 IST, a window across midnight
    ("2026-12-07T19:30", time(22, 0), time(2, 0), True),       # 01:00 IST the next day
    ("2026-12-07T20:30", time(22, 0), time(2, 0), False),      # 02:00 IST
    ("2026-12-07T12:00", time(22, 0), time(2, 0), False),      # 17:30 IST
    ("2026-12-07T12:00", time(17, 30), time(17, 30), False),   # an empty window
])
def test_ist_windows(utc, start, end, inside):
    assert in_window(utc_ns(utc), start, end) is inside


def test_the_nearest_expiry_past_the_buffer_is_chosen():
    now = utc_ns("2026-12-07T09:00")
    expiries = np.array([utc_ns("2026-12-08T08:00"), utc_ns("2026-12-07T12:00"), utc_ns("2026-12-11T08:00")])
    assert choose_expiry(expiries, now, buffer_s=2 * 3600, max_days=7) == 1          # 3 h away
    assert choose_expiry(expiries, now, buffer_s=4 * 3600, max_days=7) == 0          # 23 h away
    assert choose_expiry(expiries, now, buffer_s=30 * 3600, max_days=7) == 2
    assert choose_expiry(expiries, now, buffer_s=30 * 3600, max_days=2) is None


def chain():
    strikes = np.array([80_000, 85_000, 90_000, 95_000, 100_000, 105_000, 110_000] * 2, dtype=float)
    is_call = np.array([True] * 7 + [False] * 7)
    delta = np.array([0.95, 0.8, 0.5, 0.2, 0.13, 0.12, 0.05, -0.03, -0.11, -0.14, -0.3, -0.6, -0.8, -0.95])
    bid = np.array([0.1, 0.08, 0.04, 0.01, 0.006, 0.0055, 0.001, 0.0004, 0.002, 0.003, 0.02, 0.06, 0.1, 0.2])
    return strikes, is_call, delta, bid


def test_strikes_nearest_the_band_middle_are_picked():
    strikes, is_call, delta, bid = chain()
    pick = pick_strikes(strikes, is_call, delta, bid, (0.10, 0.15))
    assert isinstance(pick, StranglePick)
    assert (pick.call_strike, pick.call_delta) == (100_000.0, 0.13)        # 0.13 and 0.12 both 0.005 off: larger bid
    assert (pick.put_strike, pick.put_delta) == (90_000.0, -0.14)          # |-0.11| and |-0.14| are equally off: bid
    assert pick.credit == pytest.approx(0.006 + 0.003)


def test_a_side_with_nothing_in_the_band_or_no_bid_is_a_reason():
    strikes, is_call, delta, bid = chain()
    bid[8:10] = 0.0
    assert pick_strikes(strikes, is_call, delta, bid, (0.10, 0.15)) == "no put with |delta| in [0.10, 0.15] and a bid"
    delta[3:6] = np.nan
    assert pick_strikes(strikes, is_call, delta, chain()[3], (0.10, 0.15)).startswith("no call")


def test_trailing_levels_lock_the_highest_level_reached():
    levels = (TrailingLevel(100.0, 20.0), TrailingLevel(200.0, 120.0))
    assert trailing_floor_usd(90.0, levels) is None
    assert trailing_floor_usd(150.0, levels) == 20.0
    assert trailing_floor_usd(250.0, levels) == 120.0


LIMITS = ExitLimits(max_loss_usd=500.0, max_profit_usd=400.0, trailing=(TrailingLevel(100.0, 20.0),),
                    expiry_buffer_s=3600.0, exit_start=time(17, 0), exit_end=time(17, 30))


@pytest.mark.parametrize(("pnl", "peak", "now", "reason"), [
    (-500.0, 0.0, "2026-12-07T05:00", "max_loss"),
    (400.0, 400.0, "2026-12-07T05:00", "max_profit"),
    (20.0, 150.0, "2026-12-07T05:00", "trailing_stop"),
    (21.0, 150.0, "2026-12-07T05:00", None),
    (50.0, 50.0, "2026-12-08T07:30", "expiry_buffer"),
    (50.0, 50.0, "2026-12-07T11:45", "exit_time"),                # 17:15 IST
    (50.0, 50.0, "2026-12-07T12:00", None),                       # 17:30 IST: the window's end is out
])
def test_exit_reasons(pnl, peak, now, reason):
    assert exit_reason(pnl, peak, utc_ns(now), utc_ns("2026-12-08T08:00"), LIMITS) == reason


def test_pnl_of_an_inverse_strangle_is_converted_at_the_index():
    assert strangle_pnl_usd(0.008, 0.005, units=0.5, to_usd=90_000.0) == pytest.approx(135.0)
    assert strangle_pnl_usd(12.0, 15.0, units=0.01) == pytest.approx(-0.03)
