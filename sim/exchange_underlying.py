"""The simulated exchange's underlying venue: shares of each symbol, for delta hedges.

The price is the underlying price the chain snapshots carry, quoted `underlying_half_spread_per_share`
either side. The share market is taken as deep: a marketable order fills whole at the touch; it is
immediate-or-cancel, so what does not fill on arrival (a limit through the touch) is cancelled at once.
"""

from __future__ import annotations

import math

from core.orders import UNDERLYING_RIGHT, SubmitOrder
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

    def order_problem(self, request: SubmitOrder) -> str | None:
        """Why an order for shares is malformed (None when it is well formed)."""
        leg = request.legs[0]
        if len(request.legs) != 1 or leg.ratio != 1:
            return "an order for the underlying has one leg of ratio 1"
        if leg.contract.expiry or leg.contract.strike:
            return f"the underlying has no expiry or strike, got {leg.contract}"
        price = request.limit_price
        if not isinstance(price, (int, float)) or not math.isfinite(price) or price <= 0:
            return f"limit price must be a finite number > 0, got {price!r}"
        if abs(price / SHARE_TICK - round(price / SHARE_TICK)) > 1e-6:
            return f"price {price} is off the {SHARE_TICK} tick"
        return None

    def touch(self, symbol: str, buying: bool, now_ns: int) -> float | str:
        """The price a marketable order trades at now, or why none."""
        known = self.latest.get(symbol)
        if known is None:
            return f"unknown contract {symbol} shares (no underlying price yet)"
        price, time_ns = known
        if now_ns > time_ns + self.max_age_ns:
            return "stale underlying price"
        if buying:
            return round(math.ceil((price + self.half_spread_per_share) / SHARE_TICK - 1e-9) * SHARE_TICK, 6)
        return round(math.floor((price - self.half_spread_per_share) / SHARE_TICK + 1e-9) * SHARE_TICK, 6)


def is_underlying(request: SubmitOrder) -> bool:
    return request.legs[0].contract.right == UNDERLYING_RIGHT
