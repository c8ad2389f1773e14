"""Units of time shared by every layer: the clock's nanoseconds, the New York zone, and the one year fraction.

Time is nanoseconds since the Unix epoch (what every runtime's clock gives). US equity options trade and
expire on New York time. An option's time to expiry is measured in calendar years, ACT/365 over the
nanosecond clock (`years_between_ns`); the simulated underlying diffuses in trading time instead
(`TRADING_MINUTES_PER_YEAR`), a different clock for a different purpose, named apart so they are not mixed up.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
"""US equity and index options: sessions, phases, expiries and settlement are on this zone's clock."""

NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_DAY = 86_400 * NS_PER_SECOND
DAYS_PER_YEAR = 365
NS_PER_YEAR = DAYS_PER_YEAR * NS_PER_DAY
"""ACT/365: the year of an option's time to expiry, in nanoseconds."""
SECONDS_PER_YEAR = float(DAYS_PER_YEAR * 86_400)

TRADING_DAYS_PER_YEAR = 252
TRADING_MINUTES_PER_DAY = 390
TRADING_MINUTES_PER_YEAR = TRADING_DAYS_PER_YEAR * TRADING_MINUTES_PER_DAY
"""The simulated underlying's diffusion clock: only market minutes carry variance."""


def years_between_ns(start_ns, end_ns):
    """ACT/365 years from `start_ns` to `end_ns` (numpy arrays or scalars; negative when `end_ns` is earlier)."""
    return (end_ns - start_ns) / NS_PER_YEAR
