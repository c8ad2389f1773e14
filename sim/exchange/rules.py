"""The simulated exchange's order checks: what it refuses, with the reason it gives.

Split from `sim.exchange.simulated` (the matching): a new order is refused for a bad quantity, side or
price, a price off the tick, legs on more than one book, an unknown or expired contract, a
contract in two legs, or the market being closed; at the ack, for crossed, stale or missing
quotes on a leg, a spread bought at 0.00 while its natural is above zero, and a limit beyond the price
collar (`limit_problem`). Each check returns a `core.orders.Refusal` (a bounded code and the reason as
text), or None (an order) when it passes.
"""

from __future__ import annotations

import math
from typing import Callable

from core.orders import UNDERLYING_RIGHT, OrderSide, Refusal, SubmitOrder
from core.quotes import QUOTE_CODES, QUOTE_REASONS, QuoteFlag
from sim.exchange.book import Book, WorkingOrder
from sim.exchange.underlying import SHARE_TICK, UnderlyingQuotes, is_underlying

_OK, _ZERO_BID = int(QuoteFlag.OK), int(QuoteFlag.ZERO_BID)
_SIDES = (OrderSide.BUY.value, OrderSide.SELL.value)
_QUOTE_REFUSALS = {int(flag): Refusal(QUOTE_CODES[flag], reason) for flag, reason in QUOTE_REASONS.items()}


def validate_order(request: SubmitOrder, now_ns: int, books: dict[tuple[str, str], Book],
                   underlyings: UnderlyingQuotes, complex_tick: float,
                   is_open: Callable[[int], bool] | None) -> WorkingOrder | Refusal:
    """The working order for an acceptable request, else why it is refused."""
    if not isinstance(request.quantity, int) or isinstance(request.quantity, bool) or request.quantity <= 0:
        return Refusal("bad_quantity", f"quantity must be an integer > 0, got {request.quantity!r}")
    if request.side not in _SIDES:
        return Refusal("bad_side", f"side must be BUY or SELL, got {request.side!r}")
    if not request.legs:
        return Refusal("bad_legs", "an order needs at least one leg")
    if is_open is not None and not is_open(now_ns):
        return Refusal("market_closed", "market closed")
    if is_underlying(request):
        problem = underlyings.leg_problem(request)
        if problem:
            return problem
        order = WorkingOrder(request, (request.legs[0].contract.symbol, ""), [(0.0, UNDERLYING_RIGHT)], None,
                             [0], [1])               # no book: the exchange sends it to the underlying venue
        return price_problem(order, request.limit_price, complex_tick) or order
    located = _locate_legs(request, now_ns, books)
    if isinstance(located, Refusal):
        return located
    book_key, contract_keys, book, columns, ratios = located
    order = WorkingOrder(request, book_key, contract_keys, book, columns, ratios)
    return price_problem(order, request.limit_price, complex_tick) or order


def _locate_legs(request: SubmitOrder, now_ns: int, books: dict[tuple[str, str], Book]):
    """(book key, contract keys, book, columns, ratios) of the legs, or why they cannot be traded."""
    legs = request.legs
    symbol, expiry = legs[0].contract[:2]
    book_key = (symbol, expiry)
    book = books.get(book_key)
    columns_of = None if book is None else book.columns
    columns, ratios, keys = [], [], []
    for contract, ratio in legs:
        if contract.expiry != expiry or contract.symbol != symbol:
            return Refusal("bad_legs", "all legs must be on one symbol and expiry")
        if columns_of is None:
            continue                   # only the one-book check applies; "unknown contract" follows
        key = (float(contract.strike), contract.right)
        column = columns_of.get(key)
        if column is None:
            return Refusal("unknown_contract", f"unknown contract {contract}")
        if type(ratio) is not int or ratio == 0:
            return Refusal("bad_legs", f"bad ratio {ratio!r}")
        columns.append(column)
        ratios.append(ratio)
        keys.append(key)
    if book is None:
        return Refusal("unknown_contract", f"unknown contract {legs[0].contract}")
    if now_ns >= book.quotes.expiry_ns:
        return Refusal("expired_contract", f"expired contract {expiry}")
    if len(keys) > 1 and len(set(keys)) != len(keys):
        return Refusal("bad_legs", "a contract appears in two legs")
    if len(ratios) == 1 and ratios[0] != 1:
        return Refusal("bad_legs", f"a single-leg order has ratio 1 (sell with side SELL), got {ratios[0]}")
    return book_key, keys, book, columns, ratios


def price_problem(order: WorkingOrder, limit_price: float, complex_tick: float) -> Refusal | None:
    """Why `limit_price` cannot be the order's limit (not finite, not > 0 on one leg, off the tick), or None."""
    if not isinstance(limit_price, (int, float)) or not math.isfinite(limit_price):
        return Refusal("bad_price", f"limit price must be a finite number, got {limit_price!r}")
    if not order.is_complex and limit_price <= 0:
        return Refusal("bad_price", "limit price must be > 0")
    if order.book is None:
        tick = SHARE_TICK
    elif order.is_complex:
        tick = complex_tick
    else:
        tick = order.book.quotes.tick(limit_price)
    steps = limit_price / tick
    if abs(steps - round(steps)) > 1e-6:
        return Refusal("off_tick", f"price {limit_price} is off the {tick} tick")
    return None


def quote_problem(order: WorkingOrder, now_ns: int, stale_at_ns: int,
                  legs: list[tuple] | None = None) -> Refusal | None:
    """Why the order's legs cannot trade on its book's quotes now (missing, stale, crossed...), or None.
    A single leg bought may have a zero bid; a package may sell a leg bid at zero. `legs`: the
    legs' `Book.leg_quotes`, when the caller has read them already."""
    book = order.book
    if order.columns is None:
        return _QUOTE_REFUSALS[QuoteFlag.MISSING]
    if now_ns > stale_at_ns:
        return _QUOTE_REFUSALS[QuoteFlag.STALE]
    if legs is None:
        legs = [book.leg_quotes(column) for column in order.columns]
    if not order.is_complex:
        flag = legs[0][4]
        if flag == _OK or (flag == _ZERO_BID and order.sign > 0):
            return None
        return _QUOTE_REFUSALS[flag]
    for leg in legs:
        flag = leg[4]
        if flag != _OK and flag != _ZERO_BID:
            return _QUOTE_REFUSALS[flag]
    return None


def limit_problem(order: WorkingOrder, limit_price: float, view, config) -> Refusal | None:
    """Why `limit_price` cannot trade against the order's quotes now (`view`: its BookView, free of problems),
    or None: a spread bought at 0.00 while its natural is above zero (no seller gives a package of value away;
    selling one for nothing is the seller's choice), or a limit further through the far touch than the price
    collar (`ExchangeConfig.limit_collar_per_share` / `_fraction`)."""
    if order.is_complex and order.sign > 0 and abs(limit_price) < 1e-9 and view.natural > 0:
        return Refusal("bad_price", "a spread is not bought at 0.00 while its natural is above zero")
    far_touch = view.natural
    collar = max(config.limit_collar_per_share, config.limit_collar_fraction * abs(far_touch))
    through = order.sign * (limit_price - far_touch)
    if through > collar + 1e-9:
        return Refusal("price_collar", f"limit {limit_price} is {through:.2f} through the far touch {far_touch:.2f} "
                                       f"(collar {collar:.2f})")
    return None
