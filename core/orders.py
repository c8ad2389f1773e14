"""Order value types and states shared by the engine, the brokers and the exchanges.

Messages are NamedTuples: cheap to build and to pickle, so they cross a Ray boundary as
easily as an inline one. Prices are per share; a complex order's `limit_price` is the net
price per one unit of the combo (positive: pay a debit when buying).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping, NamedTuple


class Contract(NamedTuple):
    """A listed option: `expiry` ISO date, `right` 'C' or 'P', strike per share."""

    symbol: str
    expiry: str
    strike: float
    right: str


UNDERLYING_RIGHT = "S"
"""`Contract.right` of the underlying's shares: expiry "", strike 0; ratio 1, quantity in shares."""


def underlying_contract(symbol: str) -> Contract:
    """The underlying's shares as a contract (a delta hedge trades it)."""
    return Contract(symbol, "", 0.0, UNDERLYING_RIGHT)


class OrderLeg(NamedTuple):
    """`ratio` contracts of `contract` per unit of the order; positive buys when the order buys."""

    contract: Contract
    ratio: int


class OrderSide(str, Enum):
    BUY = "BUY"
    SELL = "SELL"


class OrderStatus(str, Enum):
    PENDING_NEW = "PENDING_NEW"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


DONE_STATES = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})
ACTIVE_STATES = frozenset({OrderStatus.PENDING_NEW, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})


TAKE, MAKE = "take", "make"
"""An order's intent: `take` is marketable when sent (its limit reaches the natural: it crosses the spread),
`make` rests inside the spread and waits for a counterparty. Fill rates mean different things for the two."""


def intent_of(side: str, limit_per_share: float, natural_per_share: float) -> str:
    """TAKE when a `side` order at `limit_per_share` reaches the natural (a buy at or above it, a sell at or
    below it) when sent, else MAKE."""
    if side == "BUY":
        return TAKE if limit_per_share >= natural_per_share - 1e-9 else MAKE
    return TAKE if limit_per_share <= natural_per_share + 1e-9 else MAKE


class SubmitOrder(NamedTuple):
    """A new order; `owner` is the component name that receives its events; `intent` TAKE or MAKE as the sender
    priced it ("" when the sender did not say)."""

    client_order_id: str
    owner: str
    legs: tuple[OrderLeg, ...]
    side: str
    quantity: int
    limit_price: float
    intent: str = ""


class CancelOrder(NamedTuple):
    client_order_id: str
    owner: str


class ReplaceOrder(NamedTuple):
    """New limit (and optionally quantity; 0 keeps it) for the leaves of a working order."""

    client_order_id: str
    owner: str
    limit_price: float
    quantity: int = 0


class OrderAccepted(NamedTuple):
    client_order_id: str
    time_ns: int


REJECT_CODES = ("market_closed", "unknown_contract", "expired_contract", "no_quote", "bad_quote", "off_tick",
                "bad_price", "price_collar", "bad_quantity", "bad_side", "bad_legs", "duplicate", "rate_limited",
                "other")
"""The bounded reason codes of a refusal (a metric label: reason texts carry prices and contracts)."""


class Refusal(NamedTuple):
    """Why a venue refuses an order: `code` (one of REJECT_CODES) for metrics and programs, `reason` for people."""

    code: str
    reason: str


class OrderRejected(NamedTuple):
    client_order_id: str
    reason: str
    time_ns: int
    code: str = "other"          # one of REJECT_CODES, set where the refusal was decided


class OrderDenied(NamedTuple):
    """The risk gate refused the order before it reached the gateway: nothing was written or sent. `code` is
    one of core.risk.checks.DENY_CODES; the fields are laid out as OrderRejected's."""

    client_order_id: str
    reason: str
    time_ns: int
    code: str = "other"


class OrderFilled(NamedTuple):
    """A fill of `quantity` units at net `price`; `leg_prices` per leg in order; `leaves` still working."""

    client_order_id: str
    quantity: int
    price: float
    leg_prices: tuple[float, ...]
    cumulative_quantity: int
    leaves_quantity: int
    time_ns: int


class OrderCancelled(NamedTuple):
    client_order_id: str
    cancelled_quantity: int
    time_ns: int
    reason: str = ""            # why, when the owner did not ask for it (the venue lost its book); in the ledger


NOT_IN_LEDGER = "unknown to the gateway: it never reached the ledger, so it was never sent"
"""The gateway's CancelRejected reason for an id it has no intent of: an order lost on its way to the gateway
(an actor restarting) is known by it, and its sender can forget it."""


