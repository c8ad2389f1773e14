"""The short strangle of seed 004, as pure rules: when it may open and must close (India Standard Time windows,
also across midnight, and an expiry buffer), which strikes it sells (delta in a band, from the venue's chain),
and when a held strangle exits (max loss, max profit, trailing stop-loss levels).

Deltas are the venue's (Black-Scholes, per unit of the underlying): a call's in [0, 1], a put's in [-1, 0]; the
band bounds their absolute values. Money is USD: an inverse (coin-premium) option's P&L is converted at the
index by the caller (`core.instruments.ProductSpec.premium_usd`).
"""

from __future__ import annotations

from datetime import datetime, time, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from core.units import NS_PER_SECOND

INDIA = ZoneInfo("Asia/Kolkata")
"""India Standard Time (UTC+05:30, no daylight saving): the seed's trade and exit times."""


def local_time(time_ns: int, zone: ZoneInfo = INDIA) -> time:
    """The wall-clock time in `zone` at `time_ns`."""
    return datetime.fromtimestamp(time_ns / NS_PER_SECOND, tz=timezone.utc).astimezone(zone).time()


def in_window(time_ns: int, start: time, end: time, zone: ZoneInfo = INDIA) -> bool:
    """Whether `time_ns` falls in [start, end) on `zone`'s clock; a window whose end is before its start runs
    across midnight (22:00-02:00 is open at 23:30 and at 01:00). Equal ends: never open."""
    now = local_time(time_ns, zone)
    if start <= end:
        return start <= now < end
    return now >= start or now < end


def choose_expiry(expiry_ns: np.ndarray, now_ns: int, buffer_s: float, max_days: float) -> int | None:
    """The index of the nearest expiry at least `buffer_s` and at most `max_days` away, or None."""
    left_s = (np.asarray(expiry_ns, dtype=np.int64) - now_ns) / NS_PER_SECOND
    allowed = (left_s >= buffer_s) & (left_s <= max_days * 86_400.0)
    if not allowed.any():
        return None
    return int(np.flatnonzero(allowed)[np.argmin(left_s[allowed])])


class StranglePick(NamedTuple):
    """The two contracts to sell: rows of the chain, their strikes, deltas and bids (per unit, premium currency)."""

    call_row: int
    put_row: int
    call_strike: float
    put_strike: float
    call_delta: float
    put_delta: float
    call_bid: float
    put_bid: float

    @property
    def credit(self) -> float:
        """Premium received per unit of the underlying, selling both at their bids."""
        return self.call_bid + self.put_bid


def pick_strikes(strikes: np.ndarray, is_call: np.ndarray, delta: np.ndarray, bid: np.ndarray,
                 band: tuple[float, float]) -> StranglePick | str:
    """The call and the put whose |delta| is in `band` (inclusive) and nearest its middle, each with a bid; ties
    go to the larger bid. A reason string when a side has none (the caller logs it and waits)."""
    low, high = band
    target = 0.5 * (low + high)
    size = np.abs(np.asarray(delta, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        eligible = np.isfinite(size) & (size >= low - 1e-12) & (size <= high + 1e-12) & (bid > 0)
    rows = {}
    for side, wanted in (("call", True), ("put", False)):
        candidates = np.flatnonzero(eligible & (is_call == wanted))
        if candidates.size == 0:
            return f"no {side} with |delta| in [{low:.2f}, {high:.2f}] and a bid"
        off_target = np.round(np.abs(size[candidates] - target), 9)          # float noise is not a tie-break
        order = np.lexsort((-bid[candidates], off_target))
        rows[side] = int(candidates[order[0]])
    call, put = rows["call"], rows["put"]
    if strikes[put] >= strikes[call]:
        return f"the put's strike {strikes[put]:g} is not below the call's {strikes[call]:g}"
    return StranglePick(call, put, float(strikes[call]), float(strikes[put]), float(delta[call]), float(delta[put]),
                        float(bid[call]), float(bid[put]))


class TrailingLevel(NamedTuple):
    """Once the strangle's P&L has reached `reach_usd`, it exits when it falls back to `lock_usd`."""

    reach_usd: float
    lock_usd: float


def trailing_floor_usd(peak_pnl_usd: float, levels: tuple[TrailingLevel, ...]) -> float | None:
    """The P&L the strangle must not fall back to: the lock of the highest level its peak has reached (None when it
    reached none)."""
    reached = [level.lock_usd for level in levels if peak_pnl_usd >= level.reach_usd]
    return max(reached) if reached else None


class ExitLimits(NamedTuple):
    """When a held strangle closes; thresholds in USD on the whole position (every contract, both legs)."""

    max_loss_usd: float
    max_profit_usd: float
    trailing: tuple[TrailingLevel, ...] = ()
    expiry_buffer_s: float = 0.0
    exit_start: time | None = None
    exit_end: time | None = None


def exit_reason(pnl_usd: float, peak_pnl_usd: float, now_ns: int, expiry_ns: int, limits: ExitLimits,
                zone: ZoneInfo = INDIA) -> str | None:
    """Why the strangle must close now, or None: max loss, max profit, trailing stop, the expiry buffer, the exit
    window (first that holds, in that order)."""
    if pnl_usd <= -limits.max_loss_usd:
        return "max_loss"
    if pnl_usd >= limits.max_profit_usd:
        return "max_profit"
    floor = trailing_floor_usd(peak_pnl_usd, limits.trailing)
    if floor is not None and pnl_usd <= floor:
        return "trailing_stop"
    if (expiry_ns - now_ns) / NS_PER_SECOND < limits.expiry_buffer_s:
        return "expiry_buffer"
    if limits.exit_start is not None and limits.exit_end is not None and in_window(
            now_ns, limits.exit_start, limits.exit_end, zone):
        return "exit_time"
    return None


def strangle_pnl_usd(credit_per_unit: float, close_cost_per_unit: float, units: float, to_usd: float = 1.0) -> float:
    """P&L of a short strangle sold for `credit_per_unit` and bought back (or marked) at `close_cost_per_unit`, on
    `units` of the underlying (contracts times the contract size), in USD at `to_usd` per premium unit (1 for a
    USD premium, the index for a coin premium)."""
    return (credit_per_unit - close_cost_per_unit) * units * to_usd
