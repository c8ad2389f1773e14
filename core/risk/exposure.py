"""What the session holds and has working, as the risk gate counts it (pure, incremental).

A contract key is (symbol, expiry ISO, strike, right), as the ledger folds positions (`core.ledger.fold`). An
order's legs are kept per unit with the side applied (`signed_legs`): +2 buys two contracts per unit of a
bought order. Open contracts are sums of |net position|, per chain, per symbol and in all, kept up to date
fill by fill; working orders count at what they may still fill.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

from core.orders import OrderLeg

Key = tuple[str, str, float, str]
SignedLegs = tuple[tuple[Key, int], ...]


def signed_legs(legs: Iterable[OrderLeg], side: str) -> SignedLegs:
    """Per unit of the order: (contract key, contracts bought (+) or sold (-))."""
    sign = 1 if side == "BUY" else -1
    return tuple(((leg.contract.symbol, leg.contract.expiry, float(leg.contract.strike), leg.contract.right),
                  sign * leg.ratio) for leg in legs)


def contracts_per_unit(legs: SignedLegs) -> int:
    return sum(abs(ratio) for _, ratio in legs)


class WorkingOrder(NamedTuple):
    owner: str
    legs: SignedLegs
    leaves: int
    reduces: bool


class Exposure:
    """Net positions per contract and the working orders, with open-contract totals by chain and symbol."""

    def __init__(self) -> None:
        self.positions: dict[Key, int] = {}
        self.by_chain: dict[tuple[str, str], int] = {}
        self.by_symbol: dict[str, int] = {}
        self.total = 0
        self.net_by_group: dict[tuple[str, str, str], int] = {}       # (symbol, expiry, right) -> net contracts
        self.working: dict[str, WorkingOrder] = {}
        self.working_contracts = 0            # leaves x contracts a unit, of the orders that add exposure
        self.reducing: dict[Key, int] = {}    # what working reducing orders may still trade, signed, per contract

    def restore(self, positions: dict[Key, int], working: Iterable[tuple[str, str, SignedLegs, int]]) -> None:
        """Start from a folded ledger: net positions and (client order id, owner, legs, leaves) still working."""
        self.__init__()
        for key, contracts in positions.items():
            self._move(key, contracts)
        for coid, owner, legs, leaves in working:
            self.add_working(coid, owner, legs, leaves)

    def reduces(self, legs: SignedLegs, quantity: int, exclude: str | None = None) -> bool:
        """True when every leg trades against a position at least its size once the working reducing orders have
        traded (it only makes |positions| smaller: two closes of one position cannot both pass as reducing and
        flip it together). `exclude`: a working order's own client order id (a replace of it)."""
        positions, reducing = self.positions, self.reducing
        own = self.working.get(exclude) if exclude is not None else None
        for key, ratio in legs:
            held = positions.get(key, 0) + reducing.get(key, 0)
            if own is not None and own.reduces:
                held -= sum(r for k, r in own.legs if k == key) * own.leaves
            change = ratio * quantity
            if held == 0 or (held > 0) == (change > 0) or abs(change) > abs(held):
                return False
        return True

    def add_working(self, coid: str, owner: str, legs: SignedLegs, quantity: int, reduces: bool | None = None) -> None:
        """A new working order; `reduces`: `self.reduces(legs, quantity)` when the caller has just asked it."""
        if reduces is None:
            reduces = self.reduces(legs, quantity)
        self.working[coid] = WorkingOrder(owner, legs, quantity, reduces)
        if reduces:
            self._pending(legs, quantity)
        else:
            self.working_contracts += quantity * contracts_per_unit(legs)

    def _pending(self, legs: SignedLegs, units: int) -> None:
        reducing = self.reducing
        for key, ratio in legs:
            left = reducing.get(key, 0) + ratio * units
            if left:
                reducing[key] = left
            else:
                reducing.pop(key, None)

    def filled(self, coid: str, quantity: int, leaves: int) -> None:
        """A fill of `quantity` units of a working order; `leaves` may still fill."""
        order = self.working.get(coid)
        if order is None:
            return
        for key, ratio in order.legs:
            self._move(key, ratio * quantity)
        self._set_leaves(coid, order, leaves)

    def done(self, coid: str) -> None:
        """The order was cancelled or rejected: nothing more fills."""
        order = self.working.get(coid)
        if order is not None:
            self._set_leaves(coid, order, 0)

    def replaced(self, coid: str, leaves: int) -> None:
        order = self.working.get(coid)
        if order is not None:
            self._set_leaves(coid, order, leaves)

    def _set_leaves(self, coid: str, order: WorkingOrder, leaves: int) -> None:
        if order.reduces:
            self._pending(order.legs, max(leaves, 0) - order.leaves)
        else:
            self.working_contracts += (leaves - order.leaves) * contracts_per_unit(order.legs)
        if leaves <= 0:
            del self.working[coid]
        else:
            self.working[coid] = order._replace(leaves=leaves)

    def _move(self, key: Key, change: int) -> None:
        before = self.positions.get(key, 0)
        after = before + change
        if after:
            self.positions[key] = after
        else:
            self.positions.pop(key, None)
        group = (key[0], key[1], key[3])
        self.net_by_group[group] = self.net_by_group.get(group, 0) + change
        grown = abs(after) - abs(before)
        if grown:
            chain = (key[0], key[1])
            self.by_chain[chain] = self.by_chain.get(chain, 0) + grown
            self.by_symbol[key[0]] = self.by_symbol.get(key[0], 0) + grown
            self.total += grown

    def owners_working(self, owner: str | None) -> list[tuple[str, str]]:
        """(client order id, owner) of every working order of `owner` (None: all)."""
        return [(coid, o.owner) for coid, o in self.working.items() if owner is None or o.owner == owner]

    def uncovered_shorts(self, legs: SignedLegs, quantity: int) -> list[tuple[str, str, str, int]]:
        """(symbol, expiry, right, contracts) short beyond the longs of the same symbol, expiry and right once
        `legs` x `quantity` are added to the positions: the naked shorts the order would leave. A long of
        any strike covers a short of the same right (the loss is bounded by the strikes' distance). The shorts
        beyond the longs of a group are minus its net position, so a group's net is all this reads."""
        after: dict[tuple[str, str, str], int] = {}
        net_by_group = self.net_by_group
        for key, ratio in legs:
            right = key[3]
            if right == "C" or right == "P":
                group = (key[0], key[1], right)
                net = after.get(group)
                after[group] = (net_by_group.get(group, 0) if net is None else net) + ratio * quantity
        return [(*group, -net) for group, net in after.items() if net < 0]
