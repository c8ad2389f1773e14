"""The shared PositionBalancer component, fed by every ExpirationTrader's fills.

It wraps the pure `core.execution.balancer.PositionBalancer` and takes fire-and-forget `ChainFill`
messages, so no trader ever waits on it; its snapshot is the session-wide position summary.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from actors import names
from actors.messages import ChainFill
from actors.runtime.component import Component
from core.execution.balancer import PositionBalancer


class BalancerComponent(Component):
    def __init__(self, max_imbalance: int = 5, force_balance_at_close: bool = True, name: str = names.BALANCER) -> None:
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
