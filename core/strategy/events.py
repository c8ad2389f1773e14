"""Event blackouts (seed 002: "early exit before CPI / FOMC"): a window around each scheduled release in which
the strategist opens nothing new.

An event calendar is an array of release instants (UTC nanoseconds, sorted) with a kind per event; `in_blackout`
answers for many times at once with two binary searches, no loop over events."""

from __future__ import annotations

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


def in_blackout(events: EventCalendar, times_ns, before_s: float, after_s: float) -> Blackout:
    """Whether each time is within `before_s` before or `after_s` after a release (both ends included), and which:
    the nearest upcoming release when several windows overlap."""
    times_ns = np.asarray(times_ns, np.int64)
    active = np.zeros(times_ns.size, bool)
    event = np.full(times_ns.size, "", dtype=object)
    if events.times_ns.size == 0:
        return Blackout(active, event)
    before_ns, after_ns = int(before_s * 1e9), int(after_s * 1e9)
    upcoming = np.searchsorted(events.times_ns, times_ns, side="left")        # first release at or after t
    previous = upcoming - 1
    has_next = upcoming < events.times_ns.size
    next_at = events.times_ns[np.minimum(upcoming, events.times_ns.size - 1)]
    soon = has_next & (next_at - times_ns <= before_ns)
    last_at = events.times_ns[np.maximum(previous, 0)]
    recent = (previous >= 0) & (times_ns - last_at <= after_ns)
    active = soon | recent
    names = np.asarray([f"{kind} {np.datetime64(int(at), 'ns').astype('datetime64[m]')} UTC"
                        for kind, at in zip(events.kinds, events.times_ns)], dtype=object)
    event[recent] = names[previous[recent]]
    event[soon] = names[np.minimum(upcoming, events.times_ns.size - 1)[soon]]
    return Blackout(active, event)
