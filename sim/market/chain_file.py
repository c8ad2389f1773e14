"""Replay of a real option chain file in data/, one snapshot a trading day: the market of a backtest whose
`backtest.market` is one of `REPLAY_MARKETS`:

- `cboe_spx_2019`: the CBOE SPX chain (2019-04-25 to 2019-07-22, DTE 0-120, strikes within 80-120% of the index);
- `spy_2021`: the SPY end-of-day file of 2021, which holds only 20 contracts a day, chosen afresh each day: a
  structure needs its strikes among the day's contracts, and a position whose contracts the next days do not
  list cannot be marked or closed there (it is held, and settles at expiry).

`ChainFile` loads the file once per process and answers, per day: which expirations are listed, each
expiration's chain (strikes, calls and puts, bid and ask) and the index level (`underlying_last`; the file
does not record the snapshot's time). PM-settled SPXW rows are kept; the AM-settled SPX monthlies are used only
for an expiration without SPXW rows, and never on their own expiry day, when they no longer trade and the
file shows them stale. Quotes without a bid/ask pair in order are dropped.

`ChainReplayFeed` is the day's market component: it publishes the day's snapshot at every tick of the
session (the quotes do not move within the day: a daily snapshot cannot show an intraday path), sends the
book its chains at its mark interval, and the index level as the official close.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Hashable, NamedTuple

import numpy as np
import pandas as pd

from actors import names
from actors.messages import UnderlyingClose
from actors.runtime.component import Component
from core.calendar import MarketCalendar, settlement_instant_ns
from core.instruments import product
from core.quotes import ChainQuotes

SPX_CHAIN_FILE = "spx_chain_cboe_delayed_2019-04-25_2019-07-22_dte0-120_m80-120.csv.gz"
SPY_2021_FILE = "spy_options_eod_2021_selected20perday_lambdaclass.csv"
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "data"
REPLAY_SYMBOL = "SPX"
REPLAY_LIMITS = ("a daily snapshot shows no intraday path: quotes stand still from the open to the close, so "
                 "fills, marks and the curve within a day come from one set of quotes; the closing index level is "
                 "the snapshot's, whose time the file does not record (an expiring position settles at it); and no "
                 "expiration is traded on its expiry day, which would settle at the level it was priced against")


class ReplayMarket(NamedTuple):
    symbol: str
    file: str
    limits: str


REPLAY_MARKETS = {
    "cboe_spx_2019": ReplayMarket(REPLAY_SYMBOL, SPX_CHAIN_FILE, REPLAY_LIMITS),
    "spy_2021": ReplayMarket("SPY", SPY_2021_FILE, REPLAY_LIMITS + "; the file lists 20 contracts a day, chosen "
                             "afresh each day, so a structure needs its strikes among them and a held contract the "
                             "file stops listing cannot be marked or closed (it is held to expiry and settled)"),
}
"""`backtest.market` -> the symbol it quotes, its file in data/, and what a replay of it cannot show."""


class ChainFile:
    """The real chain, by day and expiration, of `symbol` (from `source`, a file in data/)."""

    def __init__(self, frame: pd.DataFrame, symbol: str = REPLAY_SYMBOL, source: str = SPX_CHAIN_FILE) -> None:
        self.frame, self.symbol, self.source = frame, symbol, source
        self._days = sorted(frame.quotedate.unique())
        self._by_day = {day: part for day, part in frame.groupby("quotedate")}

    @property
    def days(self) -> list[date]:
        return list(self._days)

    def expirations(self, day: date) -> list[date]:
        part = self._by_day.get(day)
        return [] if part is None else sorted(part.expiration.unique())

    def underlying(self, day: date) -> float:
        return float(self._by_day[day].underlying_last.iloc[0])

    def chain(self, day: date, expiration: date) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(strikes, is_call, bid, ask) of one expiration's chain on `day`."""
        part = self._by_day[day]
        rows = part[part.expiration == expiration]
        return (rows.strike.to_numpy(np.float64), rows.is_call.to_numpy(bool), rows.bid.to_numpy(np.float64),
                rows.ask.to_numpy(np.float64))


@lru_cache(maxsize=4)
def load_chain_file(data_dir: Path = DEFAULT_DATA, market: str = "cboe_spx_2019") -> ChainFile:
    """The chain file of `market` (a key of REPLAY_MARKETS), loaded once per process."""
    if market == "spy_2021":
        return _load_spy_2021(data_dir)
    if market != "cboe_spx_2019":
        raise ValueError(f"market: no replayed chain {market!r}; have {sorted(REPLAY_MARKETS)}")
    frame = pd.read_csv(data_dir / SPX_CHAIN_FILE, usecols=["quotedate", "underlying_last", "root", "type",
                                                            "expiration", "strike", "bid", "ask"])
    frame["quotedate"] = pd.to_datetime(frame.quotedate).dt.date
    frame["expiration"] = pd.to_datetime(frame.expiration).dt.date
    frame = frame[(frame.bid >= 0) & (frame.ask > 0) & (frame.ask >= frame.bid)]
    weekly = frame[frame.root == "SPXW"]
    has_weekly = set(zip(weekly.quotedate, weekly.expiration))
    monthly = frame[(frame.root == "SPX") & (frame.expiration > frame.quotedate)]
    monthly = monthly[[key not in has_weekly for key in zip(monthly.quotedate, monthly.expiration)]]
    frame = pd.concat([weekly, monthly]).assign(is_call=lambda f: f["type"] == "call")
    frame = frame.drop_duplicates(["quotedate", "expiration", "is_call", "strike"])
    return ChainFile(frame.sort_values(["quotedate", "expiration", "is_call", "strike"]).reset_index(drop=True))


