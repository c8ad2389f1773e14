"""The market of one backtest day on the virtual clock: seeded paths, chains every `interval_s`.

Underlying paths are drawn for the whole session at start (regime volatility, seeded); chains
are generated lazily in vectorized blocks of `BLOCK` ticks (so memory stays small) and each
tick's `ChainQuotes` go to the exchange and to the components routed to that chain, a receiver's chains of one
tick in one delivery (`Port.send_all`: one delay, as one packet). At the official
close (16:00 New York, 13:00 on an early close; one step past the last tick, drawn from its own stream so
the day's ticks do not change) each underlying's closing price goes to the book: the settlement price of
the day's expiring options. The book gets the chains only every `book_every_s` (its mark interval) and
at the last tick: it values what it holds at those times, and a message per chain per tick would cost the
backtest more than the book's own work.

Two settings make the market less flattering (both neutral at 0 / False): `mid_noise_half_spreads` moves each
contract's mid off the model value by a seeded AR(1) in half-spreads (`sim.market.chain.mid_noise`, persistence
from `mid_noise_half_life_s`), and `lookahead` tells the exchange, before each tick's chains, every chain's
mids at the next tick (`NextMids`, never sent to a trader), so its resting fills can be adversely selected.

A labelled path (`sim.market.paths.LabelledPath`, the strategy Monte Carlo) sets the day instead of the regime:
`vol` (the path's vol), `implied_vol` (the chains'; `vol` by default) and `close_targets` (the day's closing price
per symbol: the intraday path is bridged onto it and the official close is exactly it).
"""

from __future__ import annotations

import zlib
from datetime import date
from typing import Any, Hashable

import numpy as np

from actors import names
from actors.messages import AddSymbol, NextMids, UnderlyingClose
from actors.runtime.component import Component
from core.calendar import MarketCalendar, settlement_instant_ns
from core.quotes import ChainQuotes
from core.units import TRADING_MINUTES_PER_DAY
from sim.market.chain import PRODUCTS, ChainBatch, generate_chains, mid_noise, strike_grid
from sim.market.paths import REGIMES, TRADING_DAYS_PER_YEAR, RegimeModel, bridge_to, gbm_paths
from sim.market.spread_model import load_spread_models

BLOCK = 60
_SESSION_SECONDS = TRADING_MINUTES_PER_DAY * 60.0


