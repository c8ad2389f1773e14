"""The simulated exchange's state: the latest book of each (symbol, expiry) and its working orders,
and what a book says for one order (its natural price and size; leg prices that sum to a net).

Split from `sim.exchange.simulated` (which holds the matching logic) so each stays readable.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from core.orders import OrderSide, OrderStatus, Refusal, ReplaceOrder, SubmitOrder
from core.quotes import ChainQuotes, quote_flag, quote_flags

_BUY, _PENDING_NEW = OrderSide.BUY.value, OrderStatus.PENDING_NEW


class Book:
    """The latest quotes of one (symbol, expiry), with a column per (strike, right).

    An order reads its few legs as Python scalars (`leg_quotes`: `ndarray.item` and a scalar flag),
    far cheaper than converting or indexing the whole chain; the vectorized flags are made on first
    use by the resting single-leg check. Most snapshots of a chain are replaced before any order
    looks at them.
    """

    __slots__ = ("quotes", "columns", "_flags", "_arrays", "taken", "taken_ns", "version", "next_mid")

    def __init__(self, quotes: ChainQuotes, previous: Book | None = None, refill_per_s: float | None = None) -> None:
        self.quotes = quotes
        if previous is not None and same_grid(previous.quotes, quotes):
            self.columns = previous.columns
        else:
            rights = ["C" if c else "P" for c in np.asarray(quotes.is_call).tolist()]
            strikes = np.asarray(quotes.strikes, float).tolist()
            self.columns = {(k, r): i for i, (k, r) in enumerate(zip(strikes, rights))}
        self._flags: np.ndarray | None = None
        self._arrays = (np.asarray(quotes.bid, float), np.asarray(quotes.ask, float), np.asarray(quotes.bid_size),
                        np.asarray(quotes.ask_size))
        self.version = 0                  # moves whenever the size available changes (views made before are stale)
        self.taken: dict[tuple[int, bool], float] = {}   # (column, ask side) -> contracts taken, not yet refilled
        self.taken_ns = quotes.time_ns
        self.next_mid: np.ndarray | None = None      # the market's next snapshot's mids, when it says (NextMids)
        if previous is not None and previous.taken and previous.columns is self.columns and refill_per_s:
            self.taken, self.taken_ns = previous.taken, previous.taken_ns      # a level taken stays taken ...
            self.refill(quotes.time_ns, refill_per_s)                         # ... less what came back since

    def refill(self, now_ns: int, refill_per_s: float) -> None:
        """Bring back `refill_per_s` of each taken level's displayed size per second since the last update."""
        if not self.taken or now_ns <= self.taken_ns:
            return
        elapsed_s = (now_ns - self.taken_ns) / 1e9
        self.taken_ns = now_ns
        _, _, bid_size, ask_size = self._arrays
        refilled = {}
        for (column, ask_side), contracts in self.taken.items():
            size = (ask_size if ask_side else bid_size).item(column)
            left = contracts - refill_per_s * elapsed_s * size
            if left > 1e-9:
                refilled[(column, ask_side)] = left
        self.taken = refilled
        self.version += 1

    def take(self, columns: list[int], ratios: list[int], sign: int, quantity: int, now_ns: int,
             refill_per_s: float) -> None:
        """A marketable order took `quantity` units: each leg's contracts leave the side it traded against."""
        self.refill(now_ns, refill_per_s)
        taken = dict(self.taken)
        bids = self._arrays[0]
        for column, ratio in zip(columns, ratios):
            key = (column, ratio * sign > 0 or bids.item(column) <= 0)    # a zero-bid leg goes at the ask's size
            taken[key] = taken.get(key, 0.0) + quantity * abs(ratio)
        self.taken, self.taken_ns = taken, max(self.taken_ns, now_ns)
        self.version += 1

    def mid_move(self, columns: list[int], ratios: list[int]) -> float | None:
        """How far the net mid of these legs (by ratio) moves to the market's next snapshot, per share; None when
        the market did not say."""
        if self.next_mid is None:
            return None
        bids, asks = self._arrays[0], self._arrays[1]
        return sum(ratio * (self.next_mid.item(column) - 0.5 * (bids.item(column) + asks.item(column)))
                   for column, ratio in zip(columns, ratios))

    def ladder(self, column: int, ask_side: bool) -> tuple[int, float]:
        """(displayed size, contracts taken and not yet refilled) of one side of one column: the depth model
        (`FillModel.depth_levels`) stacks levels of the displayed size behind the touch and eats them top first."""
        size = self._arrays[3 if ask_side else 2].item(column)
        return int(size), self.taken.get((column, ask_side), 0.0)

    def tick(self, price: float) -> float:
        return self.quotes.tick(price)

    def sizes(self) -> tuple[np.ndarray, np.ndarray]:
        """Bid and ask size still available at each column (displayed less taken, whole contracts)."""
        _, _, bid_size, ask_size = self._arrays
        if not self.taken:
            return bid_size, ask_size
        bid_left, ask_left = bid_size.copy(), ask_size.copy()
        for (column, ask_side), contracts in self.taken.items():
            side = ask_left if ask_side else bid_left
            side[column] = max(side[column] - math.ceil(contracts - 1e-9), 0)
        return bid_left, ask_left

    @property
    def flags(self) -> np.ndarray:
        if self._flags is None:
            self._flags = quote_flags(self.quotes.bid, self.quotes.ask, self.quotes.time_ns, self.quotes.time_ns, 1)
        return self._flags

    def leg_quotes(self, column: int) -> tuple[float, float, int, int, int]:
        """(bid, ask, bid size, ask size, QuoteFlag) of one column, as Python scalars."""
        bids, asks, bid_sizes, ask_sizes = self._arrays
        bid, ask = bids.item(column), asks.item(column)
        bid_size, ask_size = int(bid_sizes.item(column)), int(ask_sizes.item(column))
        if self.taken:
            bid_size = max(bid_size - math.ceil(self.taken.get((column, False), 0.0) - 1e-9), 0)
            ask_size = max(ask_size - math.ceil(self.taken.get((column, True), 0.0) - 1e-9), 0)
        return bid, ask, bid_size, ask_size, quote_flag(bid, ask)