class CancelRejected(NamedTuple):
    client_order_id: str
    reason: str
    time_ns: int


class OrderReplaced(NamedTuple):
    client_order_id: str
    limit_price: float
    leaves_quantity: int
    time_ns: int


ORDER_EVENTS = (OrderAccepted, OrderRejected, OrderFilled, OrderCancelled, CancelRejected, OrderReplaced)
EXPOSURE_EVENTS = (OrderFilled, OrderCancelled, OrderRejected, OrderReplaced)
"""The order events that change working orders or positions (an acceptance or a refused cancel changes neither):
what the gateway copies to the risk gate."""


EVENT_KIND = {OrderAccepted: "accepted", OrderFilled: "filled", OrderCancelled: "cancelled",
              OrderRejected: "rejected", CancelRejected: "cancel_rejected", OrderReplaced: "replaced"}
"""Each order event's kind, as the ledger stores it (the event's fields, less id and time, are its payload)."""


@dataclass
class OrderState:
    """One order as its events have left it: the one order-state record, folded the same way by the ledger,
    the paper exchange and whoever else follows an order's events (`apply`).

    `legs` are kept as their holder keeps them (the ledger's JSON lists, the paper exchange's dicts).
    `quantity` shrinks to what was filled when the order is cancelled; `leaves` is what may still fill.
    """

    client_order_id: str
    owner: str
    legs: Any
    side: str
    quantity: int
    limit_price: float
    status: OrderStatus = OrderStatus.PENDING_NEW
    filled: int = 0
    leaves: int = -1
    average_price: float | None = None
    reason: str | None = None
    reject_code: str | None = None
    last_cancel_reject: str | None = None

    def __post_init__(self) -> None:
        if self.leaves < 0:
            self.leaves = self.quantity

    @property
    def done(self) -> bool:
        return self.status in DONE_STATES

    def apply(self, kind: str, fields: Mapping[str, Any]) -> None:
        """Fold one event (its kind, see EVENT_KIND, and its fields by name) into the state."""
        _TRANSITIONS[kind](self, fields)

    def _accepted(self, fields: Mapping[str, Any]) -> None:
        if self.status is OrderStatus.PENDING_NEW:
            self.status = OrderStatus.ACCEPTED

    def _filled(self, fields: Mapping[str, Any]) -> None:
        """A fill never reopens a cancelled order (a fill decided before the cancel may arrive after it)."""
        previous, average = self.filled, self.average_price or 0.0
        self.filled, self.leaves = fields["cumulative_quantity"], fields["leaves_quantity"]
        self.average_price = round((average * previous + fields["price"] * fields["quantity"]) / self.filled, 6)
        if self.status is not OrderStatus.CANCELLED:
            self.status = OrderStatus.FILLED if self.filled >= self.quantity else OrderStatus.PARTIALLY_FILLED

    def _cancelled(self, fields: Mapping[str, Any]) -> None:
        self.quantity -= fields["cancelled_quantity"]
        self.leaves, self.status = 0, OrderStatus.CANCELLED

    def _rejected(self, fields: Mapping[str, Any]) -> None:
        self.status, self.reason, self.leaves = OrderStatus.REJECTED, fields["reason"], 0
        self.reject_code = fields.get("code", "other")

    def _cancel_rejected(self, fields: Mapping[str, Any]) -> None:
        self.last_cancel_reject = fields["reason"]

    def _replaced(self, fields: Mapping[str, Any]) -> None:
        self.limit_price, self.leaves = fields["limit_price"], fields["leaves_quantity"]
        self.quantity = self.filled + self.leaves


_TRANSITIONS = {"accepted": OrderState._accepted, "filled": OrderState._filled, "cancelled": OrderState._cancelled,
                "rejected": OrderState._rejected, "cancel_rejected": OrderState._cancel_rejected,
                "replaced": OrderState._replaced}


class OrderStatusRequest(NamedTuple):
    """Ask the broker what it knows of an order (reconciliation)."""

    client_order_id: str
    owner: str


class OrderStatusReport(NamedTuple):
    """The broker's view: `known` False when it never saw the id."""

    client_order_id: str
    known: bool
    status: str
    filled_quantity: int
    leaves_quantity: int
    average_price: float
    time_ns: int
    venue_since_ns: int = 0     # when the broker's book began, where it says (0: not said); see BrokerGateway


class TradingHalted(NamedTuple):
    """A trader must stop sending orders: reconciliation found what it cannot explain."""

    client_order_id: str
    reason: str
    time_ns: int
