"""The live simulated market lists the calendar's expiries, as the backtest's simulator does."""

from datetime import date, datetime

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