def same_grid(a: ChainQuotes, b: ChainQuotes) -> bool:
    return (a.strikes is b.strikes and a.is_call is b.is_call) or (
        np.array_equal(a.strikes, b.strikes) and np.array_equal(a.is_call, b.is_call))


class WorkingOrder:
    """A working order. `book` and `columns` are re-resolved from `book_key`/`contract_keys` on every
    quote update, since each update replaces the book."""

    __slots__ = (
        "request",
        "book_key",
        "contract_keys",
        "book",
        "columns",
        "ratios",
        "sign",
        "limit",
        "quantity",
        "filled",
        "filled_value",
        "status",
        "hazard_left",
        "pending_fill",
        "is_complex",
        "single",
        "checked_ns",
        "queued_cancels",
        "view",
        "rate_per_s",
        "armed",
        "ahead",
    )

    def __init__(self, request: SubmitOrder, book_key: tuple[str, str], contract_keys: list[tuple[float, str]],
                 book: Book, columns: list[int], ratios: list[int]) -> None:
        self.request = request
        self.book_key = book_key
        self.contract_keys = contract_keys
        self.book = book
        self.is_complex = len(columns) > 1
        self.columns = columns            # lists: an order has few legs, scalar reads beat numpy indexing
        self.single = columns[0]
        self.ratios = ratios
        self.sign = 1 if request.side == _BUY else -1
        self.limit = float(request.limit_price)
        self.quantity = int(request.quantity)
        self.filled = 0
        self.filled_value = 0.0           # sum of quantity x net price per share over the fills delivered
        self.status = _PENDING_NEW
        self.hazard_left = 0.0
        self.pending_fill = 0
        self.checked_ns = 0
        self.queued_cancels: list[ReplaceOrder | None] = []
        self.view: BookView | None = None    # complex orders: what the current book says for it
        self.rate_per_s = 0.0                # complex orders: the hazard rate in force since checked_ns
        self.armed = 0                       # complex orders: the hazard timer that is still valid
        self.ahead = 0.0                     # complex orders: contracts queued ahead at its price (queue model)

    @property
    def average_price(self) -> float:
        """Net price per share over the fills delivered (0.0 before any)."""
        return round(self.filled_value / self.filled, 6) if self.filled else 0.0

    @property
    def leaves(self) -> int:
        return self.quantity - self.filled - self.pending_fill


