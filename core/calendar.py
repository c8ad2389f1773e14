"""Exchange sessions and market minutes (US equity options: NYSE calendar, America/New_York hours).

Wraps `exchange_calendars` (holidays and early closes kept by its maintainers). Times are
nanoseconds since the Unix epoch, UTC, like every clock in this project.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd

NS_PER_MINUTE = 60_000_000_000
NEW_YORK = "America/New_York"


@lru_cache(maxsize=4)
def _calendar(code: str):
    import exchange_calendars

    return exchange_calendars.get_calendar(code, start="2000-01-01", end="2030-12-31")


class MarketCalendar:
    """Sessions of one exchange (default XNYS, which US equity options follow)."""

    def __init__(self, code: str = "XNYS") -> None:
        self.code = code
        self._cal = _calendar(code)
        self._day_cache: dict[date, tuple[bool, int, int]] = {}

    def __getstate__(self) -> dict:
        return {"code": self.code}        # the calendar tables are rebuilt, not pickled

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["code"])

    def sessions(self, start: date, end: date) -> list[date]:
        """Trading days in [start, end]."""
        return [ts.date() for ts in self._cal.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))]

    def _day(self, day: date) -> tuple[bool, int, int]:
        """(is a session, open ns, close ns), looked up once per day: callers ask on every attempt."""
        cached = self._day_cache.get(day)
        if cached is None:
            ts = pd.Timestamp(day)
            if self._cal.is_session(ts):
                cached = (True, self._cal.session_open(ts).value, self._cal.session_close(ts).value)
            else:
                cached = (False, 0, 0)
            self._day_cache[day] = cached
        return cached

    def is_session(self, day: date) -> bool:
        return self._day(day)[0]

    def open_close_ns(self, day: date) -> tuple[int, int]:
        """Regular open and close of `day` (early closes included), UTC ns."""
        is_session, open_ns, close_ns = self._day(day)
        if not is_session:
            raise ValueError(f"{day} is not a {self.code} session")
        return open_ns, close_ns

    def is_open(self, time_ns: int) -> bool:
        day = pd.Timestamp(time_ns, unit="ns", tz="UTC").tz_convert(NEW_YORK).date()
        is_session, open_ns, close_ns = self._day(day)
        return is_session and open_ns <= time_ns < close_ns

    def minute_grid_ns(self, days: list[date]) -> np.ndarray:
        """Every market minute's start of the given sessions, UTC ns, ascending (390 a full day)."""
        pieces = []
        for day in days:
            open_ns, close_ns = self.open_close_ns(day)
            pieces.append(np.arange(open_ns, close_ns, NS_PER_MINUTE, dtype=np.int64))
        return np.concatenate(pieces) if pieces else np.empty(0, dtype=np.int64)
