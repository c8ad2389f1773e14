"""Event blackouts (seed 002: "early exit before CPI / FOMC"): a window around each scheduled release in which
the strategist opens nothing new.

An event calendar is an array of release instants (UTC nanoseconds, sorted) with a kind per event; `in_blackout`
answers for many times at once with one binary search over the windows' starts, no loop over events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np


class EventCalendar(NamedTuple):
    """Release instants (UTC ns, ascending) and what each is (e.g. "FOMC", "CPI")."""

    times_ns: np.ndarray
    kinds: np.ndarray


class Blackout(NamedTuple):
    """Per time asked: inside a window, and the event it belongs to ("" when none)."""

    active: np.ndarray
    event: np.ndarray


def calendar(times_ns, kinds) -> EventCalendar:
    """A calendar sorted by time (input in any order)."""
    times_ns = np.asarray(times_ns, np.int64)
    order = np.argsort(times_ns, kind="stable")
    return EventCalendar(times_ns[order], np.asarray(kinds, dtype=object)[order])


def in_blackout(events: EventCalendar, times_ns, before_s: float, after_s: float,
               by_kind: Mapping[str, tuple[float, float]] | None = None) -> Blackout:
    """Whether each time is within a release's window (both ends included), and which release.

    The window is `before_s` before to `after_s` after the release, or `by_kind[kind]` = (before_s, after_s) for
    the kinds it names: a CPI release at 08:30, before the open, needs a window that reaches into the sessions
    around it, an FOMC decision at 14:00 does not. Exact for any mix of windows: windows sorted by start, a time
    is covered when the latest end among the windows started by then reaches it; the release named is that
    window's."""
    times_ns = np.asarray(times_ns, np.int64)
    active = np.zeros(times_ns.size, bool)
    event = np.full(times_ns.size, "", dtype=object)
    if events.times_ns.size == 0:
        return Blackout(active, event)
    before_ns, after_ns = _window_ns(events.kinds, before_s, after_s, by_kind or {})
    starts, ends = events.times_ns - before_ns, events.times_ns + after_ns
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    reaching = _running_argmax(ends)
    started = np.searchsorted(starts, times_ns, side="right") - 1
    at = np.maximum(started, 0)
    active = (started >= 0) & (reach[at] >= times_ns)
    names = np.asarray([f"{kind} {np.datetime64(int(t), 'ns').astype('datetime64[m]')} UTC"
                        for kind, t in zip(events.kinds, events.times_ns)], dtype=object)[order]
    event[active] = names[reaching[at[active]]]
    return Blackout(active, event)


def _window_ns(kinds: np.ndarray, before_s: float, after_s: float,
               by_kind: Mapping[str, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Per release: its window before and after, in ns."""
    before = np.array([by_kind.get(kind, (before_s, after_s))[0] for kind in kinds], np.float64)
    after = np.array([by_kind.get(kind, (before_s, after_s))[1] for kind in kinds], np.float64)
    return (before * 1e9).astype(np.int64), (after * 1e9).astype(np.int64)


def _running_argmax(values: np.ndarray) -> np.ndarray:
    """At each position, the index of the largest value so far (the first such)."""
    index = np.arange(values.size)
    is_new_max = np.r_[True, values[1:] > np.maximum.accumulate(values)[:-1]]
    return np.maximum.accumulate(np.where(is_new_max, index, 0))
