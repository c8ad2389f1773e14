"""PositionBalancer: keeps debit and credit contracts matched per option chain (seed 001).

Premiums are recorded as per-share prices and kept in USD (price x contracts x multiplier).
A chain is balanced when its debit and credit contracts are equal; `max_imbalance` bounds
how far debit contracts may run ahead of credit ones before `can_add_debit` says no.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from core.errors import InvalidFieldError
from core.instruments import multiplier_of


@dataclass
class ChainBalance:
    symbol: str
    expiration: date
    debit_contracts: int = 0
    credit_contracts: int = 0
    debit_paid_usd: float = 0.0
    credit_received_usd: float = 0.0

    @property
    def net_contracts(self) -> int:
        """Debit minus credit contracts: > 0 means credit legs are owed."""
        return self.debit_contracts - self.credit_contracts

    @property
    def net_premium(self) -> float:
        """Credit received minus debit paid, USD."""
        return self.credit_received_usd - self.debit_paid_usd

    @property
    def is_balanced(self) -> bool:
        return self.net_contracts == 0


def _day(expiration: date | datetime) -> date:
    return expiration.date() if isinstance(expiration, datetime) else expiration


def _check_fill(contracts: int, price: float, name: str) -> None:
    if isinstance(contracts, bool) or not isinstance(contracts, int) or contracts <= 0:
        raise InvalidFieldError("contracts", f"must be an integer > 0, got {contracts!r}")
    if not isinstance(price, (int, float)) or price != price or price < 0:
        raise InvalidFieldError(name, f"must be a per-share price >= 0, got {price!r}")


class PositionBalancer:
    def __init__(self, max_imbalance: int = 5, force_balance_at_close: bool = True,
                 multiplier: int | None = None) -> None:
        """`multiplier`: one for every chain; None (the default) takes each symbol's product multiplier."""
        if isinstance(max_imbalance, bool) or not isinstance(max_imbalance, int) or max_imbalance < 0:
            raise InvalidFieldError("max_imbalance", f"must be an integer >= 0, got {max_imbalance!r}")
        self.max_imbalance = max_imbalance
        self.force_balance_at_close = force_balance_at_close
        self.multiplier = multiplier
        self.chains: dict[tuple[str, date], ChainBalance] = {}

    def _chain(self, symbol: str, expiration) -> ChainBalance:
        key = (symbol, _day(expiration))
        chain = self.chains.get(key)
        if chain is None:
            chain = self.chains[key] = ChainBalance(symbol, key[1])
        return chain

    def can_add_debit(self, symbol: str, expiration, contracts: int) -> bool:
        """Whether `contracts` more debit contracts keep the chain within `max_imbalance`."""
        return self._chain(symbol, expiration).net_contracts + contracts <= self.max_imbalance

    def debit_room(self, symbol: str, expiration) -> int:
        """How many more debit contracts the chain can take before it exceeds `max_imbalance` (>= 0)."""
        return max(self.max_imbalance - self._chain(symbol, expiration).net_contracts, 0)

    def record_debit_fill(self, symbol: str, expiration, contracts: int, cost: float) -> ChainBalance:
        """`cost` is the debit paid per share per contract."""
        return self._record(symbol, expiration, contracts, cost, "cost")

    def record_credit_fill(self, symbol: str, expiration, contracts: int, credit: float) -> ChainBalance:
        """`credit` is the credit received per share per contract."""
        return self._record(symbol, expiration, contracts, credit, "credit")

    def _record(self, symbol: str, expiration, contracts: int, price: float, field: str) -> ChainBalance:
        _check_fill(contracts, price, field)
        chain = self._chain(symbol, expiration)
        usd = price * contracts * (multiplier_of(symbol) if self.multiplier is None else self.multiplier)
        if field == "cost":
            chain.debit_contracts += contracts
            chain.debit_paid_usd += usd
        else:
            chain.credit_contracts += contracts
            chain.credit_received_usd += usd
        return chain

    def get_balance(self, symbol: str, expiration) -> ChainBalance:
        return self._chain(symbol, expiration)

    def get_all_imbalanced(self) -> list[ChainBalance]:
        return [chain for chain in self.chains.values() if not chain.is_balanced]

    def contracts_to_balance(self) -> dict[tuple[str, date], int]:
        """At the close (with force_balance_at_close): credit contracts (> 0) or debit (< 0) each chain still needs."""
        if not self.force_balance_at_close:
            return {}
        return {key: chain.net_contracts for key, chain in self.chains.items() if not chain.is_balanced}

    def get_summary(self) -> dict[str, Any]:
        chains = list(self.chains.values())
        return {
            "chains": len(chains),
            "total_debit_paid": sum(c.debit_paid_usd for c in chains),
            "total_credit_received": sum(c.credit_received_usd for c in chains),
            "net_premium": sum(c.net_premium for c in chains),
            "total_imbalance": sum(abs(c.net_contracts) for c in chains),
            "balanced_chains": sum(c.is_balanced for c in chains),
        }
