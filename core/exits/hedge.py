"""Delta hedging an exit's open vertical with the underlying (the router's HEDGE_DELTA fallback).

When a butterfly's second vertical cannot be closed within `max_partial_exposure_ms`, the router may
neutralise its delta with shares while it keeps working the vertical, and unwind the shares once the
vertical is closed. Deltas come from Black-Scholes at each leg's implied vol from its mid (an option
with no implied vol, at or below intrinsic, gets its intrinsic delta: 1 in the money, 0 out).
"""

from __future__ import annotations

from datetime import date, datetime, time

import numpy as np

from core.exits.butterfly import MarketData, VerticalExit, leg_quote
from core.instruments import US_EQUITY_MULTIPLIER, round_to_tick
from core.pricing.bsm import bsm_price_delta
from core.pricing.implied_vol import implied_vol
from core.units import SECONDS_PER_YEAR

_EXPIRY_CLOSE = time(16, 0)
_MIN_YEARS = 60.0 / SECONDS_PER_YEAR          # a minute: 0DTE near the close keeps a defined delta
_NO_VOL = 1e-4


def years_to_expiry(expiry: date, now_ns: int, zone) -> float:
    """Years from `now_ns` to 16:00 on `expiry` in `zone` (America/New_York for US options), at least a minute."""
    close = datetime.combine(expiry, _EXPIRY_CLOSE, tzinfo=zone)
    return max((close.timestamp() - now_ns / 1e9) / SECONDS_PER_YEAR, _MIN_YEARS)


def held_delta_shares(order: VerticalExit, units: int, market: MarketData, t_years: float, rate: float,
                      multiplier: int = US_EQUITY_MULTIPLIER) -> float:
    """The delta, in shares, of `units` of what `order` closes, as held (a closing order's legs reversed)."""
    held_sign = 1 if order.side == "SELL" else -1
    rights = [right for right, _, _ in order.legs]
    strikes = np.array([strike for _, strike, _ in order.legs], float)
    held_ratios = np.array([held_sign * ratio for _, _, ratio in order.legs], float)
    mids = np.array([leg_quote(market, right, strike).mid for right, strike, _ in order.legs])
    is_call = np.array([right == "C" for right in rights])
    vol = implied_vol(mids, is_call, market.underlying, strikes, t_years, rate, 0.0).vol
    vol = np.where(np.isfinite(vol) & (vol > 0), vol, _NO_VOL)
    _, delta = bsm_price_delta(is_call, market.underlying, strikes, t_years, rate, 0.0, vol)
    return float(np.sum(held_ratios * np.asarray(delta)) * units * multiplier)


def hedge_shares(delta_shares: float) -> int:
    """Shares to trade (signed: > 0 buy) that bring `delta_shares` nearest to zero."""
    return -int(round(delta_shares))


def hedge_limit_per_share(side: str, underlying: float, collar_fraction: float, tick: float = 0.01) -> float:
    """A marketable limit for a hedge: the underlying price moved `collar_fraction` against us, on the tick."""
    buying = side == "BUY"
    return round_to_tick(underlying * (1 + collar_fraction if buying else 1 - collar_fraction), tick, up=buying)
