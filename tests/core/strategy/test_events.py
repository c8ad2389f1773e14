"""Event blackouts: the window's ends, overlapping windows, no events."""

from __future__ import annotations

import numpy as np

from core.strategy.events import calendar, in_blackout

HOUR = 3600 * 10**9
CPI = np.datetime64("2024-03-12T12:30", "ns").astype(np.int64)          # 08:30 New York (EDT)
FOMC = np.datetime64("2024-03-20T18:00", "ns").astype(np.int64)         # 14:00 New York


def test_the_window_includes_its_ends_and_names_the_event():
    events = calendar([FOMC, CPI], ["FOMC", "CPI"])                      # any order in
    times = [CPI - 2 * HOUR - 1, CPI - 2 * HOUR, CPI, CPI + HOUR, CPI + HOUR + 1, FOMC - 2 * HOUR]
    got = in_blackout(events, times, before_s=2 * 3600, after_s=3600)
    assert got.active.tolist() == [False, True, True, True, False, True]
    assert got.event[1].startswith("CPI 2024-03-12T12:30") and got.event[5].startswith("FOMC")
    assert got.event[0] == ""


def test_overlapping_windows_name_the_upcoming_release_and_no_events_is_never_a_blackout():
    events = calendar([CPI, CPI + 3 * HOUR], ["CPI", "FOMC"])
    got = in_blackout(events, [CPI + HOUR], before_s=4 * 3600, after_s=4 * 3600)
    assert got.active[0] and got.event[0].startswith("FOMC")
    empty = in_blackout(calendar([], []), [CPI], 3600, 3600)
    assert not empty.active.any() and empty.event[0] == ""


def test_a_kind_s_own_window_replaces_the_plain_one():
    events = calendar([CPI, FOMC], ["CPI", "FOMC"])
    by_kind = {"CPI": (18 * 3600, 90 * 60)}
    open_ns = CPI + HOUR                                                 # 09:30 New York
    got = in_blackout(events, [CPI - 18 * HOUR, open_ns + 30 * 60 * 10**9, open_ns + 31 * 60 * 10**9,
                               FOMC - HOUR, FOMC - HOUR - 1], 3600, 1800, by_kind)
    assert got.active.tolist() == [True, True, False, True, False]
    assert got.event[1].startswith("CPI") and got.event[3].startswith("FOMC")


def test_a_long_window_covers_times_after_a_later_release_s_short_window_has_ended():
    short = CPI + 2 * HOUR
    events = calendar([CPI, short], ["CPI", "FOMC"])
    probe = short + 2 * HOUR                                             # past the FOMC window, in the CPI one
    got = in_blackout(events, [probe, CPI + 6 * HOUR + 1], 0, 0, {"CPI": (0, 6 * 3600), "FOMC": (600, 600)})
    assert got.active.tolist() == [True, False]
    assert got.event[0].startswith("CPI")
