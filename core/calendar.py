"""Exchange sessions and market minutes: US equity options on the NYSE calendar (America/New_York hours), crypto
options around the clock (`AlwaysOpenCalendar`).

Wraps `exchange_calendars` (holidays and early closes kept by its maintainers). Times are
nanoseconds since the Unix epoch, UTC, like every clock in this project.
"""

from __future__ import annotations

import zlib
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from core.instruments import ALWAYS_OPEN, is_am_settled
from core.units import NEW_YORK

NS_PER_MINUTE = 60_000_000_000


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2030, 12, 31)
"""The days the calendar knows (exchange_calendars' tables are built for this range)."""


class SessionTable(NamedTuple):
    """Every session of one exchange in [FIRST_DAY, LAST_DAY]: its day and its regular open and close (early
    closes included), UTC ns. Numpy only, so a calendar unpickled in a restarted actor needs neither pandas nor
    exchange_calendars (importing them and building the tables took a restarted trader some 0.4 s)."""

    days: np.ndarray          # datetime64[D], ascending
    open_ns: np.ndarray       # int64
    close_ns: np.ndarray      # int64


@lru_cache(maxsize=4)
def session_table(code: str) -> SessionTable:
    """The sessions of `code` as exchange_calendars (its maintainers keep holidays and early closes) lists them."""
    import exchange_calendars

    calendar = exchange_calendars.get_calendar(code, start=FIRST_DAY.isoformat(), end=LAST_DAY.isoformat())
    return SessionTable(calendar.sessions.values.astype("datetime64[D]"), _utc_ns(calendar.opens),
                        _utc_ns(calendar.closes))


def _utc_ns(stamps) -> np.ndarray:
    """A pandas Series of timestamps (UTC when naive) as int64 UTC ns."""
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)


_NS_PER_DAY = 86_400 * 1_000_000_000
_FIRST, _LAST = np.datetime64(FIRST_DAY, "D"), np.datetime64(LAST_DAY, "D")


def pack_sessions(table: SessionTable) -> bytes:
    """The table in about 700 bytes (zlib of the gaps between sessions and each open and close as seconds after
    the day's UTC midnight): a calendar travels inside a Ray actor's arguments, and arguments over Ray's inline
    limit (100 KiB) go to the object store, where a restarted actor found them deleted and could not start."""
    days = table.days.astype(np.int64)
    first = days[:1] if len(days) else np.zeros(1, dtype=np.int64)
    midnight_ns = days * _NS_PER_DAY
    columns = (np.diff(days, prepend=first), (table.open_ns - midnight_ns) // 1_000_000_000,
               (table.close_ns - midnight_ns) // 1_000_000_000)
    return zlib.compress(np.concatenate([first, *columns]).astype(np.int64).tobytes(), 9)


def unpack_sessions(packed: bytes) -> SessionTable:
    values = np.frombuffer(zlib.decompress(packed), dtype=np.int64)
    count = (len(values) - 1) // 3
    days = values[0] + np.cumsum(values[1:1 + count])
    midnight_ns = days * _NS_PER_DAY
    return SessionTable(days.astype("datetime64[D]"), midnight_ns + values[1 + count:1 + 2 * count] * 1_000_000_000,
                        midnight_ns + values[1 + 2 * count:] * 1_000_000_000)


class MarketCalendar:
    """Sessions of one exchange (default XNYS, which US equity options follow)."""

    def __init__(self, code: str = "XNYS", table: SessionTable | None = None) -> None:
        self.code = code
        self._table = table if table is not None else session_table(code)
        self._day_cache: dict[date, tuple[bool, int, int]] = {}
        self._last_day: tuple[int, int, bool, int, int] = (0, 0, False, 0, 0)   # is_open's: the day asked last

    def __getstate__(self) -> dict:
        return {"code": self.code, "packed": pack_sessions(self._table)}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["code"], unpack_sessions(state["packed"]))

    def sessions(self, start: date, end: date) -> list[date]:
        """Trading days in [start, end] (both within the calendar's days)."""
        start_day, end_day = np.datetime64(start, "D"), np.datetime64(end, "D")     # also from a pandas Timestamp
        for bound in (start_day, end_day):
            self._check_known(bound)
        days = self._table.days
        first = np.searchsorted(days, start_day, side="left")
        last = np.searchsorted(days, end_day, side="right")
        return days[first:last].tolist()

    def _day(self, day: date) -> tuple[bool, int, int]:
        """(is a session, open ns, close ns), looked up once per day: callers ask on every attempt."""
        cached = self._day_cache.get(day)
        if cached is None:
            self._check_known(np.datetime64(day, "D"))
            table = self._table
            row = int(np.searchsorted(table.days, np.datetime64(day, "D")))
            if row < len(table.days) and table.days[row] == np.datetime64(day, "D"):
                cached = (True, int(table.open_ns[row]), int(table.close_ns[row]))
            else:
                cached = (False, 0, 0)
            self._day_cache[day] = cached
        return cached

    def _check_known(self, day: np.datetime64) -> None:
        if not _FIRST <= day <= _LAST:
            raise ValueError(f"{day} is outside the {self.code} calendar's days ({FIRST_DAY} to {LAST_DAY})")

    def is_session(self, day: date) -> bool:
        return self._day(day)[0]

    def next_session(self, day: date) -> date | None:
        """The first session on or after `day` (None past the calendar's last day)."""
        following = self.sessions(day, min(day + timedelta(days=14), LAST_DAY)) if day <= LAST_DAY else []
        return following[0] if following else None

    def open_close_ns(self, day: date) -> tuple[int, int]:
        """Regular open and close of `day` (early closes included), UTC ns."""
        is_session, open_ns, close_ns = self._day(day)
        if not is_session:
            raise ValueError(f"{day} is not a {self.code} session")
        return open_ns, close_ns

    def is_open(self, time_ns: int) -> bool:
        start_ns, end_ns, is_session, open_ns, close_ns = self._last_day
        if not start_ns <= time_ns < end_ns:
            day = new_york_day(time_ns)
            start_ns, end_ns = new_york_day_bounds_ns(day)
            self._last_day = (start_ns, end_ns, *self._day(day))
            is_session, open_ns, close_ns = self._last_day[2:]
        return is_session and open_ns <= time_ns < close_ns

    def minute_grid_ns(self, days: list[date]) -> np.ndarray:
        """Every market minute's start of the given sessions, UTC ns, ascending (390 a full day)."""
        pieces = []
        for day in days:
            open_ns, close_ns = self.open_close_ns(day)
            pieces.append(np.arange(open_ns, close_ns, NS_PER_MINUTE, dtype=np.int64))
        return np.concatenate(pieces) if pieces else np.empty(0, dtype=np.int64)


