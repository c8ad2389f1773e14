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

from datetime import datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from core.calendar import MarketCalendar

NEW_YORK = ZoneInfo("America/New_York")


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


def trading_phase(time_ns: int, calendar: MarketCalendar) -> TradingPhase:
    local = datetime.fromtimestamp(time_ns / 1e9, tz=NEW_YORK)
    if not calendar.is_session(local.date()):
        return TradingPhase.CLOSED
    _, close_ns = calendar.open_close_ns(local.date())
    close = datetime.fromtimestamp(close_ns / 1e9, tz=NEW_YORK)
    if local >= close:
        return TradingPhase.AFTER_HOURS
    if local >= close - timedelta(minutes=15):
        return TradingPhase.CLOSE_AUCTION
    phase = TradingPhase.PRE_MARKET
    for start, name in _BOUNDARIES:
        if local.time() >= start:
            phase = name
    return phase


def delay_multiplier(phase: TradingPhase, open_multiplier: float, close_multiplier: float) -> float | None:
    """How much longer to wait between attempts in this phase; None where no trading is allowed."""
    if phase in NO_TRADING:
        return None
    if phase is TradingPhase.OPEN_AUCTION:
        return open_multiplier
    if phase is TradingPhase.CLOSE_AUCTION:
        return close_multiplier
    return 1.0
