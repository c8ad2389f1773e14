"""A live simulated market: underlyings stepped on the clock, chains published to the exchange.

Every `interval_ms` the feed advances each underlying by the time elapsed, regenerates the
chain of each listed expiry and sends `ChainQuotes` to the exchange and to the components routed to that chain
(no component gets chains it does not trade). US symbols: GBM over market minutes, fitted spreads, surface vols,
the NYSE calendar's expiries nearest `expiry_days`. Crypto symbols (BTC, ETH: `core.instruments.CRYPTO_PRODUCTS`):
the crypto market of `sim.market.crypto` (jumps and a DVOL-like index, every minute of the day), chains in the
coin for every Deribit-style expiry within `crypto_expiry_days`, listed and delisted as the clock moves.
Seeded: the same seed and the same tick times give the same quotes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Callable, Hashable

import numpy as np

from actors import names
from actors.runtime.component import Component
from core.calendar import MarketCalendar, expiry_close_ns, settlement_instant_ns
from core.expirations import crypto_expirations, expiry_instant_ns, nearest_listed
from core.instruments import CRYPTO_PRODUCTS
from core.quotes import ChainQuotes
from core.units import DAYS_PER_YEAR, NEW_YORK, NS_PER_DAY, NS_PER_YEAR, TRADING_DAYS_PER_YEAR
from sim.market.chain import PRODUCTS, generate_chains, strike_grid
from sim.market.crypto import MARKETS, crypto_chain, crypto_paths, crypto_strikes
from sim.market.spread_model import load_spread_models


@dataclass(frozen=True)
class MarketSpec:
    symbols: dict[str, float] = field(default_factory=lambda: {"SPY": 450.0, "QQQ": 380.0, "IWM": 190.0})
    expiry_days: tuple[int, ...] = (0, 7, 30)
    crypto_expiry_days: float = 3.0
    n_strikes: int = 80
    vol_level: float = 0.17
    rate: float = 0.04
    interval_ms: int = 1000
    seed: int = 0


def expiry_ns(day: date) -> int:
    """The expiry instant of options expiring on `day`: the official close (`core.calendar.expiry_close_ns`)."""
    return expiry_close_ns(day)


class MarketFeed(Component):
    def __init__(self, spec: MarketSpec = MarketSpec(), name: str = names.MARKET, exchange: str = names.EXCHANGE,
                 routes: dict[tuple[str, str], tuple[str, ...]] | None = None) -> None:
        super().__init__(name)
        self.spec = spec
        self.exchange = exchange
        self.routes = routes or {}          # (symbol, ISO expiry) -> components that get that chain
        self.rng = np.random.default_rng(spec.seed)
        self.models = load_spread_models()
        self.prices = dict(spec.symbols)
        self.strikes = {s: strike_grid(PRODUCTS[s], p, spec.n_strikes) for s, p in spec.symbols.items()
                        if s not in CRYPTO_PRODUCTS}
        self.crypto = CryptoListing({s: p for s, p in spec.symbols.items() if s in CRYPTO_PRODUCTS},
                                    spec.crypto_expiry_days)
        self.latest: dict[tuple[str, str], ChainQuotes] = {}
        self.expiries: list[date] = []
        self.last_ns = 0
        self.listeners: list[Callable[[ChainQuotes], None]] = []     # in-process observers (the paper server's stream)

    def on_start(self, now_ns: int) -> None:
        today = datetime.fromtimestamp(now_ns / 1e9, tz=NEW_YORK).date()
        sessions = MarketCalendar().sessions(today, today + timedelta(days=130))
        self.expiries = nearest_listed(today, self.spec.expiry_days, sessions)     # the calendar's, as simulated
        self.last_ns = now_ns
        self.publish(now_ns)
        self.port.schedule(self.spec.interval_ms * 1_000_000, "tick")

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        calendar_years = max(now_ns - self.last_ns, 0) / NS_PER_YEAR
        elapsed_years = calendar_years * (DAYS_PER_YEAR / TRADING_DAYS_PER_YEAR)
        self.last_ns = now_ns
        self.prices.update(self.crypto.step(calendar_years, self.rng))
        for symbol in self.strikes:
            shock = self.rng.standard_normal()
            sigma = self.spec.vol_level
            self.prices[symbol] *= float(
                np.exp(-0.5 * sigma * sigma * elapsed_years + sigma * np.sqrt(elapsed_years) * shock)
            )
        self.publish(now_ns)
        self.port.schedule(self.spec.interval_ms * 1_000_000, "tick")

    def publish(self, now_ns: int) -> None:
        for quotes in self.crypto.chains(now_ns, self.rng, self.latest):
            self._send(quotes)
        for symbol in self.strikes:
            price = self.prices[symbol]
            product = PRODUCTS[symbol]
            model = self.models[product.spread_class]
            for day in self.expiries:
                closes_ns = settlement_instant_ns(symbol, day)
                if closes_ns <= now_ns:
                    self.latest.pop((symbol, day.isoformat()), None)      # expired: no longer listed
                    continue
                batch = generate_chains(product, model, self.strikes[symbol], closes_ns, np.array([now_ns]),
                                        np.array([price]), np.array([self.spec.vol_level]), self.spec.rate, self.rng)
                quotes = ChainQuotes(symbol, day.isoformat(), closes_ns, now_ns, batch.strikes, batch.is_call,
                                     batch.bid[0], batch.ask[0], batch.bid_size[0], batch.ask_size[0],
                                     model.tick_below_3, model.tick_from_3, float(price))
                self._send(quotes)

    def _send(self, quotes: ChainQuotes) -> None:
        self.latest[(quotes.symbol, quotes.expiry)] = quotes
        for receiver in (self.exchange, *self.routes.get((quotes.symbol, quotes.expiry), ())):
            self.port.send(receiver, quotes)
        for listener in self.listeners:
            listener(quotes)

    def on_message(self, message: Any, now_ns: int) -> None:
        raise TypeError(f"{self.name} takes no messages")

    def snapshot(self) -> dict[str, Any]:
        return {"prices": dict(self.prices), "chains": len(self.latest)}


class CryptoListing:
    """The crypto symbols of a live market: each coin's price and volatility index stepped by `crypto_paths` over
    the calendar time elapsed, and its chains for the expiries listed within `max_days`."""

    def __init__(self, prices: dict[str, float], max_days: float) -> None:
        self.params = {s: replace(MARKETS[s], start_price_usd=p) for s, p in prices.items()}
        self.dvol = {s: p.dvol_start for s, p in self.params.items()}
        self.prices = dict(prices)
        self.max_ns = int(max_days * NS_PER_DAY) + NS_PER_DAY
        self.strikes: dict[tuple[str, str], np.ndarray] = {}

    def step(self, years: float, rng: np.random.Generator) -> dict[str, float]:
        for symbol, params in self.params.items():
            if years <= 0:
                break
            now = replace(params, start_price_usd=self.prices[symbol], dvol_start=self.dvol[symbol])
            paths = crypto_paths(now, 1, 1, rng, dt_years=years)
            self.prices[symbol], self.dvol[symbol] = float(paths.price_usd[0, -1]), float(paths.dvol[0, -1])
        return dict(self.prices)

    def chains(self, now_ns: int, rng: np.random.Generator, latest: dict) -> list[ChainQuotes]:
        """Every listed expiry's chain now; an expired one leaves `latest` (no longer listed)."""
        out = []
        for symbol, params in self.params.items():
            spec = CRYPTO_PRODUCTS[symbol]
            for key in [k for k in latest if k[0] == symbol and latest[k].expiry_ns <= now_ns]:
                del latest[key]
            for expiry, _ in crypto_expirations(now_ns, spec.expiry_time_utc):
                expiry_ns = expiry_instant_ns(expiry, spec.expiry_time_utc)
                if expiry_ns - now_ns > self.max_ns:
                    continue
                out.append(self._chain(symbol, params, expiry.isoformat(), expiry_ns, now_ns, rng))
        return out

    def _chain(self, symbol: str, params, expiry: str, expiry_ns: int, now_ns: int,
               rng: np.random.Generator) -> ChainQuotes:
        spec, price, dvol = CRYPTO_PRODUCTS[symbol], self.prices[symbol], self.dvol[symbol]
        strikes = self.strikes.get((symbol, expiry))
        if strikes is None or not strikes[0] < price < strikes[-1]:         # listed once, extended, never delisted
            listed = crypto_strikes(spec, price, (expiry_ns - now_ns) / NS_PER_YEAR, dvol / 100.0)
            strikes = self.strikes[(symbol, expiry)] = listed if strikes is None else np.union1d(strikes, listed)
        return crypto_chain(spec, params, expiry, expiry_ns, now_ns, price, dvol, strikes, rng)
