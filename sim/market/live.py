"""A live simulated market: underlyings stepped by GBM on the clock, chains published to the exchange.

Every `interval_ms` the feed advances each underlying by the time elapsed, regenerates the
chain of each listed expiry (fitted spreads, surface vols) and sends `ChainQuotes` to the
exchange and to the components routed to that chain (no component gets chains it does not trade).
Seeded: the same seed and the same tick times give the same quotes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable, Hashable

import numpy as np

from actors import names
from actors.runtime.component import Component
from core.calendar import MarketCalendar, expiry_close_ns, settlement_instant_ns
from core.expirations import nearest_listed
from core.quotes import ChainQuotes
from core.units import DAYS_PER_YEAR, NEW_YORK, NS_PER_YEAR, TRADING_DAYS_PER_YEAR
from sim.market.chain import PRODUCTS, generate_chains, strike_grid
from sim.market.spread_model import load_spread_models


@dataclass(frozen=True)
class MarketSpec:
    symbols: dict[str, float] = field(default_factory=lambda: {"SPY": 450.0, "QQQ": 380.0, "IWM": 190.0})
    expiry_days: tuple[int, ...] = (0, 7, 30)
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
        self.strikes = {s: strike_grid(PRODUCTS[s], p, spec.n_strikes) for s, p in spec.symbols.items()}
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
        elapsed_years = max(now_ns - self.last_ns, 0) / NS_PER_YEAR * (DAYS_PER_YEAR / TRADING_DAYS_PER_YEAR)
        self.last_ns = now_ns
        for symbol in self.prices:
            shock = self.rng.standard_normal()
            sigma = self.spec.vol_level
            self.prices[symbol] *= float(
                np.exp(-0.5 * sigma * sigma * elapsed_years + sigma * np.sqrt(elapsed_years) * shock)
            )
        self.publish(now_ns)
        self.port.schedule(self.spec.interval_ms * 1_000_000, "tick")

    def publish(self, now_ns: int) -> None:
        for symbol, price in self.prices.items():
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
                self.latest[(symbol, day.isoformat())] = quotes
                for receiver in (self.exchange, *self.routes.get((symbol, day.isoformat()), ())):
                    self.port.send(receiver, quotes)
                for listener in self.listeners:
                    listener(quotes)

    def on_message(self, message: Any, now_ns: int) -> None:
        raise TypeError(f"{self.name} takes no messages")

    def snapshot(self) -> dict[str, Any]:
        return {"prices": dict(self.prices), "chains": len(self.latest)}
