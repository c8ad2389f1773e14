"""The backtest day's feed: what it tells the exchange about its next snapshot, and nobody else."""

from __future__ import annotations

from datetime import date

import numpy as np

from actors.messages import NextMids
from actors.runtime.component import Component
from actors.runtime.inline import InlineRuntime
from config.runtime import RuntimeConfig
from core.calendar import MarketCalendar
from core.quotes import ChainQuotes
from sim.market.day_feed import DayFeed

DAY = date(2026, 11, 20)


class Recorder(Component):
    def __init__(self, name):
        super().__init__(name)
        self.messages = []

    def on_message(self, message, now_ns):
        self.messages.append(message)


def run_feed(minutes=3.0, **settings):
    rt = InlineRuntime(RuntimeConfig())
    expiry = date(2026, 11, 27)
    rt.add(DayFeed(DAY, {"SPY": 600.0}, {"SPY": [expiry]}, {("SPY", expiry.isoformat()): ("trader",)},
               interval_s=10.0, seed=4, n_strikes=20, **settings))
    exchange, trader = rt.add(Recorder("exchange")), rt.add(Recorder("trader"))
    open_ns, _ = MarketCalendar().open_close_ns(DAY)
    rt.run(until_ns=open_ns + int(minutes * 60e9))
    return exchange.messages, trader.messages


def test_the_exchange_hears_each_next_snapshot_mids_before_it_and_traders_never_do():
    to_exchange, to_trader = run_feed(minutes=12.0, lookahead=True)      # past the first 60-tick block
    chains = [m for m in to_exchange if isinstance(m, ChainQuotes)]
    told = {m.time_ns: m.mids[("SPY", "2026-11-27")] for m in to_exchange if isinstance(m, NextMids)}
    assert len(chains) > 60 and not any(isinstance(m, NextMids) for m in to_trader)
    for quotes in chains[1:]:
        np.testing.assert_allclose(told[quotes.time_ns], 0.5 * (quotes.bid + quotes.ask))
    plain, _ = run_feed(minutes=12.0)
    assert [q.bid.tolist() for q in chains] == [q.bid.tolist() for q in plain if isinstance(q, ChainQuotes)]


def test_mid_noise_moves_the_quotes_and_is_seeded():
    plain = [q for q in run_feed()[1] if isinstance(q, ChainQuotes)]
    noisy = [q for q in run_feed(mid_noise_half_spreads=1.0)[1] if isinstance(q, ChainQuotes)]
    again = [q for q in run_feed(mid_noise_half_spreads=1.0)[1] if isinstance(q, ChainQuotes)]
    assert any(not np.array_equal(a.bid, b.bid) for a, b in zip(plain, noisy))
    assert all(np.array_equal(a.bid, b.bid) for a, b in zip(noisy, again))


def test_a_labelled_day_bridges_the_path_onto_its_close_at_its_own_vols():
    rt = InlineRuntime(RuntimeConfig())
    expiry = date(2026, 11, 27)
    book = rt.add(Recorder("book"))
    feed = rt.add(DayFeed(DAY, {"SPY": 600.0}, {"SPY": [expiry]}, {}, interval_s=300.0, seed=4, n_strikes=20,
                          book="book", vol=0.45, implied_vol=0.30, close_targets={"SPY": 612.5}))
    rt.add(Recorder("exchange"))
    _, close_ns = MarketCalendar().open_close_ns(DAY)
    rt.run(until_ns=close_ns + 1)
    assert feed.paths["SPY"][0] == 600.0 and abs(feed.paths["SPY"][-1] - 612.5) < 1e-9
    assert feed.close_prices["SPY"] == 612.5
    assert [m.price for m in book.messages if type(m).__name__ == "UnderlyingClose"] == [612.5]
    assert (feed.vol, feed.implied_vol) == (0.45, 0.30)
    calm = DayFeed(DAY, {"SPY": 600.0}, {}, {}, vol=0.45, implied_vol=0.10)
    wild = DayFeed(DAY, {"SPY": 600.0}, {}, {}, vol=0.45, implied_vol=0.60)
    for f in (calm, wild):
        f.models = feed.models
        f.times_ns, f.paths = feed.times_ns, {"SPY": np.full(feed.times_ns.size, 600.0)}
    from core.calendar import settlement_instant_ns
    closes = settlement_instant_ns("SPY", expiry)
    mids = [f._generate("SPY", closes, 0) for f in (calm, wild)]
    assert (mids[1].ask[0] > mids[0].ask[0]).all()          # the chains are priced at the implied vol, not the path's
