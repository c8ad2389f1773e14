"""The live simulated market lists the calendar's expiries, as the backtest's simulator does."""

from datetime import date, datetime, timezone

from actors.runtime.component import Component
from actors.runtime.inline import InlineRuntime
from core.calendar import MarketCalendar
from core.units import NEW_YORK
from sim.market.live import MarketFeed, MarketSpec


class Sink(Component):
    def on_message(self, message, now_ns):
        pass


def test_a_sunday_start_lists_no_weekend_or_holiday_expiry():
    """From Sunday 2026-12-27, 0/7/30 days out: Monday's daily, then listed dailies/Fridays/monthlies (the
    first wave listed Sunday 2027-01-03)."""
    start_ns = int(datetime(2026, 12, 27, 12, 0, tzinfo=NEW_YORK).timestamp() * 1e9)
    runtime = InlineRuntime(start_ns=start_ns)
    runtime.add(Sink("exchange"))
    feed = runtime.add(MarketFeed(MarketSpec(symbols={"SPY": 600.0}, n_strikes=10, expiry_days=(0, 7, 30))))
    runtime.run(until_ns=start_ns)
    calendar = MarketCalendar()
    sessions = set(calendar.sessions(date(2026, 12, 27), date(2027, 2, 28)))
    assert feed.expiries and all(day in sessions for day in feed.expiries)
    assert feed.expiries[0] == date(2026, 12, 28)
    assert date(2027, 1, 3) not in feed.expiries
    assert {e for _, e in feed.latest} == {d.isoformat() for d in feed.expiries}


def test_crypto_chains_follow_the_listing_around_the_clock():
    """BTC from Saturday 07:50 UTC: Saturday's 08:00 daily is quoted until it expires, then gone; the chains are
    in coin with the venue's greeks and Deribit's tick threshold."""
    start_ns = int(datetime(2026, 12, 5, 7, 50, tzinfo=timezone.utc).timestamp() * 1e9)
    runtime = InlineRuntime(start_ns=start_ns)
    runtime.add(Sink("exchange"))
    feed = runtime.add(MarketFeed(MarketSpec(symbols={"BTC": 90_000.0, "SPY": 600.0}, n_strikes=10,
                                             expiry_days=(7,), crypto_expiry_days=3, interval_ms=60_000)))
    runtime.run(until_ns=start_ns)
    before = sorted(e for s, e in feed.latest if s == "BTC")
    runtime.run(until_ns=start_ns + 11 * 60 * 10**9)
    after = sorted(e for s, e in feed.latest if s == "BTC")
    assert before == ["2026-12-05", "2026-12-06"] and after == ["2026-12-06", "2026-12-07"]
    chain = feed.latest[("BTC", "2026-12-06")]
    assert chain.tick_threshold == 0.005 and chain.delta is not None and chain.ask.max() < 1.0
    assert feed.prices["BTC"] != 90_000.0 and any(s == "SPY" for s, _ in feed.latest)