class DayFeed(Component):
    def __init__(self, day: date, start_prices: dict[str, float], expirations: dict[str, list[date]],
                 routes: dict[tuple[str, str], tuple[str, ...]], interval_s: float = 10.0, seed: int = 0,
                 regime: str = "normal", n_strikes: int = 60, rate: float = 0.04, exchange: str = names.EXCHANGE,
                 name: str = names.MARKET, book: str | None = None, book_every_s: float = 300.0,
                 mid_noise_half_spreads: float = 0.0, mid_noise_half_life_s: float = 10.0,
                 lookahead: bool = False, vol: float | None = None,
                 implied_vol: float | None = None, close_targets: dict[str, float] | None = None) -> None:
        super().__init__(name)
        self.mid_noise_half_spreads = mid_noise_half_spreads
        self.mid_noise_persistence = 0.5 ** (interval_s / mid_noise_half_life_s)
        self.lookahead = lookahead
        self.book = book
        self.book_every_ticks = max(1, int(round(book_every_s / interval_s)))
        self.close_ns = 0
        self.close_prices: dict[str, float] = {}
        self.day, self.start_prices, self.expirations, self.routes = day, start_prices, expirations, routes
        self.interval_s, self.seed, self.regime, self.n_strikes, self.rate = interval_s, seed, regime, n_strikes, rate
        self.exchange = exchange
        self.vol = RegimeModel().vols[REGIMES.index(regime)] if vol is None else vol
        self.implied_vol = self.vol if implied_vol is None else implied_vol
        self.close_targets = dict(close_targets or {})
        self.times_ns = np.zeros(0, np.int64)
        self.paths: dict[str, np.ndarray] = {}
        self.blocks: dict[tuple[str, str], dict[int, ChainBatch]] = {}     # chain -> block start -> its rows
        self.published = 0
        self.models = None
        self.index = 0
        self._chains: list[tuple] | None = None     # (symbol, ISO expiry, close ns, receivers) per chain, in order

    def on_start(self, now_ns: int) -> None:
        self.models = load_spread_models()
        open_ns, close_ns = MarketCalendar().open_close_ns(self.day)
        self.close_ns = close_ns
        self.times_ns = np.arange(open_ns, close_ns, int(self.interval_s * 1e9), dtype=np.int64)
        rng = np.random.default_rng(self.seed)
        dt_years = self.interval_s / (_SESSION_SECONDS * TRADING_DAYS_PER_YEAR)
        for symbol, price in sorted(self.start_prices.items()):
            path = gbm_paths(price, 0.0, self.vol, 1, len(self.times_ns) - 1, dt_years, rng)[0]
            target = self.close_targets.get(symbol)
            self.paths[symbol] = path if target is None else bridge_to(path, target)
        self.port.schedule(max(int(self.times_ns[0] - now_ns), 0), ("tick", 0))
        self.port.schedule(max(close_ns - now_ns, 0), ("close",))

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        if tag[0] == "close":
            self._close(now_ns)
            return
        index = self.index = tag[1]
        if self._chains is None:
            self._chains = [(symbol, expiry.isoformat(), settlement_instant_ns(symbol, expiry),
                             (self.exchange, *self.routes.get((symbol, expiry.isoformat()), ())))
                            for symbol in sorted(self.expirations) for expiry in self.expirations[symbol]]
        to_book = self.book is not None and (index % self.book_every_ticks == 0 or index + 1 == len(self.times_ns))
        if self.lookahead and index + 1 < len(self.times_ns):
            self._send_next_mids(index + 1)
        outbox: dict[str, list[ChainQuotes]] = {}
        for symbol, expiry, closes_ns, receivers in self._chains:
            quotes = self._quotes(symbol, expiry, closes_ns, index)
            if quotes is None:
                continue
            for receiver in receivers:
                outbox.setdefault(receiver, []).append(quotes)
            if to_book:
                outbox.setdefault(self.book, []).append(quotes)
            self.published += 1
        for receiver, chains in outbox.items():
            self.port.send_all(receiver, tuple(chains))
        if index + 1 < len(self.times_ns):
            self.port.schedule(int(self.times_ns[index + 1] - now_ns), ("tick", index + 1))

    def _close(self, now_ns: int) -> None:
        """Each underlying's official closing price: one step from the last tick to the close."""
        dt_years = (self.close_ns - int(self.times_ns[-1])) / 1e9 / (_SESSION_SECONDS * TRADING_DAYS_PER_YEAR)
        for symbol, path in sorted(self.paths.items()):
            rng = np.random.default_rng([self.seed, zlib.crc32(f"close:{symbol}".encode())])
            price = float(gbm_paths(float(path[-1]), 0.0, self.vol, 1, 1, dt_years, rng)[0, -1])
            price = self.close_targets.get(symbol, price)
            self.close_prices[symbol] = price
            if self.book is not None:
                self.port.send(self.book, UnderlyingClose(symbol, self.close_ns, price))

    def _send_next_mids(self, index: int) -> None:
        """Tell the exchange every chain's mids at tick `index` (the next one)."""
        mids = {}
        for symbol, expiry, closes_ns, _ in self._chains:
            if int(self.times_ns[index]) < closes_ns:
                batch, row = self._row(symbol, expiry, closes_ns, index)
                mids[(symbol, expiry)] = 0.5 * (batch.bid[row] + batch.ask[row])
        self.port.send(self.exchange, NextMids(int(self.times_ns[index]), mids))

    def _row(self, symbol: str, expiry: str, closes_ns: int, index: int) -> tuple[ChainBatch, int]:
        """The block holding tick `index` of a chain and the row in it; blocks start at multiples of BLOCK (the
        same draws whatever is asked first) and are dropped once the feed has moved past them."""
        blocks = self.blocks.setdefault((symbol, expiry), {})
        for start, batch in blocks.items():
            if start <= index < start + BLOCK:
                return batch, index - start
        start = index - index % BLOCK          # fixed boundaries: asking for a tick early never moves a block
        batch = blocks[start] = self._generate(symbol, closes_ns, start)
        for old in [s for s in blocks if s + BLOCK <= self.index]:
            del blocks[old]
        return batch, index - start

    def _quotes(self, symbol: str, expiry: str, closes_ns: int, index: int) -> ChainQuotes | None:
        time_ns = int(self.times_ns[index])
        if time_ns >= closes_ns:
            return None
        batch, row = self._row(symbol, expiry, closes_ns, index)
        model = self.models[PRODUCTS[symbol].spread_class]
        return ChainQuotes(symbol, expiry, closes_ns, time_ns, batch.strikes, batch.is_call, batch.bid[row],
                           batch.ask[row], batch.bid_size[row], batch.ask_size[row], model.tick_below_3,
                           model.tick_from_3, float(self.paths[symbol][index]))

    def _generate(self, symbol: str, closes_ns: int, index: int) -> ChainBatch:
        product = PRODUCTS[symbol]
        stop = min(index + BLOCK, len(self.times_ns))
        spots = self.paths[symbol][index:stop]
        strikes = strike_grid(product, float(self.paths[symbol][0]), self.n_strikes)
        stream = [self.seed, index, sum(map(ord, symbol)), closes_ns % 1_000_003]
        offsets = None
        if self.mid_noise_half_spreads > 0:
            offsets = mid_noise(np.random.default_rng([*stream, 1]), (spots.size, 2 * strikes.size),
                                self.mid_noise_half_spreads, self.mid_noise_persistence)
        return generate_chains(product, self.models[product.spread_class], strikes, closes_ns,
                               self.times_ns[index:stop], spots, np.full(spots.size, self.implied_vol), self.rate,
                               np.random.default_rng(stream), high_regime=self.regime == "high", greeks=False,
                               mid_offset_half_spreads=offsets)

    def on_message(self, message: Any, now_ns: int) -> None:
        if not isinstance(message, AddSymbol):
            raise TypeError(f"{self.name} takes AddSymbol messages only, got {type(message).__name__}")
        if message.symbol in self.paths:
            self.log.warning("symbol_already_quoted", symbol=message.symbol)
            return
        remaining = len(self.times_ns) - self.index
        dt_years = self.interval_s / (_SESSION_SECONDS * TRADING_DAYS_PER_YEAR)
        rng = np.random.default_rng([self.seed, sum(map(ord, message.symbol)), self.index])
        path = np.full(len(self.times_ns), message.start_price)
        path[self.index:] = gbm_paths(message.start_price, 0.0, self.vol, 1, remaining - 1, dt_years, rng)[0]
        self.paths[message.symbol] = path
        self.expirations[message.symbol] = [date.fromisoformat(e) for e in message.expirations]
        for expiry, receiver in message.routes:
            self.routes[(message.symbol, expiry)] = (*self.routes.get((message.symbol, expiry), ()), receiver)
        self._chains = None
        self.log.info("symbol_added", symbol=message.symbol, expirations=list(message.expirations))

    def snapshot(self) -> dict[str, Any]:
        return {"ticks": len(self.times_ns), "published": self.published,
                "last_prices": {s: round(float(p[-1]), 4) for s, p in self.paths.items()},
                "close_prices": {s: round(p, 4) for s, p in self.close_prices.items()}}
