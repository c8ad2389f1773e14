"""Trading states of the session and of each sender: ACTIVE, REDUCING (only orders that reduce exposure
pass), HALTED (nothing but cancels passes). A sender's effective state is the stricter of its own and the
session's."""

from __future__ import annotations

from enum import IntEnum
from typing import Iterable, NamedTuple


class TradingState(IntEnum):
    """Ordered by strictness: the effective state of two is the larger."""

    ACTIVE = 0
    REDUCING = 1
    HALTED = 2


SESSION_SCOPE = "session"
"""The scope of a state that applies to every sender."""

STATE_EVENT_KIND = "trading_state"
"""The ledger event kind of a state change: `owner` holds the scope, the payload state, reason and trigger."""


class StateChange(NamedTuple):
    """A scope (SESSION_SCOPE or a sender's name) put into `state` at `time_ns`, by `trigger` (manual,
    drawdown, reject_rate, disconnect, daily_loss, restore), because of `reason`."""

    scope: str
    state: str
    reason: str
    trigger: str
    time_ns: int


def effective_state(states: dict[str, TradingState], owner: str) -> TradingState:
    """The stricter of the session's state and `owner`'s (ACTIVE when neither was set)."""
    return max(states.get(SESSION_SCOPE, TradingState.ACTIVE), states.get(owner, TradingState.ACTIVE))


def parse_state(text: str) -> TradingState:
    """A state from its name, any case; ValueError naming the states otherwise."""
    try:
        return TradingState[text.strip().upper()]
    except KeyError:
        raise ValueError(f"state: {text!r} is not one of {[s.name for s in TradingState]}") from None


def fold_states(changes: Iterable[StateChange]) -> dict[str, StateChange]:
    """The last change of each scope (a restarted gate resumes the states the ledger shows)."""
    last: dict[str, StateChange] = {}
    for change in changes:
        last[change.scope] = change
    return last
