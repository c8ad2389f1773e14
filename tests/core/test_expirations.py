from datetime import date, datetime, time, timezone

from core.calendar import MarketCalendar
from core.expirations import ExpirationCategory as C
from core.expirations import (
    categorize,
    crypto_category,
    crypto_expirations,
    expiry_instant_ns,
    last_friday,
    listed_expirations,
    third_friday,
)


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


def _utc_ns(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()) * 10**9


def test_crypto_expirations_follow_deribits_schedule_at_0800_utc():
    """Deribit normally lists 2 dailies, 3 weeklies, 3 monthlies and 4 quarterlies
    (https://support.deribit.com/hc/en-us/articles/25944617523357-Instrument-Listing-Policy)."""
    listed = crypto_expirations(_utc_ns("2026-12-07T09:00"))       # a Monday, after that day's 08:00 expiry
    days = [d for d, _ in listed]
    assert days[:4] == [date(2026, 12, 8), date(2026, 12, 9), date(2026, 12, 11), date(2026, 12, 18)]  # 2 dailies
    assert (date(2026, 12, 18), C.WEEKLY) in listed
    assert (date(2026, 12, 25), C.QUARTERLY) in listed and (date(2027, 1, 29), C.MONTHLY) in listed
    assert [d for d, c in listed if c is C.QUARTERLY] == [date(2026, 12, 25), date(2027, 3, 26), date(2027, 6, 25),
                                                        date(2027, 9, 24)]
    assert days == sorted(set(days))


def test_an_expiry_is_listed_until_its_0800_utc_moment():
    before = crypto_expirations(_utc_ns("2026-12-07T07:59"))
    after = crypto_expirations(_utc_ns("2026-12-07T08:00"))
    assert before[0][0] == date(2026, 12, 7) and after[0][0] == date(2026, 12, 8)
    assert expiry_instant_ns(date(2026, 12, 7), time(8)) == _utc_ns("2026-12-07T08:00")


def test_last_friday_and_crypto_categories():
    assert last_friday(2026, 12) == date(2026, 12, 25) and last_friday(2027, 2) == date(2027, 2, 26)
    assert crypto_category(date(2026, 12, 12)) is C.DAILY          # a Saturday: crypto lists weekend dailies
    assert crypto_category(date(2027, 1, 29)) is C.MONTHLY
