"""Listed products: contract multiplier, strike spacing, tick table, settlement, premium currency and calendar;
and the one tick rounding.

Premiums are per unit of the underlying (a share; a coin); `ProductSpec.multiplier` (units per contract) turns
them into money in the product's `premium_currency`. A product's options quote in `ticks.below_per_share` under
`ticks.threshold_per_share` and in `ticks.from_per_share` at or above it (CBOE: SPX $0.05 / $0.10 around $3.00;
SPY, QQQ, IWM are penny classes; Deribit's coin options 0.0001 / 0.0005 coin around 0.005 coin); a multi-leg
order's net price moves in the below-threshold tick. Every price a component sends is put on this table by
`round_to_tick`.

US equity and index options (`PRODUCTS`) quote in USD and trade on the NYSE calendar. Crypto options
(`CRYPTO_PRODUCTS`, Deribit's conventions) trade around the clock (`ALWAYS_OPEN`), expire at 08:00 UTC and are
inverse: premium and settlement in the coin itself, so a premium is worth `premium_usd` at the index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, time
from enum import Enum

from core.errors import InvalidFieldError
from core.expirations import nominal_friday, third_friday

US_EQUITY_MULTIPLIER = 100
"""Shares per contract of US equity and index options."""

NYSE = "XNYS"
"""The calendar code of US equity and index options (exchange_calendars')."""
ALWAYS_OPEN = "24/7"
"""The calendar code of crypto options: every minute of every day, UTC."""


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
DERIBIT_COIN_TICKS = TickTable(0.0001, 0.0005, 0.005)
"""Deribit's BTC and ETH options, premium in the coin: 0.0001 under 0.005, 0.0005 from it."""


@dataclass(frozen=True)
class ProductSpec:
    """A listed underlying: strike spacing, spread class (its calibrated spread model), yield, quote sizes,
    contract multiplier, ticks and settlement."""

    symbol: str
    spread_class: str                 # 'penny' ($0.01), 'spx' ($0.05 / $0.10) or 'crypto': the spread model's class
    strike_step: float
    dividend_yield: float
    mean_quote_size: float            # contracts displayed at the touch at the money
    dailies: bool = True
    multiplier: float = US_EQUITY_MULTIPLIER
    """Units of the underlying per contract (100 shares; 0.1 BTC, Deribit's smallest BTC option amount)."""
    ticks: TickTable = field(default=PENNY)
    settlement: Settlement = Settlement.PHYSICAL
    am_settled_monthlies: bool = False    # the standard monthly (third Friday) settles at the opening print (SPX)
    premium_currency: str = "USD"
    """What a premium is paid and settled in: USD, or the coin itself for an inverse option (Deribit's)."""
    calendar_code: str = NYSE
    expiry_time_utc: time | None = None
    """When its options expire, UTC (Deribit: 08:00); None: at the NYSE close of the expiry day."""

    @property
    def inverse(self) -> bool:
        """Whether premiums are in the underlying coin (a long call's payoff in coin is (S - K)+ / S)."""
        return self.premium_currency != "USD"

    def premium_usd(self, premium, underlying_usd):
        """A premium per unit of the underlying in USD: itself, or the coin amount times the coin's price."""
        return premium * underlying_usd if self.inverse else premium


PRODUCTS = {
    "SPY": ProductSpec("SPY", "penny", 1.0, 0.013, 60.0),
    "QQQ": ProductSpec("QQQ", "penny", 1.0, 0.006, 45.0),
    "IWM": ProductSpec("IWM", "penny", 1.0, 0.012, 40.0),
    "SPX": ProductSpec("SPX", "spx", 5.0, 0.014, 20.0, ticks=SPX_TICKS, settlement=Settlement.CASH,
                       am_settled_monthlies=True),
}


CRYPTO_PRODUCTS = {
    "BTC": ProductSpec("BTC", "crypto", 1000.0, 0.0, 25.0, multiplier=0.1, ticks=DERIBIT_COIN_TICKS,
                       settlement=Settlement.CASH, premium_currency="BTC", calendar_code=ALWAYS_OPEN,
                       expiry_time_utc=time(8)),
    "ETH": ProductSpec("ETH", "crypto", 50.0, 0.0, 150.0, multiplier=1.0, ticks=DERIBIT_COIN_TICKS,
                       settlement=Settlement.CASH, premium_currency="ETH", calendar_code=ALWAYS_OPEN,
                       expiry_time_utc=time(8)),
}
"""Deribit's BTC and ETH options: cash-settled in the coin against the 30-minute average of the index before
08:00 UTC, premium in the coin, one contract here the smallest amount Deribit trades (0.1 BTC, 1 ETH)."""


DELTA_EXCHANGE_PRODUCTS = {
    "BTC": ProductSpec("BTC", "crypto", 500.0, 0.0, 2500.0, multiplier=0.001, ticks=TickTable(0.1, 0.1),
                       settlement=Settlement.CASH, premium_currency="USD", calendar_code=ALWAYS_OPEN,
                       expiry_time_utc=time(12)),
    "ETH": ProductSpec("ETH", "crypto", 20.0, 0.0, 2500.0, multiplier=0.01, ticks=TickTable(0.1, 0.1),
                       settlement=Settlement.CASH, premium_currency="USD", calendar_code=ALWAYS_OPEN,
                       expiry_time_utc=time(12)),
}
"""Delta Exchange's options: linear, premium in USD per coin, cash-settled at 12:00 UTC (17:30 IST); one contract
0.001 BTC or 0.01 ETH (its products' `contract_value`; ETH's is not confirmed by its documentation). Its adapter
reads the tick from the products (`tick_size`)."""

VENUE_PRODUCTS = {"paper": CRYPTO_PRODUCTS, "deribit": CRYPTO_PRODUCTS, "delta_exchange": DELTA_EXCHANGE_PRODUCTS}
"""Crypto products by venue: the paper exchange quotes Deribit's."""


def venue_product(venue: str, symbol: str) -> ProductSpec:
    """`symbol`'s options as `venue` lists them, or InvalidFieldError naming what is listed."""
    listed = VENUE_PRODUCTS.get(venue)
    if listed is None or symbol not in listed:
        known = {v: sorted(p) for v, p in VENUE_PRODUCTS.items()}
        raise InvalidFieldError("symbol", f"{venue} has no {symbol!r} options here (listed: {known})")
    return listed[symbol]


def product(symbol: str) -> ProductSpec:
    """The listed product `symbol` (US or crypto), or InvalidFieldError naming the symbol and what is listed."""
    spec = PRODUCTS.get(symbol) or CRYPTO_PRODUCTS.get(symbol)
    if spec is None:
        listed = sorted((*PRODUCTS, *CRYPTO_PRODUCTS))
        raise InvalidFieldError("symbol", f"{symbol!r} has no product spec (listed: {listed})")
    return spec


def multiplier_of(symbol: str) -> float:
    """Units of the underlying per contract of `symbol`'s options: its product's, or the US equity option's 100
    for a symbol without a product spec (a broker session may trade any listed US equity)."""
    spec = PRODUCTS.get(symbol) or CRYPTO_PRODUCTS.get(symbol)
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
