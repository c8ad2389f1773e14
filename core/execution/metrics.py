"""OptimizationMetrics: learns size, hours and cancel time from the executor's own attempts (seed 001).

- size: the contract size maximizing fill_rate x size, among sizes with >= 10 attempts;
- hours: hours with >= 5 attempts and a fill rate >= 25%, best fill rate first;
- cancel time: the 95th percentile of fill times + 500 ms, capped at 5,000 ms.
Each returns None while there is not enough data, so callers keep their current setting.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

MIN_SAMPLES_PER_SIZE = 10
MIN_SAMPLES_PER_HOUR = 5
MIN_HOUR_FILL_RATE = 0.25
CANCEL_BUFFER_MS = 500.0
CANCEL_CAP_MS = 5000.0
DELAY_CATEGORIES = ("short", "medium", "long")


@dataclass
class _Tally:
    attempts: int = 0
    fills: int = 0

    @property
    def fill_rate(self) -> float:
        return self.fills / self.attempts if self.attempts else 0.0


class OptimizationMetrics:
    def __init__(self) -> None:
        self.by_size: dict[int, _Tally] = defaultdict(_Tally)
        self.by_hour: dict[int, _Tally] = defaultdict(_Tally)
        self.by_delay: dict[str, _Tally] = defaultdict(_Tally)
        self.fill_times_ms: list[float] = []
        self.profit_total = 0.0

    def record_attempt(self, contracts: int, hour: int, delay_category: str, filled: bool,
                       fill_time_ms: float | None = None, profit: float = 0.0) -> None:
        if delay_category not in DELAY_CATEGORIES:
            raise ValueError(f"delay_category must be one of {DELAY_CATEGORIES}, got {delay_category!r}")
        if not 0 <= hour <= 23:
            raise ValueError(f"hour must be 0..23, got {hour!r}")
        for tally in (self.by_size[contracts], self.by_hour[hour], self.by_delay[delay_category]):
            tally.attempts += 1
            tally.fills += bool(filled)
        if filled and fill_time_ms is not None:
            self.fill_times_ms.append(float(fill_time_ms))
        self.profit_total += profit

    def get_optimal_size(self) -> int | None:
        eligible = {size: t for size, t in self.by_size.items() if t.attempts >= MIN_SAMPLES_PER_SIZE}
        if not eligible:
            return None
        return max(eligible, key=lambda size: (eligible[size].fill_rate * size, -size))

    def get_optimal_hours(self) -> list[int]:
        eligible = [(hour, t.fill_rate) for hour, t in self.by_hour.items()
                    if t.attempts >= MIN_SAMPLES_PER_HOUR and t.fill_rate >= MIN_HOUR_FILL_RATE]
        return [hour for hour, _ in sorted(eligible, key=lambda item: (-item[1], item[0]))]

    def get_optimal_cancel_time_ms(self) -> float | None:
        if not self.fill_times_ms:
            return None
        return min(float(np.percentile(self.fill_times_ms, 95)) + CANCEL_BUFFER_MS, CANCEL_CAP_MS)

    def fill_rate_by_size(self) -> dict[int, tuple[float, int, int]]:
        return {s: (t.fill_rate, t.fills, t.attempts) for s, t in sorted(self.by_size.items())}

    def fill_rate_by_hour(self) -> dict[int, tuple[float, int, int]]:
        return {h: (t.fill_rate, t.fills, t.attempts) for h, t in sorted(self.by_hour.items())}
