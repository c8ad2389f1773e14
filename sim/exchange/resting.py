"""Resting single-leg orders of one book as a structure of arrays.

The exchange checks every resting order on each quote update and timer tick; holding their
column, side, limit, remaining hazard, queue ahead and last-check time in numpy arrays makes that check a
few vectorized operations, with Python touching only the orders that fill. Slots of removed
orders are reused.
"""

from __future__ import annotations

import numpy as np

_START_CAPACITY = 64


class RestingSingles:
    def __init__(self) -> None:
        self.orders: list = []
        self.slot_of: dict[str, int] = {}
        self.free: list[int] = []
        self.column = np.zeros(0, np.intp)
        self.sign = np.zeros(0)
        self.limit = np.zeros(0)
        self.hazard = np.zeros(0)
        self.ahead = np.zeros(0)              # contracts queued ahead of the order at its price (queue model)
        self.checked_ns = np.zeros(0, np.int64)
        self.alive = np.zeros(0, bool)
        self._grow(_START_CAPACITY)

    def __len__(self) -> int:
        return len(self.slot_of)

    def _grow(self, capacity: int) -> None:
        old = self.alive.size
        for name in ("column", "sign", "limit", "hazard", "ahead", "checked_ns", "alive"):
            array = getattr(self, name)
            grown = np.zeros(capacity, array.dtype)
            grown[:old] = array
            setattr(self, name, grown)
        self.orders.extend([None] * (capacity - old))
        self.free.extend(range(capacity - 1, old - 1, -1))

    def add(self, coid: str, order, column: int, sign: int, limit: float, hazard: float, now_ns: int,
            ahead: float = 0.0) -> None:
        if not self.free:
            self._grow(self.alive.size * 2)
        slot = self.free.pop()
        self.slot_of[coid] = slot
        self.orders[slot] = order
        self.column[slot], self.sign[slot], self.limit[slot] = column, sign, limit
        self.hazard[slot], self.checked_ns[slot], self.alive[slot] = hazard, now_ns, True
        self.ahead[slot] = ahead

    def remove(self, coid: str) -> None:
        slot = self.slot_of.pop(coid, None)
        if slot is not None:
            self.alive[slot] = False
            self.orders[slot] = None
            self.free.append(slot)

    def set_limit(self, coid: str, limit: float, ahead: float) -> None:
        """A replace: the new price, and the queue it stands behind there (a new price loses its place)."""
        slot = self.slot_of.get(coid)
        if slot is not None:
            self.limit[slot] = limit
            self.ahead[slot] = ahead

    def remap_columns(self, column_of) -> list[str]:
        """After a grid change: new columns via `column_of(order)`; returns ids whose contract vanished."""
        vanished = []
        for coid, slot in list(self.slot_of.items()):
            column = column_of(self.orders[slot])
            if column is None:
                vanished.append(coid)
            else:
                self.column[slot] = column
        return vanished
