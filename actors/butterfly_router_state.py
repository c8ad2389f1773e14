"""The ButterflyExitRouter's working state, its order door, and what it rebuilds after a restart.

A router that restarts has lost every exit it was running. The gateway's ledger still has each
of its orders, and every exit order's client order id says which fly and which part it was
(`{position_id}:x{sequence}:{part}`). So on start the router asks the gateway for its orders
(`ReplayRequest`), cancels those still working, and keeps what each fly had already closed as
`PastOrder`s. When the requester re-sends the exit (the strategist re-sends an unanswered one),
the router resumes it from there instead of closing what is already closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from actors.messages import ExitButterfly
from actors.runtime.component import Component
from core.exits.butterfly import HEDGE_PARTS, ExitFill, VerticalExit, shares_held
from core.orders import (
    CancelOrder,
    CancelRejected,
    OrderCancelled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    ReplaceOrder,
    SubmitOrder,
    TradingHalted,
)

EXIT_PARTS = ("vertical_1", "vertical_2", "whole_fly", "short_leg", "long_leg", *HEDGE_PARTS)
_SETTLING = (OrderCancelled, OrderRejected, OrderDenied, CancelRejected, TradingHalted)
"""Events after which a replayed order can fill no more: a cancel is refused only for an order already done,
and its last fill came before (events of one order arrive in order); a halt means the broker lost it."""


class OrderExecutor(Protocol):
    """What the router needs from a broker: place, cancel and replace spread orders (answers come as events)."""

    def place(self, order: SubmitOrder) -> None: ...
    def cancel(self, client_order_id: str) -> None: ...
    def replace(self, client_order_id: str, limit_price: float, quantity: int) -> None: ...


class PortExecutor:
    """An OrderExecutor that sends order messages to the gateway through the component's port."""

    def __init__(self, component: Component, gateway: str) -> None:
        self.component, self.gateway = component, gateway

    def place(self, order: SubmitOrder) -> None:
        self.component.port.send(self.gateway, order)

    def cancel(self, client_order_id: str) -> None:
        self.component.port.send(self.gateway, CancelOrder(client_order_id, self.component.name))

    def replace(self, client_order_id: str, limit_price: float, quantity: int) -> None:
        self.component.port.send(
            self.gateway, ReplaceOrder(client_order_id, self.component.name, limit_price, quantity)
        )


def exit_order_id(position_id: str, sequence: int, part: str) -> str:
    return f"{position_id}:x{sequence}:{part}"


class ExitOrderId(NamedTuple):
    position_id: str
    sequence: int
    part: str


def parse_exit_order_id(client_order_id: str) -> ExitOrderId | None:
    """The fly, sequence and part an exit order's id names; None for an id the router did not make."""
    pieces = client_order_id.rsplit(":", 2)
    if len(pieces) != 3 or pieces[2] not in EXIT_PARTS or not pieces[1].startswith("x") or not pieces[1][1:].isdigit():
        return None
    return ExitOrderId(pieces[0], int(pieces[1][1:]), pieces[2])


@dataclass
class PastOrder:
    """An exit order placed before a restart, as the ledger (then the broker's later events) tells it."""

    client_order_id: str
    sequence: int
    part: str
    filled: int
    notional_per_share: float          # sum of |fill price| x quantity
    done: bool
    contracts: frozenset = frozenset()   # (right, strike) of its legs, when the replay carried them
    side: str | None = None              # BUY or SELL, when the replay carried it (a hedge's direction)

    def fill(self, quantity: int, price_per_share: float, cumulative: int, leaves: int) -> None:
        self.filled = max(self.filled, cumulative)
        self.notional_per_share += abs(price_per_share) * quantity
        self.done = self.done or leaves == 0

    @property
    def average_price_per_share(self) -> float:
        return self.notional_per_share / self.filled if self.filled else 0.0


@dataclass
class Order:
    coid: str
    exit_id: str
    part: str
    plan: VerticalExit
    quantity: int
    limit: float
    step: int = 0
    filled: int = 0
    done: bool = False
    crossed: bool = False


