"""MarketCalendar.is_open and the New York day helpers agree with pandas' time-zone conversion,
across midnights, opens, closes and both DST changes, in any order of asking."""

import numpy as np
import pandas as pd

from core.calendar import MarketCalendar, new_york_day, new_york_day_bounds_ns


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
