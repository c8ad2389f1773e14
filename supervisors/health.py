"""Health of supervised components as a pure state machine (the supervisor's reconcile step).

The supervisor pings every component without blocking (under Ray: `ray.wait` with a timeout)
and feeds the results to `HealthPolicy.step`, which returns a `Transition` per component: the
previous and next state, the decision, and why. A component is UNHEALTHY only after
`misses_to_unhealthy` consecutive misses; it is then restarted, with an exponential backoff
capped at `max_backoff_s`; more than `max_restarts` restarts within `restart_window_s`
escalate it to HALTED (its symbol stops trading; a person or a new session clears it).
Ping periods are jittered so a fleet of components is not pinged in lockstep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

import numpy as np

NS = 1_000_000_000


class Health(str, Enum):
    HEALTHY = "HEALTHY"
    SUSPECT = "SUSPECT"
    UNHEALTHY = "UNHEALTHY"
    RESTARTING = "RESTARTING"
    HALTED = "HALTED"


class Decision(str, Enum):
    NONE = "NONE"
    RESTART = "RESTART"
    ESCALATE = "ESCALATE"


class Transition(NamedTuple):
    component: str
    previous: Health
    next: Health
    decision: Decision
    reason: str


@dataclass(frozen=True)
class HealthSettings:
    period_s: float = 2.0
    jitter_fraction: float = 0.2
    misses_to_unhealthy: int = 10
    """Pings missed in a row (about 30 s at the period and the 1 s ping) before a stuck actor is replaced: a crashed
    one Ray restarts by itself; three misses (~9 s) replaced healthy actors on a busy machine (a cold start, two
    CPU-bound neighbours) and killed the order path mid-flight."""
    base_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_restarts: int = 5
    restart_window_s: float = 600.0


@dataclass
class _Tracked:
    state: Health = Health.HEALTHY
    misses: int = 0
    restarts_ns: list[int] = field(default_factory=list)
    not_before_ns: int = 0


class HealthPolicy:
    def __init__(self, settings: HealthSettings = HealthSettings(), seed: int = 0) -> None:
        self.settings = settings
        self.rng = np.random.default_rng(seed)
        self.tracked: dict[str, _Tracked] = {}

    def next_ping_delay_ns(self) -> int:
        """The period with +-jitter, so components are not all pinged at once."""
        s = self.settings
        return int(s.period_s * (1.0 + self.rng.uniform(-s.jitter_fraction, s.jitter_fraction)) * NS)

    def backoff_s(self, restarts: int) -> float:
        return min(self.settings.base_backoff_s * 2 ** max(restarts - 1, 0), self.settings.max_backoff_s)

    def step(self, now_ns: int, answered: dict[str, bool]) -> list[Transition]:
        """`answered[name]` is whether the component answered its ping in time this round."""
        return [self._step_one(name, ok, now_ns) for name, ok in sorted(answered.items())]

    def _step_one(self, name: str, ok: bool, now_ns: int) -> Transition:
        tracked = self.tracked.setdefault(name, _Tracked())
        previous = tracked.state
        if previous is Health.HALTED:
            return Transition(name, previous, previous, Decision.NONE, "halted until cleared")
        if ok:
            tracked.misses = 0
            tracked.state = Health.HEALTHY
            reason = "answered" if previous is Health.HEALTHY else f"recovered from {previous.value}"
            return Transition(name, previous, tracked.state, Decision.NONE, reason)
        tracked.misses += 1
        if tracked.misses < self.settings.misses_to_unhealthy:
            tracked.state = Health.SUSPECT
            return Transition(name, previous, tracked.state, Decision.NONE,
                              f"missed {tracked.misses} of {self.settings.misses_to_unhealthy} pings")
        return self._unhealthy(name, tracked, previous, now_ns)

    def _unhealthy(self, name: str, tracked: _Tracked, previous: Health, now_ns: int) -> Transition:
        window_start = now_ns - int(self.settings.restart_window_s * NS)
        tracked.restarts_ns = [t for t in tracked.restarts_ns if t >= window_start]
        if len(tracked.restarts_ns) >= self.settings.max_restarts:
            tracked.state = Health.HALTED
            return Transition(name, previous, tracked.state, Decision.ESCALATE,
                              f"{len(tracked.restarts_ns)} restarts within {self.settings.restart_window_s:g} s")
        if now_ns < tracked.not_before_ns:
            tracked.state = Health.UNHEALTHY
            wait_s = (tracked.not_before_ns - now_ns) / NS
            return Transition(name, previous, tracked.state, Decision.NONE, f"backing off {wait_s:.2f} s more")
        tracked.restarts_ns.append(now_ns)
        backoff = self.backoff_s(len(tracked.restarts_ns))
        tracked.not_before_ns = now_ns + int(backoff * NS)
        tracked.misses = 0
        tracked.state = Health.RESTARTING
        return Transition(name, previous, tracked.state, Decision.RESTART,
                          f"{self.settings.misses_to_unhealthy} missed pings; restart #{len(tracked.restarts_ns)}, "
                          f"next no sooner than {backoff:g} s")