class AlwaysOpenCalendar:
    """Crypto options' calendar: every UTC day is a session from midnight to midnight, every minute is open. The
    same methods as `MarketCalendar`, so whatever asks a calendar works on either."""

    code = ALWAYS_OPEN

    def sessions(self, start: date, end: date) -> list[date]:
        """Every day in [start, end]."""
        return [start + timedelta(days=n) for n in range((end - start).days + 1)]

    def is_session(self, day: date) -> bool:
        return True

    def next_session(self, day: date) -> date:
        return day

    def open_close_ns(self, day: date) -> tuple[int, int]:
        """The UTC day's midnight and the next one, ns."""
        start_ns = (day - _EPOCH).days * _NS_PER_DAY
        return start_ns, start_ns + _NS_PER_DAY

    def is_open(self, time_ns: int) -> bool:
        return True

    def minute_grid_ns(self, days: list[date]) -> np.ndarray:
        """Every minute's start of the given UTC days (1,440 a day), ascending."""
        starts = np.array([self.open_close_ns(day)[0] for day in days], dtype=np.int64)
        return (starts[:, None] + np.arange(0, _NS_PER_DAY, NS_PER_MINUTE, dtype=np.int64)[None, :]).ravel()


_EPOCH = date(1970, 1, 1)


def calendar_for(code: str) -> MarketCalendar | AlwaysOpenCalendar:
    """The calendar a product names (`core.instruments.ProductSpec.calendar_code`)."""
    return AlwaysOpenCalendar() if code == ALWAYS_OPEN else MarketCalendar(code)


def new_york_day(time_ns: int) -> date:
    """The New York calendar day of a UTC ns time."""
    return datetime.fromtimestamp(time_ns // 1_000_000_000, tz=NEW_YORK).date()


def new_york_day_bounds_ns(day: date) -> tuple[int, int]:
    """[start, end) of a New York calendar day, UTC ns (23 or 25 hours on DST changes)."""
    start = datetime.combine(day, time(0), tzinfo=NEW_YORK)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=NEW_YORK)
    return int(start.timestamp()) * 1_000_000_000, int(end.timestamp()) * 1_000_000_000


@lru_cache(maxsize=4096)
def expiry_close_ns(day: date) -> int:
    """When options expiring on `day` stop trading and settle (PM): the NYSE session's close, 16:00 New York or
    13:00 on an early close; 16:00 New York on a day that is not a session."""
    calendar = MarketCalendar()
    if calendar.is_session(day):
        return calendar.open_close_ns(day)[1]
    return int(datetime.combine(day, time(16), tzinfo=NEW_YORK).timestamp()) * 1_000_000_000


def settlement_instant_ns(symbol: str, day: date) -> int:
    """When `symbol`'s options expiring on `day` stop trading and settle: the open of `day` for an AM-settled
    monthly (`core.instruments.is_am_settled`: it last traded at the previous close and settles at the opening
    print), else the official close (`expiry_close_ns`)."""
    if is_am_settled(symbol, day):
        calendar = MarketCalendar()
        if calendar.is_session(day):
            return calendar.open_close_ns(day)[0]
        return int(datetime.combine(day, time(9, 30), tzinfo=NEW_YORK).timestamp()) * 1_000_000_000
    return expiry_close_ns(day)
