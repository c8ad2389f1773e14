"""MarketCalendar.is_open and the New York day helpers agree with pandas' time-zone conversion,
across midnights, opens, closes and both DST changes, in any order of asking."""

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from core.calendar import AlwaysOpenCalendar, MarketCalendar, calendar_for, new_york_day, new_york_day_bounds_ns
from core.instruments import ALWAYS_OPEN


def _pandas_day(time_ns: int):
    return pd.Timestamp(time_ns, unit="ns", tz="UTC").tz_convert("America/New_York").date()


def _edges() -> list[int]:
    edges = []
    for stamp in ("2026-11-20 14:30", "2026-11-20 21:00", "2026-11-27 18:00", "2026-03-08 05:00",
                  "2026-03-08 07:00", "2026-11-01 04:00", "2026-11-01 05:00", "2026-11-21 05:00"):
        ns = pd.Timestamp(stamp, tz="UTC").value
        edges += [ns - 1, ns, ns + 1]
    return edges


def test_is_open_and_day_match_pandas_in_any_order():
    calendar = MarketCalendar()
    times = np.random.default_rng(3).integers(pd.Timestamp("2026-03-01").value, pd.Timestamp("2026-12-01").value, 5000)
    for time_ns in list(times) + _edges() + sorted(_edges()):
        time_ns = int(time_ns)
        day = _pandas_day(time_ns)
        is_session, open_ns, close_ns = calendar._day(day)
        assert calendar.is_open(time_ns) == (is_session and open_ns <= time_ns < close_ns), time_ns
        assert new_york_day(time_ns) == day
        start_ns, end_ns = new_york_day_bounds_ns(day)
        assert start_ns <= time_ns < end_ns


def test_half_day_closes_early_and_dst_days_have_their_own_length():
    calendar = MarketCalendar()
    assert calendar.is_open(pd.Timestamp("2026-11-27 17:59", tz="UTC").value)  # 12:59 ET, day after Thanksgiving
    assert not calendar.is_open(pd.Timestamp("2026-11-27 18:00", tz="UTC").value)      # 13:00 ET early close
    start_ns, end_ns = new_york_day_bounds_ns(pd.Timestamp("2026-03-08").date())
    assert end_ns - start_ns == 23 * 3600 * 10**9


def test_the_session_table_is_exchange_calendars_own_to_the_nanosecond():
    import exchange_calendars

    from core.calendar import FIRST_DAY, LAST_DAY

    reference = exchange_calendars.get_calendar("XNYS", start=FIRST_DAY.isoformat(), end=LAST_DAY.isoformat())
    calendar = MarketCalendar()
    days = pd.date_range(FIRST_DAY, LAST_DAY, freq="D")
    sessions = set(reference.sessions)
    assert calendar.sessions(FIRST_DAY, LAST_DAY) == [ts.date() for ts in reference.sessions]
    for ts in days[::3].append(pd.DatetimeIndex(["2026-11-27", "2026-12-24", "2026-07-03", "2026-11-26"])):
        expected = ts in sessions
        assert calendar.is_session(ts.date()) == expected, ts
        if expected:
            assert calendar.open_close_ns(ts.date()) == (reference.session_open(ts).value,
                                                          reference.session_close(ts).value), ts


def test_a_calendar_travels_as_arrays_and_a_day_outside_its_range_says_so():
    import pickle
    import subprocess
    import sys

    import pytest

    from core.calendar import FIRST_DAY

    calendar = MarketCalendar()
    blob = pickle.dumps(calendar)
    assert len(blob) < 4096       # inside a Ray actor's arguments, well under Ray's inline limit (see pack_sessions)
    assert all(np.array_equal(a, b) for a, b in zip(pickle.loads(blob)._table, calendar._table))
    code = ("import pickle, sys; calendar = pickle.loads(sys.stdin.buffer.read()); "
            "import datetime; assert calendar.is_session(datetime.date(2026, 12, 4)); "
            "print(sorted(m for m in ('pandas', 'exchange_calendars') if m in sys.modules))")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True, check=True, cwd=root)
    assert result.stdout.strip() == b"[]"
    with pytest.raises(ValueError, match="outside the XNYS calendar"):
        MarketCalendar().is_session(FIRST_DAY.replace(year=1999))


def test_the_always_open_calendar_has_every_minute_of_every_utc_day():
    calendar = calendar_for(ALWAYS_OPEN)
    assert isinstance(calendar, AlwaysOpenCalendar)
    days = calendar.sessions(date(2026, 12, 24), date(2026, 12, 27))
    assert days == [date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 27)]
    open_ns, close_ns = calendar.open_close_ns(date(2026, 12, 25))
    assert open_ns == pd.Timestamp("2026-12-25", tz="UTC").value and close_ns - open_ns == 86_400 * 10**9
    grid = calendar.minute_grid_ns(days)
    assert len(grid) == 4 * 1440 and np.all(np.diff(grid) == 60 * 10**9)
    assert calendar.is_open(int(pd.Timestamp("2026-12-25 03:17", tz="UTC").value))
    assert calendar.is_session(date(2026, 12, 25)) and calendar.next_session(date(2026, 12, 26)) == date(2026, 12, 26)
    assert isinstance(calendar_for("XNYS"), MarketCalendar)