@dataclass
class Exit:
    request: ExitButterfly
    start_ns: int
    mid_per_share: float
    theo_per_share: float
    plans: dict[str, VerticalExit]
    orders: dict[str, Order] = field(default_factory=dict)
    fills: list[ExitFill] = field(default_factory=list)
    sequence: int = 0
    first_filled: int = 0
    second_filled: int = 0
    singles_filled: dict[str, int] = field(default_factory=dict)
    first_fill_ns: int | None = None
    exposure_closed_ns: int | None = None
    path: str = "normal"
    reason: str | None = None
    fallback_index: int = 0
    single_retries: int = 0
    denial_retries: int = 0            # parts sent again after a transient denial (router `_retry_later`)
    resends_due: int = 0               # of those, still to be sent: the exit is not done before they are
    used_slippage: float = 0.0
    finished: bool = False
    resumed_from: int = 0              # orders replayed from before a restart (0: a fresh exit)

    @property
    def shares_held(self) -> int:
        """The delta hedge's shares on now (signed), from this exit's fills (replayed ones included)."""
        return shares_held(self.fills)

    def add_reason(self, text: str) -> None:
        self.reason = "; ".join(filter(None, (self.reason, text)))

    def credit_past(self, past: PastOrder, plan: VerticalExit, now_ns: int) -> None:
        """Count a replayed order's fills as this exit's, as if they had come in now."""
        self.sequence = max(self.sequence, past.sequence)
        self.orders[past.client_order_id] = Order(past.client_order_id, self.request.position.position_id, past.part,
                                                  plan, past.filled, past.average_price_per_share,
                                                  filled=past.filled, done=True)
        if not past.filled:
            return
        price = past.average_price_per_share
        side = {"short_leg": "BUY", "long_leg": "SELL"}.get(past.part, plan.side)
        if past.part in HEDGE_PARTS:
            side = past.side
        self.fills.append(ExitFill(past.client_order_id, past.part, past.filled,
                                   price if side == "SELL" else -price, (), now_ns))
        if past.part == "vertical_1":
            self.first_filled += past.filled
            self.first_fill_ns = self.first_fill_ns or now_ns
        elif past.part == "vertical_2":
            self.second_filled += past.filled
        elif past.part in ("short_leg", "long_leg"):
            self.singles_filled[past.part] = self.singles_filled.get(past.part, 0) + past.filled


class Recovery:
    """What a restarted router knows of its earlier exits, until each is resumed.

    `load` takes the gateway's replay and returns the orders still working (the router cancels them);
    `event` follows their last events and says when a fly waiting to resume has every order settled,
    so no fill can land after the router has counted what is left to close."""

    def __init__(self, replayed: bool) -> None:
        self.replayed = replayed
        self.held: list[ExitButterfly] = []                  # requests that came before the replay
        self.past: dict[str, dict[str, PastOrder]] = {}      # position id -> client order id -> order
        self.index: dict[str, str] = {}                      # client order id -> position id
        self.resuming: dict[str, ExitButterfly] = {}         # re-sent requests waiting for their orders to settle

    def load(self, replay) -> list[str]:
        """Keep the replayed exit orders; the client order ids still working."""
        working = []
        for coid, filled, average_price, still_working, side, legs, _ in replay.rows():
            parsed = parse_exit_order_id(coid)
            if parsed is None:
                continue
            self.past.setdefault(parsed.position_id, {})[coid] = PastOrder(
                coid, parsed.sequence, parsed.part, filled, abs(average_price) * filled, not still_working,
                frozenset((right, float(strike)) for right, strike, _ in legs), side)
            self.index[coid] = parsed.position_id
            if still_working:
                working.append(coid)
        self.replayed = True
        return working

    def settled(self, position_id: str) -> bool:
        return all(order.done for order in self.past.get(position_id, {}).values())

    def event(self, event) -> str | None:
        """Apply an event of a replayed order; the position id when its re-sent exit can now resume."""
        position_id = self.index[event.client_order_id]
        order = self.past[position_id][event.client_order_id]
        if isinstance(event, OrderFilled):
            order.fill(event.quantity, event.price, event.cumulative_quantity, event.leaves_quantity)
        elif isinstance(event, _SETTLING):
            order.done = True
        if position_id in self.resuming and self.settled(position_id):
            return position_id
        return None

    def take(self, position_id: str) -> list[PastOrder]:
        """The fly's replayed orders, oldest first, handed over to its resumed exit."""
        orders = sorted(self.past.pop(position_id, {}).values(), key=lambda o: o.sequence)
        for order in orders:
            self.index.pop(order.client_order_id, None)
        self.resuming.pop(position_id, None)
        return orders

    def exposure(self) -> dict[str, dict[str, int]]:
        """Per fly with replayed orders: contracts filled per part (what a resumed exit starts from)."""
        out: dict[str, dict[str, int]] = {}
        for position_id, orders in self.past.items():
            parts = out[position_id] = {}
            for order in orders.values():
                parts[order.part] = parts.get(order.part, 0) + order.filled
        return out


def plans_as_placed(plans: dict[str, VerticalExit], past: list[PastOrder]) -> dict[str, VerticalExit]:
    """The two verticals named as the exit that placed `past` named them.

    Which vertical goes first depends on the quotes when the exit was planned; a request re-built from
    newer quotes (by a restarted strategist) may plan them the other way round. The replayed orders'
    legs say which vertical each part was, so the counts stay with the right legs."""
    if "vertical_1" not in plans:
        return plans
    legs = {part: frozenset((right, float(strike)) for right, strike, _ in plan.legs) for part, plan in plans.items()}
    for order in past:
        if order.contracts and order.part in legs:
            other = "vertical_2" if order.part == "vertical_1" else "vertical_1"
            if order.contracts == legs[other] and order.contracts != legs[order.part]:
                return {"vertical_1": plans["vertical_2"], "vertical_2": plans["vertical_1"]}
    return plans
