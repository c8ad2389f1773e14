"""The kill switch's triggers, told the time: each returns the reason it trips, or None.

- `DrawdownSlope`: the P&L fell more than a set amount below its highest point of a trailing window (a loss
  this fast, whatever the day's total).
- `RejectRate`: of the orders answered in a trailing window, too many were refused.
- `Disconnect`: the venue has been unreachable longer than a grace time.
A manual halt needs no trigger: the gate takes it as it comes.
"""

from __future__ import annotations

from collections import deque

_NS = 1_000_000_000


class DrawdownSlope:
    """Trips when P&L is more than `drawdown_usd` below the highest P&L observed in the last `window_s`."""

    def __init__(self, window_s: float, drawdown_usd: float) -> None:
        self.window_ns, self.drawdown_usd = int(window_s * _NS), drawdown_usd
        self.points: deque[tuple[int, float]] = deque()      # (time, pnl); P&L decreasing from the front

    def observe(self, time_ns: int, pnl_usd: float) -> str | None:
        points = self.points
        while points and points[-1][1] <= pnl_usd:           # a lower earlier point can never be the peak again
            points.pop()
        points.append((time_ns, pnl_usd))
        while points[0][0] < time_ns - self.window_ns:
            points.popleft()
        peak_ns, peak = points[0]
        fall = peak - pnl_usd
        if fall > self.drawdown_usd:
            return (f"P&L fell ${fall:,.2f} in {(time_ns - peak_ns) / _NS:,.0f} s (from ${peak:,.2f} to "
                    f"${pnl_usd:,.2f}), more than ${self.drawdown_usd:,.2f} within {self.window_ns / _NS:,.0f} s")
        return None


class RejectRate:
    """Trips when at least `min_orders` were answered in the last `window_s` and a share of `fraction` or more
    of them was refused (by the venue or the gate)."""

    def __init__(self, window_s: float, min_orders: int, fraction: float) -> None:
        self.window_ns, self.min_orders, self.fraction = int(window_s * _NS), min_orders, fraction
        self.answers: deque[tuple[int, int, bool]] = deque()       # (time, orders it adds: 0 or 1, refused)
        self.orders = 0
        self.refused = 0

    def observe(self, time_ns: int, refused: bool, new_order: bool = True) -> str | None:
        """An order answered: passed or refused. `new_order` False: a refusal of an order already counted as
        answered (the venue rejects what the gate passed), so the share is of orders, not of answers."""
        self.answers.append((time_ns, int(new_order), refused))
        self.orders += new_order
        self.refused += refused
        answers = self.answers
        while answers[0][0] < time_ns - self.window_ns:
            _, orders, was_refused = answers.popleft()
            self.orders -= orders
            self.refused -= was_refused
        if self.orders >= self.min_orders and self.refused >= self.fraction * self.orders:
            return (f"{self.refused} of {self.orders} orders refused in the last {self.window_ns / _NS:,.0f} s "
                    f"(trips at {self.fraction:.0%})")
        return None


class Disconnect:
    """Trips once the venue has been down for more than `grace_s` (told by `update` and asked by `check`)."""

    def __init__(self, grace_s: float) -> None:
        self.grace_ns = int(grace_s * _NS)
        self.down_since_ns: int | None = None
        self.reason = ""

    def update(self, up: bool, time_ns: int, reason: str = "") -> None:
        if up:
            self.down_since_ns = None
        elif self.down_since_ns is None:
            self.down_since_ns, self.reason = time_ns, reason

    def check(self, now_ns: int) -> str | None:
        if self.down_since_ns is None or now_ns - self.down_since_ns <= self.grace_ns:
            return None
        return (f"the venue has been unreachable for {(now_ns - self.down_since_ns) / _NS:,.1f} s (grace "
                f"{self.grace_ns / _NS:,.1f} s): {self.reason or 'no answer'}")
