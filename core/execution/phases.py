"""Trading phases of a US equity options session (America/New_York) and their delay multipliers.

| phase          | New York time | delay multiplier          |
|----------------|---------------|---------------------------|
| PRE_MARKET     | < 09:30       | no trading                |
| OPEN_AUCTION   | 09:30-09:45   | open_auction_delay_multiplier (2.0)  |
| MORNING        | 09:45-11:30   | 1.0                       |
| MIDDAY         | 11:30-14:00   | 1.0                       |
| AFTERNOON      | 14:00-15:45   | 1.0                       |
| CLOSE_AUCTION  | 15:45-close   | close_auction_delay_multiplier (1.5) |
| AFTER_HOURS    | >= close      | no trading                |

Holidays are CLOSED all day; on early-close days the close auction is the last 15 minutes
before the early close. Sessions come from `core.calendar.MarketCalendar`.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime, time
from enum import Enum

from core.calendar import MarketCalendar, new_york_day, new_york_day_bounds_ns
from core.units import NEW_YORK


class TradingPhase(str, Enum):
    CLOSED = "CLOSED"
    PRE_MARKET = "PRE_MARKET"
    OPEN_AUCTION = "OPEN_AUCTION"
    MORNING = "MORNING"
    MIDDAY = "MIDDAY"
    AFTERNOON = "AFTERNOON"
    CLOSE_AUCTION = "CLOSE_AUCTION"
    AFTER_HOURS = "AFTER_HOURS"


NO_TRADING = frozenset({TradingPhase.CLOSED, TradingPhase.PRE_MARKET, TradingPhase.AFTER_HOURS})
_BOUNDARIES = ((time(9, 30), TradingPhase.OPEN_AUCTION), (time(9, 45), TradingPhase.MORNING),
               (time(11, 30), TradingPhase.MIDDAY), (time(14, 0), TradingPhase.AFTERNOON))
_CLOSE_AUCTION_NS = 15 * 60 * 1_000_000_000


def trading_phase(time_ns: int, calendar: MarketCalendar) -> TradingPhase:
    """The phase at one UTC ns time (a component asking at every attempt keeps a PhaseClock instead)."""
    return PhaseClock(calendar).phase(time_ns)


class PhaseClock:
    """The trading phase for a stream of times: one New York day's phase changes as UTC ns, worked out
    again only when a time falls outside that day, then a bisect per call (two time-zone conversions
    per call were most of a trader's attempt outside its plan). Exact to the nanosecond."""

    def __init__(self, calendar: MarketCalendar) -> None:
        self.calendar = calendar
        self._day_ns = (0, 0)
        self._starts_ns: list[int] = []
        self._phases: list[TradingPhase] = []

    def phase(self, time_ns: int) -> TradingPhase:
        if not self._day_ns[0] <= time_ns < self._day_ns[1]:
            self._load(new_york_day(time_ns))
        return self._phases[bisect_right(self._starts_ns, time_ns) - 1]

    def _load(self, day: date) -> None:
        """Each phase's start that day: the table's boundaries before the close auction (an early close
        cuts the day short), then the close auction 15 minutes before the close, and after hours."""
        self._day_ns = new_york_day_bounds_ns(day)
        if not self.calendar.is_session(day):
            self._starts_ns, self._phases = [self._day_ns[0]], [TradingPhase.CLOSED]
            return
        _, close_ns = self.calendar.open_close_ns(day)
        close_auction_ns = close_ns - _CLOSE_AUCTION_NS
        changes = [(self._day_ns[0], TradingPhase.PRE_MARKET)]
        for start, phase in _BOUNDARIES:
            start_ns = int(datetime.combine(day, start, tzinfo=NEW_YORK).timestamp()) * 1_000_000_000
            if start_ns < close_auction_ns:
                changes.append((start_ns, phase))
        changes += [(close_auction_ns, TradingPhase.CLOSE_AUCTION), (close_ns, TradingPhase.AFTER_HOURS)]
        self._starts_ns = [start_ns for start_ns, _ in changes]
        self._phases = [phase for _, phase in changes]


def delay_multiplier(phase: TradingPhase, open_multiplier: float, close_multiplier: float) -> float | None:
    """How much longer to wait between attempts in this phase; None where no trading is allowed."""
    if phase in NO_TRADING:
        return None
    if phase is TradingPhase.OPEN_AUCTION:
        return open_multiplier
    if phase is TradingPhase.CLOSE_AUCTION:
        return close_multiplier
    return 1.0
