"""Listed products: contract multiplier, strike spacing, tick table and settlement; and the one tick rounding.

Premiums are per share; `ProductSpec.multiplier` turns them into money. A product's options quote in
`ticks.below_per_share` under `ticks.threshold_per_share` and in `ticks.from_per_share` at or above it
(CBOE: SPX $0.05 / $0.10 around $3.00; SPY, QQQ, IWM are penny classes); a multi-leg order's net price moves
in the below-threshold tick. Every price a component sends is put on this table by `round_to_tick`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from core.errors import InvalidFieldError
from core.expirations import nominal_friday, third_friday

US_EQUITY_MULTIPLIER = 100
"""Shares per contract of US equity and index options."""


class Settlement(str, Enum):
    """How an expiring contract settles."""

    PHYSICAL = "physical"        # shares change hands (SPY, QQQ, IWM: exercised when in the money by $0.01)
    CASH = "cash"                # intrinsic value in cash (SPX)


@dataclass(frozen=True)
class TickTable:
    """Minimum price increments of a product's options, per share."""

    below_per_share: float = 0.01
    from_per_share: float = 0.01
    threshold_per_share: float = 3.0

    def tick(self, price_per_share: float) -> float:
        """The increment a single-leg premium of this size moves in."""
        return self.below_per_share if price_per_share < self.threshold_per_share else self.from_per_share

    @property
    def complex_per_share(self) -> float:
        """The increment of a multi-leg order's net price."""
        return self.below_per_share


PENNY = TickTable(0.01, 0.01)
SPX_TICKS = TickTable(0.05, 0.10)


@dataclass(frozen=True)
class ProductSpec:
    """A listed underlying: strike spacing, spread class (its calibrated spread model), yield, quote sizes,
    contract multiplier, ticks and settlement."""

    symbol: str
    spread_class: str                 # 'penny' ($0.01) or 'spx' ($0.05 / $0.10): the spread model's class
    strike_step: float
    dividend_yield: float
    mean_quote_size: float            # contracts displayed at the touch at the money
    dailies: bool = True
    multiplier: int = US_EQUITY_MULTIPLIER
    ticks: TickTable = field(default=PENNY)
    settlement: Settlement = Settlement.PHYSICAL
    am_settled_monthlies: bool = False    # the standard monthly (third Friday) settles at the opening print (SPX)


PRODUCTS = {
    "SPY": ProductSpec("SPY", "penny", 1.0, 0.013, 60.0),
    "QQQ": ProductSpec("QQQ", "penny", 1.0, 0.006, 45.0),
    "IWM": ProductSpec("IWM", "penny", 1.0, 0.012, 40.0),
    "SPX": ProductSpec("SPX", "spx", 5.0, 0.014, 20.0, ticks=SPX_TICKS, settlement=Settlement.CASH,
                       am_settled_monthlies=True),
}


def product(symbol: str) -> ProductSpec:
    """The listed product `symbol`, or InvalidFieldError naming the symbol and what is listed."""
    spec = PRODUCTS.get(symbol)
    if spec is None:
        raise InvalidFieldError("symbol", f"{symbol!r} has no product spec (listed: {sorted(PRODUCTS)})")
    return spec


def multiplier_of(symbol: str) -> int:
    """Shares per contract of `symbol`'s options: its product's, or the US equity option's 100 for a symbol
    without a product spec (a broker session may trade any listed US equity)."""
    spec = PRODUCTS.get(symbol)
    return US_EQUITY_MULTIPLIER if spec is None else spec.multiplier


def round_to_tick(price: float, tick: float, up: bool) -> float:
    """`price` on a `tick` grid, rounded up or down (a hair of float error never moves it a whole tick)."""
    steps = price / tick
    return round((math.ceil(steps - 1e-9) if up else math.floor(steps + 1e-9)) * tick, 6)


def is_am_settled(symbol: str, expiry: date) -> bool:
    """Whether `symbol`'s options expiring on `expiry` settle at the opening print of that day (SPX's standard
    monthly: the third Friday, or the Thursday before when that Friday is a holiday); the rest settle at the
    close."""
    spec = PRODUCTS.get(symbol)
    return (spec is not None and spec.am_settled_monthlies
            and nominal_friday(expiry) == third_friday(expiry.year, expiry.month) and expiry.weekday() in (3, 4))
