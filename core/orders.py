"""Order value types and states shared by the engine, the brokers and the exchanges.

Messages are NamedTuples: cheap to build and to pickle, so they cross a Ray boundary as
easily as an inline one. Prices are per share; a complex order's `limit_price` is the net
price per one unit of the combo (positive: pay a debit when buying).
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple


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


class SubmitOrder(NamedTuple):
    """A new order; `owner` is the component name that receives its events."""

    client_order_id: str
    owner: str
    legs: tuple[OrderLeg, ...]
    side: str
    quantity: int
    limit_price: float


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
                "bad_price", "bad_quantity", "bad_side", "bad_legs", "duplicate", "other")
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


class TradingHalted(NamedTuple):
    """A trader must stop sending orders: reconciliation found what it cannot explain."""

    client_order_id: str
    reason: str
    time_ns: int
