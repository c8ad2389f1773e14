"""The simulated exchange, a component driven by its runtime's clock.

Takes `SubmitOrder`, `CancelOrder`, `ReplaceOrder` and `ChainQuotes`; sends order events
(core.orders) to each order's owner. What it models, all seeded (same seed, same fills):

- latency: submit->ack, ack->fill and cancel delays drawn log-normally (ExchangeConfig.latency);
- marketable orders fill at the touch (the legs' natural price for complex orders) up to the
  displayed size; the rest rests (a partial fill);
- resting orders fill by the hazard model of `config.exchange.FillModel`, checked every
  `check_interval_ms` and on every quote update, in geometric lots (partial fills);
- complex orders fill against the legs' combined NBBO in a thinner book (wider natural, lower rate);
- cancel and replace take effect after the cancel latency, so a fill can win the race: the
  cancel is then refused with "too late";
- rejects with a reason: bad quantity or price, price off tick, unknown or expired contract,
  market closed, and crossed, stale or missing quotes on a leg.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Hashable

import numpy as np

from actors.component import Component
from config.exchange import ExchangeConfig
from core.orders import (CancelOrder, CancelRejected, OrderAccepted, OrderCancelled, OrderFilled, OrderRejected,
                         OrderReplaced, OrderStatus, ReplaceOrder, Side, SubmitOrder)
from core.quotes import QUOTE_REASONS, ChainQuotes, QuoteFlag, quote_flags


class _Book:
    """The latest quotes of one (symbol, expiry), with a column per (strike, right)."""

    __slots__ = ("quotes", "columns", "flags")

    def __init__(self, quotes: ChainQuotes) -> None:
        self.quotes = quotes
        rights = np.where(quotes.is_call, "C", "P")
        self.columns = {(float(k), r): i for i, (k, r) in enumerate(zip(quotes.strikes, rights))}
        self.flags = quote_flags(quotes.bid, quotes.ask, quotes.time_ns, quotes.time_ns, 1)


class _Order:
    """A working order. `book` and `columns` are re-resolved from `book_key`/`contract_keys` on every
    quote update, since each update replaces the book."""

    __slots__ = ("request", "book_key", "contract_keys", "book", "columns", "ratios", "sign", "limit", "quantity",
                 "filled", "status", "hazard_left", "pending_fill", "is_complex")

    def __init__(self, request: SubmitOrder, book_key: tuple[str, str], contract_keys: list[tuple[float, str]],
                 book: _Book, columns: list[int], ratios: np.ndarray) -> None:
        self.request = request
        self.book_key = book_key
        self.contract_keys = contract_keys
        self.book = book
        self.columns = np.array(columns, dtype=np.intp)
        self.ratios = ratios
        self.sign = 1 if request.side == Side.BUY.value else -1
        self.limit = float(request.limit_price)
        self.quantity = int(request.quantity)
        self.filled = 0
        self.status = OrderStatus.PENDING_NEW
        self.hazard_left = 0.0
        self.pending_fill = 0
        self.is_complex = len(columns) > 1

    @property
    def leaves(self) -> int:
        return self.quantity - self.filled - self.pending_fill


class SimulatedExchange(Component):
    """See the module docstring. `is_open(time_ns)` says whether the market is open (default: always)."""

    def __init__(self, config: ExchangeConfig | None = None, name: str = "exchange",
                 is_open: Callable[[int], bool] | None = None) -> None:
        super().__init__(name)
        self.config = config or ExchangeConfig()
        self.is_open = is_open
        self.rng = np.random.default_rng(self.config.seed)
        self.books: dict[tuple[str, str], _Book] = {}
        self.orders: dict[str, _Order] = {}
        self.resting: dict[str, _Order] = {}
        self._ticking = False
        self._last_tick_ns = 0
        self.counts = {"submitted": 0, "rejected": 0, "filled_events": 0, "cancelled": 0, "cancel_rejected": 0,
                       "replaced": 0, "quote_updates": 0}

    # ------------------------------------------------------------------ messages

    def on_message(self, message: Any, now_ns: int) -> None:
        handler = self._HANDLERS.get(type(message))
        if handler is None:
            raise TypeError(f"{self.name} cannot handle {type(message).__name__}")
        handler(self, message, now_ns)

    def _on_quotes(self, quotes: ChainQuotes, now_ns: int) -> None:
        self.counts["quote_updates"] += 1
        key = (quotes.symbol, quotes.expiry)
        previous = self.books.get(key)
        book = _Book(quotes)
        same_grid = previous is not None and previous.columns == book.columns
        self.books[key] = book
        for order in self.resting.values():
            if order.book_key == key:
                self._rebind(order, book, same_grid)
        if self.resting:
            self._check_resting(now_ns)

    @staticmethod
    def _rebind(order: _Order, book: _Book, same_grid: bool) -> None:
        order.book = book
        if not same_grid:
            columns = [book.columns.get(key) for key in order.contract_keys]
            order.columns = None if None in columns else np.array(columns, dtype=np.intp)

    def _on_submit(self, request: SubmitOrder, now_ns: int) -> None:
        self.counts["submitted"] += 1
        if request.client_order_id in self.orders:
            self._reply(request.owner, OrderRejected(request.client_order_id, "duplicate client order id", now_ns))
            self.counts["rejected"] += 1
            return
        order_or_reason = self._validate(request, now_ns)
        if isinstance(order_or_reason, str):
            self._schedule_latency("ack", ("reject", request.client_order_id, request.owner, order_or_reason))
            self.orders[request.client_order_id] = None   # the id is taken even when rejected
            return
        self.orders[request.client_order_id] = order_or_reason
        self._schedule_latency("ack", ("ack", request.client_order_id))

    def _on_cancel(self, request: CancelOrder, now_ns: int) -> None:
        order = self.orders.get(request.client_order_id)
        if order is None:
            self._cancel_rejected(request.owner, request.client_order_id, "unknown order", now_ns)
        else:
            self._schedule_latency("cancel", ("cancel", request.client_order_id, None))

    def _on_replace(self, request: ReplaceOrder, now_ns: int) -> None:
        order = self.orders.get(request.client_order_id)
        reason = None if order is None else self._price_problem(order, request.limit_price)
        if order is None or reason or request.quantity < 0:
            self._cancel_rejected(request.owner, request.client_order_id,
                                  "unknown order" if order is None else (reason or "quantity must be >= 0"), now_ns)
            return
        self._schedule_latency("cancel", ("cancel", request.client_order_id, request))

    _HANDLERS = {ChainQuotes: _on_quotes, SubmitOrder: _on_submit, CancelOrder: _on_cancel,
                 ReplaceOrder: _on_replace}

    # ------------------------------------------------------------------ timers

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        kind = tag[0]
        if kind == "tick":
            self._ticking = False
            self._check_resting(now_ns)
        elif kind == "ack":
            self._accept(self.orders[tag[1]], now_ns)
        elif kind == "fill":
            self._deliver_fill(self.orders[tag[1]], tag[2], tag[3], tag[4], now_ns)
        elif kind == "cancel":
            self._apply_cancel(tag[1], tag[2], now_ns)
        elif kind == "reject":
            self.counts["rejected"] += 1
            self._reply(tag[2], OrderRejected(tag[1], tag[3], now_ns))

    def _schedule_latency(self, which: str, tag: tuple) -> None:
        latency = self.config.latency
        median_us = {"ack": latency.ack_median_us, "fill": latency.fill_median_us,
                     "cancel": latency.cancel_median_us}[which]
        delay_us = median_us * math.exp(latency.sigma * self.rng.standard_normal())
        self.port.schedule(int(delay_us * 1000), tag)

    # ------------------------------------------------------------------ validation

    def _validate(self, request: SubmitOrder, now_ns: int) -> _Order | str:
        if not isinstance(request.quantity, int) or isinstance(request.quantity, bool) or request.quantity <= 0:
            return f"quantity must be an integer > 0, got {request.quantity!r}"
        if request.side not in (Side.BUY.value, Side.SELL.value):
            return f"side must be BUY or SELL, got {request.side!r}"
        if not request.legs:
            return "an order needs at least one leg"
        if self.is_open is not None and not self.is_open(now_ns):
            return "market closed"
        located = self._locate_legs(request, now_ns)
        if isinstance(located, str):
            return located
        book_key, contract_keys, book, columns, ratios = located
        order = _Order(request, book_key, contract_keys, book, columns, ratios)
        return self._price_problem(order, request.limit_price) or order

    def _locate_legs(self, request: SubmitOrder, now_ns: int):
        books = {(leg.contract.symbol, leg.contract.expiry) for leg in request.legs}
        if len(books) != 1:
            return "all legs must be on one symbol and expiry"
        book_key = books.pop()
        book = self.books.get(book_key)
        if book is None:
            return f"unknown contract {request.legs[0].contract}"
        if now_ns >= book.quotes.expiry_ns:
            return f"expired contract {request.legs[0].contract.expiry}"
        columns, ratios, keys = [], [], []
        for leg in request.legs:
            key = (float(leg.contract.strike), leg.contract.right)
            column = book.columns.get(key)
            if column is None or not isinstance(leg.ratio, int) or isinstance(leg.ratio, bool) or leg.ratio == 0:
                return f"unknown contract {leg.contract}" if column is None else f"bad ratio {leg.ratio!r}"
            columns.append(column)
            ratios.append(leg.ratio)
            keys.append(key)
        if len(set(keys)) != len(keys):
            return "a contract appears in two legs"
        return book_key, keys, book, columns, np.array(ratios, dtype=np.float64)

    def _price_problem(self, order: _Order, limit_price: float) -> str | None:
        if not isinstance(limit_price, (int, float)) or not math.isfinite(limit_price):
            return f"limit price must be a finite number, got {limit_price!r}"
        if not order.is_complex and limit_price <= 0:
            return "limit price must be > 0"
        tick = self.config.complex_price_tick if order.is_complex else self._tick(order.book, abs(limit_price))
        if abs(limit_price / tick - round(limit_price / tick)) > 1e-6:
            return f"price {limit_price} is off the {tick} tick"
        return None

    @staticmethod
    def _tick(book: _Book, price: float) -> float:
        return book.quotes.tick_below_3 if price < 3.0 else book.quotes.tick_from_3

    def _quote_problem(self, order: _Order, now_ns: int) -> str | None:
        book = order.book
        if order.columns is None:
            return QUOTE_REASONS[QuoteFlag.MISSING]
        flags = book.flags[order.columns]
        if now_ns - book.quotes.time_ns > self.config.max_quote_age_ms * 1_000_000:
            return QUOTE_REASONS[QuoteFlag.STALE]
        selling_legs = (order.ratios * order.sign) < 0
        bad = (flags != QuoteFlag.OK) & ~((flags == QuoteFlag.ZERO_BID) & ~selling_legs)
        return QUOTE_REASONS[QuoteFlag(int(flags[bad][0]))] if bad.any() else None

    # ------------------------------------------------------------------ matching

    def _accept(self, order: _Order, now_ns: int) -> None:
        current = self.books[order.book_key]
        if current is not order.book:
            self._rebind(order, current, current.columns == order.book.columns)
        problem = self._quote_problem(order, now_ns)
        if problem:
            order.status = OrderStatus.REJECTED
            self.counts["rejected"] += 1
            self._reply(order.request.owner, OrderRejected(order.request.client_order_id, problem, now_ns))
            return
        order.status = OrderStatus.ACCEPTED
        self._reply(order.request.owner, OrderAccepted(order.request.client_order_id, now_ns))
        self._match_marketable(order, now_ns)
        if order.leaves > 0:
            self._rest(order, now_ns)

    def _natural(self, order: _Order) -> tuple[float, float, np.ndarray, int]:
        """(natural net price, combined half-width, per-leg touch prices, units available) for this side."""
        quotes = order.book.quotes
        bid, ask = quotes.bid[order.columns], quotes.ask[order.columns]
        buys_leg = order.ratios * order.sign > 0
        touch = np.where(buys_leg, ask, bid)
        natural = float(np.dot(order.ratios, touch))
        half_width = 0.5 * float(np.dot(np.abs(order.ratios), ask - bid))
        if order.is_complex:
            natural += order.sign * 2.0 * half_width * self.config.fills.complex_extra_width_fraction
        size = np.where(buys_leg, quotes.ask_size[order.columns], quotes.bid_size[order.columns])
        units = int(np.min(size // np.abs(order.ratios)))
        return natural, half_width, touch, units

    def _match_marketable(self, order: _Order, now_ns: int) -> None:
        natural, _, touch, units = self._natural(order)
        if order.sign * (order.limit - natural) < -1e-9 or units <= 0:
            return
        self._commit_fill(order, min(order.leaves, units), natural, self._leg_prices(touch, order.ratios, natural))

    def _rest(self, order: _Order, now_ns: int) -> None:
        order.hazard_left = float(self.rng.exponential())
        self.resting[order.request.client_order_id] = order
        self._ensure_ticking(now_ns)

    def _ensure_ticking(self, now_ns: int) -> None:
        if not self._ticking and self.resting:
            self._ticking = True
            self._last_tick_ns = now_ns
            self.port.schedule(self.config.fills.check_interval_ms * 1_000_000, ("tick",))

    def _check_resting(self, now_ns: int) -> None:
        elapsed_s = max(now_ns - self._last_tick_ns, 0) / 1e9
        self._last_tick_ns = now_ns
        fills = self.config.fills
        for coid, order in list(self.resting.items()):
            if order.leaves <= 0 or order.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
                self.resting.pop(coid, None)
                continue
            if self._quote_problem(order, now_ns):
                continue
            natural, half_width, touch, units = self._natural(order)
            if order.sign * (order.limit - natural) >= -1e-9 and units > 0:
                self._commit_fill(order, min(order.leaves, units), order.limit,
                                  self._leg_prices(touch, order.ratios, order.limit))
                continue
            mid = natural - order.sign * half_width * (1 + 2 * fills.complex_extra_width_fraction * order.is_complex)
            aggressiveness = order.sign * (order.limit - mid) / max(half_width, 1e-9)
            rate = fills.rate_at_mid_per_s * math.exp(fills.steepness * min(aggressiveness, 1.0))
            order.hazard_left -= rate * (fills.complex_rate_scale if order.is_complex else 1.0) * elapsed_s
            if order.hazard_left <= 0:
                lot = min(order.leaves, int(self.rng.geometric(1.0 / fills.mean_lot)))
                self._commit_fill(order, lot, order.limit, self._leg_prices(touch, order.ratios, order.limit))
                order.hazard_left = float(self.rng.exponential())
        self._ensure_ticking(now_ns)

    @staticmethod
    def _leg_prices(touch: np.ndarray, ratios: np.ndarray, net_price: float) -> tuple[float, ...]:
        """Leg prices that sum (by ratio) to `net_price`: the touch shifted evenly per contract."""
        shift = (net_price - float(np.dot(ratios, touch))) / float(np.sum(np.abs(ratios)))
        return tuple(round(float(p), 6) for p in touch + shift * np.sign(ratios))

    def _commit_fill(self, order: _Order, quantity: int, price: float, leg_prices: tuple[float, ...]) -> None:
        """The fill is decided now and reported after the fill latency: a cancel arriving meanwhile loses."""
        order.pending_fill += quantity
        self._schedule_latency("fill", ("fill", order.request.client_order_id, quantity, price, leg_prices))

    def _deliver_fill(self, order: _Order, quantity: int, price: float, leg_prices: tuple, now_ns: int) -> None:
        order.pending_fill -= quantity
        order.filled += quantity
        done = order.filled >= order.quantity
        if order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
            order.status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        if done:
            self.resting.pop(order.request.client_order_id, None)
        self.counts["filled_events"] += 1
        self._reply(order.request.owner, OrderFilled(order.request.client_order_id, quantity, round(price, 6),
                                                     leg_prices, order.filled, max(order.leaves, 0), now_ns))

    # ------------------------------------------------------------------ cancel / replace

    def _apply_cancel(self, coid: str, replace: ReplaceOrder | None, now_ns: int) -> None:
        order = self.orders[coid]
        owner = replace.owner if replace else (order.request.owner if order else "")
        if order is None or order.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED) or order.leaves <= 0:
            status = "rejected" if order is None else order.status.value.lower()
            self._cancel_rejected(owner, coid, f"too late: order is {status}", now_ns)
            return
        if replace is None:
            cancelled = order.leaves
            order.quantity -= cancelled
            order.status = OrderStatus.CANCELLED
            self.resting.pop(coid, None)
            self.counts["cancelled"] += 1
            self._reply(owner, OrderCancelled(coid, cancelled, now_ns))
            return
        order.limit = float(replace.limit_price)
        if replace.quantity:
            order.quantity = max(order.filled + order.pending_fill, order.filled + replace.quantity)
        self.counts["replaced"] += 1
        self._reply(owner, OrderReplaced(coid, order.limit, order.leaves, now_ns))
        self._match_marketable(order, now_ns)

    def _cancel_rejected(self, owner: str, coid: str, reason: str, now_ns: int) -> None:
        self.counts["cancel_rejected"] += 1
        self._reply(owner, CancelRejected(coid, reason, now_ns))

    def _reply(self, owner: str, event: Any) -> None:
        self.port.send(owner, event)

    def snapshot(self) -> dict[str, Any]:
        working = sum(1 for o in self.orders.values() if o is not None and o.status in
                      (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_NEW))
        return {**self.counts, "working": working, "books": len(self.books)}
