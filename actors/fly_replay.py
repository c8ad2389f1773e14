"""What a restarted ButterflyStrategist learns from the ledger: its last fly and how far its exit got.

The strategist asks the gateway for every order under its prefix (`{session}:{strategist}:`): its
entries (`...:{sequence}:open`, placed by itself) and the router's exit orders of those flies
(`...:{sequence}:x{n}:{part}`, placed by the router). One fly at a time per strategist, so the
latest entry decides: still working (cancel it, then it is a fly of what filled), filled and not
exited (watch it again), filled and part-exited (its exit was running: ask the router again), or
closed (nothing open).
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from actors.butterfly_router_state import parse_exit_order_id
from actors.messages import ReplayedOrders

ENTRY_SUFFIX = ":open"
FLY_RATIOS = (1, -2, 1)          # a long fly's legs per unit: wing, body, wing


def entry_order_id(position_id: str) -> str:
    """The client order id of a fly's entry; the fly's position id is this without the suffix."""
    return position_id + ENTRY_SUFFIX


class LastFly(NamedTuple):
    position_id: str
    entry_order_id: str
    legs: tuple[tuple[str, float, int], ...]       # (right, strike, ratio) per fly unit
    filled_units: int
    debit_per_share: float
    entry_ns: int                                  # when the entry intent was written
    entry_working: bool
    exit_parts_filled: dict[str, int]              # contracts filled per exit part
    exit_started: bool                             # the router placed at least one exit order


class FlyReplay(NamedTuple):
    sequence: int                                  # the last entry's sequence (0: none yet)
    last_fly: LastFly | None


def fly_replay(replay: ReplayedOrders, prefix: str) -> FlyReplay:
    """The strategist's next-sequence base and its last fly, from the gateway's replay under `prefix`."""
    entries, exits = {}, {}
    for coid, filled, price, working, _, legs, intent_ns in replay.rows():
        exit_id = parse_exit_order_id(coid)
        if exit_id is not None:
            exits.setdefault(exit_id.position_id, Counter())[exit_id.part] += filled
        elif coid.startswith(prefix) and coid.endswith(ENTRY_SUFFIX):
            sequence = coid[len(prefix):-len(ENTRY_SUFFIX)]
            if sequence.isdigit():
                entries[int(sequence)] = (coid, filled, price, working, legs, intent_ns)
    if not entries:
        return FlyReplay(0, None)
    sequence = max(entries)
    coid, filled, price, working, legs, intent_ns = entries[sequence]
    position_id = coid.removesuffix(ENTRY_SUFFIX)
    parts = exits.get(position_id, Counter())
    return FlyReplay(sequence, LastFly(position_id, coid, tuple(legs), filled, price, intent_ns, working, dict(parts),
                                       position_id in exits))


def fly_closed(fly: LastFly) -> bool:
    """Whether the exit orders closed every unit: whole fly, or both verticals (the second maybe leg by leg)."""
    units, parts = fly.filled_units, fly.exit_parts_filled
    second = parts.get("vertical_2", 0) + min(parts.get("short_leg", 0), parts.get("long_leg", 0))
    hedge_off = parts.get("hedge", 0) == parts.get("unhedge", 0)  # an exit hedges at most once, one way
    return hedge_off and (
        parts.get("whole_fly", 0) >= units or (parts.get("vertical_1", 0) >= units and second >= units)
    )
