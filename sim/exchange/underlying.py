"""The simulated exchange's underlying venue: shares of each symbol, for delta hedges.

The price is the underlying price the chain snapshots carry, quoted `underlying_half_spread_per_share`
either side. The share market is taken as deep: a marketable order fills whole at the touch; it is
immediate-or-cancel, so what does not fill on arrival (a limit through the touch) is cancelled at once.
"""

from __future__ import annotations

import math

from core.instruments import round_to_tick
from core.orders import UNDERLYING_RIGHT, Refusal, SubmitOrder
from core.quotes import ChainQuotes

SHARE_TICK = 0.01


class UnderlyingQuotes:
    """The latest underlying price and its time per symbol, from the chains the exchange is sent."""

    def __init__(self, half_spread_per_share: float, max_age_ns: int) -> None:
        self.half_spread_per_share, self.max_age_ns = half_spread_per_share, max_age_ns
        self.latest: dict[str, tuple[float, int]] = {}

    def update(self, quotes: ChainQuotes) -> None:
        price = float(quotes.underlying)
        if math.isfinite(price) and price > 0:
            known = self.latest.get(quotes.symbol)
            if known is None or quotes.time_ns >= known[1]:
                self.latest[quotes.symbol] = (price, quotes.time_ns)

    @staticmethod
    def leg_problem(request: SubmitOrder) -> Refusal | None:
        """Why an order's legs are not the underlying's shares as the venue takes them (the price is checked
        by the exchange, on SHARE_TICK)."""
        leg = request.legs[0]
        if len(request.legs) != 1 or leg.ratio != 1:
            return Refusal("bad_legs", "an order for the underlying has one leg of ratio 1")
        if leg.contract.expiry or leg.contract.strike:
            return Refusal("bad_legs", f"the underlying has no expiry or strike, got {leg.contract}")
        return None

    def touch(self, symbol: str, buying: bool, now_ns: int) -> float | Refusal:
        """The price a marketable order trades at now, or why none."""
        known = self.latest.get(symbol)
        if known is None:
            return Refusal("no_quote", f"unknown contract {symbol} shares (no underlying price yet)")
        price, time_ns = known
        if now_ns > time_ns + self.max_age_ns:
            return Refusal("bad_quote", "stale underlying price")
        half = self.half_spread_per_share if buying else -self.half_spread_per_share
        return round_to_tick(price + half, SHARE_TICK, up=buying)


def is_underlying(request: SubmitOrder) -> bool:
    return request.legs[0].contract.right == UNDERLYING_RIGHT
