"""Listed expirations of US equity, index and crypto options, and their categories.

US: monthlies expire on the third Friday, weeklies on other Fridays, dailies on every other
session (SPY, QQQ, IWM and SPXW list all five weekdays). An expiry that falls on a holiday
moves to the session before. Pure date arithmetic: the sessions come from `core.calendar`.

Crypto (Deribit's schedule, `crypto_expirations`): every expiry at 08:00 UTC, any day of the week; dailies for
the next few days, weeklies on Fridays, monthlies on the month's last Friday, quarterlies on the last Friday of
March, June, September and December.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from enum import Enum


class ExpirationCategory(str, Enum):
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    LEAPS = "LEAPS"


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def nominal_friday(expiry: date) -> date:
    """The Friday an expiry belongs to (itself, or the Friday after a holiday-shifted Thursday)."""
    return expiry + timedelta(days=(4 - expiry.weekday()) % 7)


def categorize(expiry: date, today: date, friday_is_session: bool = True) -> ExpirationCategory:
    """Category of a listed expiry; anything more than ~9 months out is LEAPS.

    A Thursday counts as its week's Friday expiry only when that Friday is a holiday
    (`friday_is_session=False`).
    """
    if (expiry - today).days > 270:
        return ExpirationCategory.LEAPS
    friday = nominal_friday(expiry)
    is_friday_slot = expiry.weekday() == 4 or (expiry.weekday() == 3 and not friday_is_session)
    if not is_friday_slot:
        return ExpirationCategory.DAILY
    if friday == third_friday(friday.year, friday.month):
        return ExpirationCategory.QUARTERLY if friday.month in (3, 6, 9, 12) else ExpirationCategory.MONTHLY
    return ExpirationCategory.WEEKLY


def listed_expirations(today: date, sessions: list[date], horizon_days: int = 120, daily_weeks: int = 2,
                       weekly_weeks: int = 6, dailies: bool = True) -> list[tuple[date, ExpirationCategory]]:
    """Expirations listed on `today` within `horizon_days`: dailies for `daily_weeks`, Fridays for
    `weekly_weeks`, then monthlies. `sessions` must cover today..today+horizon (holidays absent)."""
    open_days = sorted(d for d in sessions if today <= d <= today + timedelta(days=horizon_days))
    session_set = set(open_days)
    listed: dict[date, ExpirationCategory] = {}
    for day in open_days:
        days_out = (day - today).days
        category = categorize(day, today, friday_is_session=nominal_friday(day) in session_set)
        keep = (category in (ExpirationCategory.MONTHLY, ExpirationCategory.QUARTERLY)
                or (category is ExpirationCategory.WEEKLY and days_out <= 7 * weekly_weeks)
                or (dailies and days_out <= 7 * daily_weeks))
        if keep:
            listed[day] = category
    return sorted(listed.items())


def nearest_listed(today: date, wanted_dte: tuple[int, ...], sessions: list[date]) -> list[date]:
    """The listed expiries (`listed_expirations`) nearest each wanted number of days to expiry, distinct and
    sorted: a wanted 0 on a Saturday is Monday's daily, never a weekend date."""
    return sorted(d for d in snap_to_listed(today, [today + timedelta(days=dte) for dte in wanted_dte], sessions)
                  if d is not None)


def snap_to_listed(today: date, wanted: list[date], sessions: list[date]) -> list[date | None]:
    """Per wanted date, in order: itself when listed, else the nearest listed expiry not taken by an earlier one
    (None when none is left). A user's 'today + 30 days' becomes the expiry a real exchange lists."""
    listed = [d for d, _ in listed_expirations(today, sessions)]
    chosen: list[date | None] = []
    for day in wanted:
        best = min((d for d in listed if d not in chosen), key=lambda d: abs((d - day).days), default=None)
        chosen.append(best)
    return chosen


def last_friday(year: int, month: int) -> date:
    """The month's last Friday (crypto monthlies and quarterlies)."""
    following = date(year + month // 12, month % 12 + 1, 1)
    last_day = following - timedelta(days=1)
    return last_day - timedelta(days=(last_day.weekday() - 4) % 7)


def crypto_category(expiry: date) -> ExpirationCategory:
    """A crypto expiry's category by its day alone (Deribit's schedule has no holidays)."""
    if expiry.weekday() != 4:
        return ExpirationCategory.DAILY
    if expiry != last_friday(expiry.year, expiry.month):
        return ExpirationCategory.WEEKLY
    return ExpirationCategory.QUARTERLY if expiry.month in (3, 6, 9, 12) else ExpirationCategory.MONTHLY


def expiry_instant_ns(expiry: date, at_utc: time) -> int:
    """The moment an expiry on `expiry` at `at_utc` (UTC) expires, ns since the epoch."""
    return int(datetime.combine(expiry, at_utc, tzinfo=timezone.utc).timestamp()) * 1_000_000_000


def crypto_expirations(now_ns: int, at_utc: time = time(8), dailies: int = 2, weeklies: int = 3, monthlies: int = 3,
                       quarterlies: int = 4) -> list[tuple[date, ExpirationCategory]]:
    """The expiries a Deribit-style venue lists at `now_ns`, sorted: the next `dailies` days, `weeklies` Fridays,
    `monthlies` month-ends and `quarterlies` quarter-ends, each expiring at `at_utc`; one that expired already
    today is gone."""
    now = datetime.fromtimestamp(now_ns / 1e9, tz=timezone.utc)
    first = now.date() if now.time() < at_utc else now.date() + timedelta(days=1)
    days = {first + timedelta(days=n) for n in range(dailies)}
    friday = first + timedelta(days=(4 - first.weekday()) % 7)
    days.update(friday + timedelta(weeks=n) for n in range(weeklies))
    month_ends = []
    year, month = first.year, first.month
    while len(month_ends) < max(monthlies, 3 * quarterlies + 3):
        end = last_friday(year, month)
        if end >= first:
            month_ends.append(end)
        year, month = year + month // 12, month % 12 + 1
    days.update(month_ends[:monthlies])
    days.update([d for d in month_ends if d.month in (3, 6, 9, 12)][:quarterlies])
    return [(day, crypto_category(day)) for day in sorted(days)]
