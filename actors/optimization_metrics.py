"""The shared OptimizationMetrics component, fed by every ExpirationTrader's attempts.

It wraps the pure `core.execution.metrics.OptimizationMetrics` and takes fire-and-forget
`AttemptRecorded` messages; its snapshot is what the session has learned (sizes, hours, cancel time). It learns
from resting (make) orders only: a take crossed the spread when it was sent, so its fill says nothing about a
size, an hour or a cancel time; takes are counted apart.
"""

from __future__ import annotations

from typing import Any

from actors import names
from actors.messages import AttemptRecorded
from actors.runtime.component import Component
from core.execution.metrics import OptimizationMetrics
from core.orders import TAKE


class MetricsComponent(Component):
    def __init__(self, name: str = names.METRICS) -> None:
        super().__init__(name)
        self.metrics = OptimizationMetrics()
        self.takes = [0, 0]                      # [attempts, filled] of take orders

    def on_message(self, message: AttemptRecorded, now_ns: int) -> None:
        if message.intent == TAKE:
            self.takes[0] += 1
            self.takes[1] += bool(message.filled)
            return
        self.metrics.record_attempt(message.contracts, message.hour, message.delay_category, message.filled,
                                    message.fill_time_ms)

    def snapshot(self) -> dict[str, Any]:
        return {"optimal_contracts": self.metrics.get_optimal_size(),
                "optimal_hours": self.metrics.get_optimal_hours(),
                "optimal_cancel_ms": self.metrics.get_optimal_cancel_time_ms(),
                "fill_rate_by_size": self.metrics.fill_rate_by_size(),
                "fill_rate_by_hour": self.metrics.fill_rate_by_hour(),
                "take_attempts": self.takes[0], "take_fills": self.takes[1]}