def _load_spy_2021(data_dir: Path) -> ChainFile:
    frame = pd.read_csv(data_dir / SPY_2021_FILE, usecols=["quotedate", "underlying_last", "type", "expiration",
                                                           "strike", "bid", "ask"])
    frame["quotedate"] = pd.to_datetime(frame.quotedate).dt.date
    frame["expiration"] = pd.to_datetime(frame.expiration).dt.date
    frame = frame[(frame.bid >= 0) & (frame.ask > 0) & (frame.ask >= frame.bid) & (frame.expiration > frame.quotedate)]
    frame = frame.assign(is_call=lambda f: f["type"] == "call")
    frame = frame.drop_duplicates(["quotedate", "expiration", "is_call", "strike"])
    market = REPLAY_MARKETS["spy_2021"]
    return ChainFile(frame.sort_values(["quotedate", "expiration", "is_call", "strike"]).reset_index(drop=True),
                     market.symbol, market.file)


def pick_replay_expirations(chain_file: ChainFile, day: date, wanted_dte: tuple[int, ...]) -> list[date]:
    """The file's expirations after `day` nearest each wanted DTE (distinct). Never `day` itself: with one
    snapshot a day an option bought on its expiry day would settle at the same index level it was priced
    against, a sure thing no market offers (a wanted 0 DTE takes the nearest later expiry)."""
    listed, chosen = [d for d in chain_file.expirations(day) if d > day], []
    for dte in wanted_dte:
        best = min((d for d in listed if d not in chosen), key=lambda d: abs((d - day).days - dte), default=None)
        if best is not None:
            chosen.append(best)
    return sorted(chosen)


class ChainReplayFeed(Component):
    """The day's market from the real chain file (see the module's docstring)."""

    def __init__(self, chain_file: ChainFile, day: date, expirations: dict[str, list[date]],
                 routes: dict[tuple[str, str], tuple[str, ...]], interval_s: float = 10.0,
                 exchange: str = names.EXCHANGE, name: str = names.MARKET, book: str | None = None,
                 book_every_s: float = 300.0) -> None:
        super().__init__(name)
        self.chain_file, self.day, self.expirations, self.routes = chain_file, day, expirations, routes
        self.interval_s, self.exchange, self.book = interval_s, exchange, book
        self.book_every_ticks = max(1, int(round(book_every_s / interval_s)))
        self.vol = 0.0                      # the next day's index comes from the file, not from a model
        self.times_ns = np.zeros(0, np.int64)
        self.close_ns = 0
        self.close_prices: dict[str, float] = {}
        self.published = 0
        self._chains: list[tuple] = []

    def on_start(self, now_ns: int) -> None:
        open_ns, self.close_ns = MarketCalendar().open_close_ns(self.day)
        self.times_ns = np.arange(open_ns, self.close_ns, int(self.interval_s * 1e9), dtype=np.int64)
        spec = product(self.chain_file.symbol)
        spot = self.chain_file.underlying(self.day)
        for symbol, days in sorted(self.expirations.items()):
            for expiry in days:
                strikes, is_call, bid, ask = self.chain_file.chain(self.day, expiry)
                size = np.full(strikes.size, int(spec.mean_quote_size))
                self._chains.append((ChainQuotes(symbol, expiry.isoformat(), settlement_instant_ns(symbol, expiry), 0,
                                                 strikes,
                                                 is_call, bid, ask, size, size, spec.ticks.below_per_share,
                                                 spec.ticks.from_per_share, spot),
                                     (self.exchange, *self.routes.get((symbol, expiry.isoformat()), ()))))
        self.port.schedule(max(int(self.times_ns[0] - now_ns), 0), ("tick", 0))
        self.port.schedule(max(self.close_ns - now_ns, 0), ("close",))

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        if tag[0] == "close":
            symbol = self.chain_file.symbol
            self.close_prices[symbol] = price = self.chain_file.underlying(self.day)
            if self.book is not None:
                self.port.send(self.book, UnderlyingClose(symbol, self.close_ns, price))
            return
        index = tag[1]
        time_ns = int(self.times_ns[index])
        to_book = self.book is not None and (index % self.book_every_ticks == 0 or index + 1 == len(self.times_ns))
        for quotes, receivers in self._chains:
            if time_ns >= quotes.expiry_ns:
                continue
            stamped = quotes._replace(time_ns=time_ns)
            for receiver in receivers:
                self.port.send(receiver, stamped)
            if to_book:
                self.port.send(self.book, stamped)
            self.published += 1
        if index + 1 < len(self.times_ns):
            self.port.schedule(int(self.times_ns[index + 1] - now_ns), ("tick", index + 1))

    def on_message(self, message: Any, now_ns: int) -> None:
        raise TypeError(f"{self.name} replays a file and takes no messages, got {type(message).__name__}")

    def snapshot(self) -> dict[str, Any]:
        return {"ticks": len(self.times_ns), "published": self.published, "source": self.chain_file.source,
                "close_prices": dict(self.close_prices)}