class BookView(NamedTuple):
    """What one book says for one complex order (SimulatedExchange._book_view): valid while `book` and
    `columns` are the order's; the prices are NaN when `problem` says why the order cannot trade."""

    book: Book
    columns: Any
    problem: Refusal | None
    natural: float
    half_width: float
    touch: Any
    units: int
    version: int = 0                 # the book's version the view was made at
    own_price: float = math.nan      # the net price displayed on the order's own side (a buy: the legs' bid side)
    own_units: int = 0               # units displayed there (the queue an order joining that price stands behind)


def natural_view(order: WorkingOrder, legs: list[tuple] | None = None) -> tuple[float, float, tuple[float, ...], int]:
    """(natural net price, combined half-width, per-leg touch prices, units available) for this side.

    Scalar Python over the legs (`Book.leg_quotes`, or `legs` when the caller has read them): an
    order has one to four legs, where numpy's per-call overhead would cost more than the arithmetic."""
    if legs is None:
        legs = [order.book.leg_quotes(column) for column in order.columns]
    if not order.is_complex:
        bid, ask, bid_size, ask_size, _ = legs[0]
        buying = order.sign > 0
        touch = ask if buying else bid
        return touch, 0.5 * (ask - bid), (touch,), ask_size if buying else bid_size
    natural = width = 0.0
    touch, units = [], None
    for (bid, ask, bid_size, ask_size, _), ratio in zip(legs, order.ratios):
        buys_leg = ratio * order.sign > 0
        price = ask if buys_leg else bid
        touch.append(price)
        natural += ratio * price
        width += abs(ratio) * (ask - bid)
        size = ask_size if buys_leg or bid <= 0 else bid_size     # zero-bid legs go for 0
        lots = size // abs(ratio)
        units = lots if units is None or lots < units else units
    return natural, 0.5 * width, tuple(touch), int(units)


def leg_prices(touch: tuple[float, ...], ratios: list[int], net_price: float) -> tuple[float, ...]:
    """Leg prices that sum (by ratio) to `net_price`: the touch shifted evenly per contract."""
    at_touch, units = 0, 0
    for r, p in zip(ratios, touch):
        at_touch += r * p
        units += abs(r)
    shift = (net_price - at_touch) / units
    return tuple([round(p + (shift if r > 0 else -shift), 6) for r, p in zip(ratios, touch)])


def own_side(order: WorkingOrder, legs: list[tuple]) -> tuple[float, int]:
    """(net price, units) displayed on the order's own side of the legs' markets: where a buy joins the bids (a
    bought leg's bid, a sold leg's ask), the price level an order at that limit queues at."""
    if not order.is_complex:
        bid, ask, bid_size, ask_size, _ = legs[0]
        return (bid, bid_size) if order.sign > 0 else (ask, ask_size)
    price, units = 0.0, None
    for (bid, ask, bid_size, ask_size, _), ratio in zip(legs, order.ratios):
        buys_leg = ratio * order.sign > 0
        price += ratio * (bid if buys_leg else ask)
        lots = (bid_size if buys_leg else ask_size) // abs(ratio)
        units = lots if units is None or lots < units else units
    return price, int(units or 0)
