"""The simulated crypto market on the virtual clock: one coin's path for the whole run (drawn at start, seeded),
the chains of every expiry the venue lists within `max_expiry_days` every `interval_s`, and each expiry's
settlement price when it expires.

Chains go to the exchange and to the receivers (the strategy) in one delivery per receiver. Deribit settles an
expiry at the average of its index over the 30 minutes before 08:00 UTC; the settlement price sent here
(`UnderlyingClose`, time = the expiry's instant) is the average of the path's points in that half hour.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Hashable

import numpy as np

from actors import names
from actors.messages import UnderlyingClose
from actors.runtime.component import Component
from core.expirations import crypto_expirations, expiry_instant_ns
from core.instruments import ProductSpec
from core.quotes import ChainQuotes
from core.units import NS_PER_DAY, NS_PER_MINUTE, NS_PER_YEAR
from sim.market.crypto import CryptoMarketParams, crypto_chain, crypto_paths, crypto_strikes

SETTLEMENT_WINDOW_NS = 30 * NS_PER_MINUTE


class CryptoFeed(Component):
    def __init__(self, spec: ProductSpec, params: CryptoMarketParams, start_ns: int, end_ns: int, interval_s: float,
                 seed: int, receivers: tuple[str, ...], max_expiry_days: float = 3.0, exchange: str = names.EXCHANGE,
                 name: str = names.MARKET, settles: tuple[str, ...] | None = None) -> None:
        """`receivers` get every chain; `settles` (default: the receivers) each expiry's settlement price."""
        super().__init__(name)
        self.settles = receivers if settles is None else settles
        self.spec, self.params = spec, params
        self.start_ns, self.end_ns, self.interval_ns = start_ns, end_ns, int(interval_s * 1e9)
        self.seed, self.receivers, self.exchange = seed, receivers, exchange
        self.max_expiry_ns = int(max_expiry_days * NS_PER_DAY) + NS_PER_DAY
        self.times_ns = np.empty(0, dtype=np.int64)
        self.price_usd = np.empty(0)
        self.dvol = np.empty(0)
        self.strikes: dict[str, np.ndarray] = {}
        self.settled: dict[str, float] = {}
        self.published = 0
        self.rng = np.random.default_rng(seed)

    def on_start(self, now_ns: int) -> None:
        self.times_ns = np.arange(self.start_ns, self.end_ns + 1, self.interval_ns, dtype=np.int64)
        paths = crypto_paths(self.params, 1, len(self.times_ns) - 1, np.random.default_rng(self.seed),
                             dt_years=self.interval_ns / NS_PER_YEAR)
        self.price_usd, self.dvol = paths.price_usd[0], paths.dvol[0]
        self.port.schedule(max(int(self.times_ns[0]) - now_ns, 0), ("tick", 0))

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        index = tag[1]
        time_ns = int(self.times_ns[index])
        self._settle_due(index, time_ns)
        chains = self._chains(index, time_ns)
        if chains:
            for receiver in (self.exchange, *self.receivers):
                self.port.send_all(receiver, tuple(chains))
            self.published += len(chains)
        if index + 1 < len(self.times_ns):
            self.port.schedule(int(self.times_ns[index + 1]) - now_ns, ("tick", index + 1))

    def _chains(self, index: int, time_ns: int) -> list[ChainQuotes]:
        price, dvol = float(self.price_usd[index]), float(self.dvol[index])
        out = []
        for expiry, _ in crypto_expirations(time_ns, self.spec.expiry_time_utc):
            expiry_ns = expiry_instant_ns(expiry, self.spec.expiry_time_utc)
            if expiry_ns - time_ns > self.max_expiry_ns:
                continue
            key = expiry.isoformat()
            strikes = self.strikes.get(key)
            if strikes is None or not strikes[0] < price < strikes[-1]:      # listed once, extended, never delisted
                listed = crypto_strikes(self.spec, price, (expiry_ns - time_ns) / NS_PER_YEAR, dvol / 100.0)
                strikes = self.strikes[key] = listed if strikes is None else np.union1d(strikes, listed)
            out.append(crypto_chain(self.spec, self.params, key, expiry_ns, time_ns, price, dvol, strikes, self.rng))
        return out

    def _settle_due(self, index: int, time_ns: int) -> None:
        """Settle every quoted expiry whose instant has come: the average of the path over its last half hour."""
        for key in sorted(self.strikes):
            if key in self.settled:
                continue
            expiry_ns = expiry_instant_ns(date.fromisoformat(key), self.spec.expiry_time_utc)
            if expiry_ns > time_ns:
                continue
            window = (self.times_ns > expiry_ns - SETTLEMENT_WINDOW_NS) & (self.times_ns <= expiry_ns)
            price = float(np.mean(self.price_usd[window])) if window.any() else float(self.price_usd[index])
            self.settled[key] = price
            for receiver in self.settles:
                self.port.send(receiver, UnderlyingClose(self.spec.symbol, expiry_ns, price))

    def price_at(self, time_ns) -> np.ndarray:
        """The coin's price at each time (the last path point at or before it): a test's independent marks."""
        rows = np.searchsorted(self.times_ns, np.asarray(time_ns, dtype=np.int64), side="right") - 1
        return self.price_usd[np.clip(rows, 0, len(self.price_usd) - 1)]

    def snapshot(self) -> dict[str, Any]:
        last = float(self.price_usd[-1]) if len(self.price_usd) else float("nan")
        return {"published": self.published, "settled": dict(self.settled), "last_price_usd": last}
