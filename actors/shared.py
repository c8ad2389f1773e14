"""The shared components: PositionBalancer and OptimizationMetrics fed by every ExpirationTrader.

Each wraps the pure class from `core.execution` and takes fire-and-forget messages, so no
trader ever waits on them; their snapshots are the session-wide views (summary, learning).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from actors.runtime.component import Component
from actors.messages import AttemptRecorded, ChainFill
from core.execution.balancer import PositionBalancer
from core.execution.metrics import OptimizationMetrics


class BalancerComponent(Component):
    def __init__(self, max_imbalance: int = 5, force_balance_at_close: bool = True, name: str = "balancer") -> None:
        super().__init__(name)
        self.balancer = PositionBalancer(max_imbalance, force_balance_at_close)

    def on_message(self, message: ChainFill, now_ns: int) -> None:
        expiration = date.fromisoformat(message.expiration)
        record = (self.balancer.record_debit_fill if message.part == "debit" else self.balancer.record_credit_fill)
        record(message.symbol, expiration, message.contracts, message.price_per_share)
        chain = self.balancer.get_balance(message.symbol, expiration)
        self.telemetry.gauge("spreadwright_net_premium_usd", chain.net_premium, symbol=message.symbol,
                             expiration=message.expiration)
        self.telemetry.gauge("spreadwright_contract_imbalance_contracts", chain.net_contracts, symbol=message.symbol,
                             expiration=message.expiration)

    def snapshot(self) -> dict[str, Any]:
        chains = {f"{c.symbol} {c.expiration.isoformat()}": {
            "debit_contracts": c.debit_contracts, "credit_contracts": c.credit_contracts,
            "net_contracts": c.net_contracts, "net_premium": round(c.net_premium, 2)}
            for c in self.balancer.chains.values()}
        return {**self.balancer.get_summary(), "by_chain": chains}


class MetricsComponent(Component):
    def __init__(self, name: str = "metrics") -> None:
        super().__init__(name)
        self.metrics = OptimizationMetrics()

    def on_message(self, message: AttemptRecorded, now_ns: int) -> None:
        self.metrics.record_attempt(message.contracts, message.hour, message.delay_category, message.filled,
                                    message.fill_time_ms)

    def snapshot(self) -> dict[str, Any]:
        return {"optimal_contracts": self.metrics.get_optimal_size(),
                "optimal_hours": self.metrics.get_optimal_hours(),
                "optimal_cancel_ms": self.metrics.get_optimal_cancel_time_ms(),
                "fill_rate_by_size": self.metrics.fill_rate_by_size(),
                "fill_rate_by_hour": self.metrics.fill_rate_by_hour()}
