from datetime import date

from core.calendar import MarketCalendar
from core.expirations import ExpirationCategory as C
from core.expirations import categorize, listed_expirations, third_friday


def test_third_friday():
    assert third_friday(2026, 12) == date(2026, 12, 18)
    assert third_friday(2027, 1) == date(2027, 1, 15)


def test_listed_expirations_around_thanksgiving_and_christmas():
    sessions = MarketCalendar().sessions(date(2026, 11, 20), date(2027, 4, 1))
    listed = dict(listed_expirations(date(2026, 11, 20), sessions))
    assert listed[date(2026, 11, 20)] is C.MONTHLY                 # expiring today: 0DTE
    assert date(2026, 11, 26) not in listed                          # Thanksgiving
    assert listed[date(2026, 11, 27)] is C.WEEKLY
    assert listed[date(2026, 12, 3)] is C.DAILY
    assert listed[date(2026, 12, 18)] is C.QUARTERLY
    assert listed[date(2026, 12, 24)] is C.WEEKLY                    # Christmas Friday moves to Thursday
    assert listed[date(2027, 2, 19)] is C.MONTHLY
    assert date(2027, 2, 12) not in listed                           # weeklies only 6 weeks out


def test_categorize_leaps_and_holiday_thursday():
    assert categorize(date(2028, 1, 21), date(2026, 11, 20)) is C.LEAPS
    assert categorize(date(2026, 12, 24), date(2026, 11, 20), friday_is_session=False) is C.WEEKLY
    assert categorize(date(2026, 12, 24), date(2026, 11, 20), friday_is_session=True) is C.DAILY


def test_calendar_minutes_and_early_close():
    cal = MarketCalendar()
    full = cal.minute_grid_ns([date(2026, 11, 20)])
    early = cal.minute_grid_ns([date(2026, 11, 27)])      # day after Thanksgiving closes at 13:00
    assert len(full) == 390 and len(early) == 210
    assert cal.is_open(int(full[0])) and not cal.is_session(date(2026, 11, 26))
