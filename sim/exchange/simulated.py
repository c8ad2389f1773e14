"""The simulated exchange, a component driven by its runtime's clock.

Takes `SubmitOrder`, `CancelOrder`, `ReplaceOrder` and `ChainQuotes`; sends order events
(core.orders) to each order's owner. What it models, all seeded (same seed, same fills):

- latency: submit->ack, ack->fill and cancel delays drawn log-normally (ExchangeConfig.latency),
  each from its own seeded stream (the runtime's per-route samplers);
- marketable orders fill at the touch (the legs' natural price for complex orders) up to the
  displayed size, then one tick worse per level behind it up to `depth_levels` (size impact); the rest rests
  (a partial fill);
- resting orders fill by the hazard model of `config.exchange.FillModel`, in geometric lots
  (partial fills), after the queue ahead of them at their price is spent, and adversely selected (more often
  just before the mid moves against them, when the market says where it goes next: `NextMids`); a complex
  order's hazard is spent in continuous time at the rate its limit and
  the current quotes give, with a timer at the exact time it is used up (re-armed on every quote
  update and replace); single-leg orders are checked together every `check_interval_ms`;
- complex orders fill against the legs' combined NBBO: at the legs' natural they trade at once
  (legging into the leg markets, up to the legs' displayed size); resting inside it they see a
  thinner book - a wider effective spread and a lower rate, thinner again per leg beyond two;
- cancel and replace take effect after the cancel latency, so a fill can win the race: the
  cancel is then refused with "too late";
- rejects with a reason (`sim.exchange.rules`): bad quantity or price, price off tick, unknown or
  expired contract, market closed, and crossed, stale or missing quotes on a leg;
- orders for the underlying's shares (`core.orders.underlying_contract`, a delta hedge) trade on
  `sim.exchange.underlying`: at the chains' underlying price +- a half spread, immediate-or-cancel.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable, Hashable

import numpy as np

from actors import names
from actors.messages import NextMids
from actors.runtime.component import Component
from actors.runtime.latency import make_sampler
from config.exchange import ExchangeConfig
from config.runtime import LatencySpec
from core.orders import (
    ACTIVE_STATES,
    CancelOrder,
    CancelRejected,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    OrderStatus,
    OrderStatusReport,
    OrderStatusRequest,
    Refusal,
    ReplaceOrder,
    SubmitOrder,
)
from core.quotes import ChainQuotes, QuoteFlag
from sim.exchange.book import Book, BookView, WorkingOrder, leg_prices, natural_view, own_side
from sim.exchange.resting import RestingSingles
from sim.exchange.rules import limit_problem, price_problem, quote_problem, validate_order
from sim.exchange.underlying import UnderlyingQuotes

_LIVE = frozenset({OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})
_TOO_LATE = {status.name: f"too late: order is {status.name.lower()}" for status in OrderStatus}
# enum members as module constants: attribute access on an Enum class is slow on a path run per order event
_ACCEPTED, _PARTIALLY_FILLED, _FILLED = OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED
_PENDING_NEW, _CANCELLED, _REJECTED = OrderStatus.PENDING_NEW, OrderStatus.CANCELLED, OrderStatus.REJECTED
_TERMINAL = frozenset({_FILLED, _CANCELLED, _REJECTED})


class SimulatedExchange(Component):
    """See the module docstring. `is_open(time_ns)` says whether the market is open (default: always)."""

    def __init__(self, config: ExchangeConfig | None = None, name: str = names.EXCHANGE,
                 is_open: Callable[[int], bool] | None = None) -> None:
        super().__init__(name)
        self.config = config or ExchangeConfig()
        self.is_open = is_open
        self.rng = np.random.default_rng(self.config.seed)
        self._exponential_rng = np.random.default_rng([self.config.seed, 1])   # its own stream: blocks stay aligned
        self._exponentials: list[float] = []
        self._exponentials_at = 0
        self.books: dict[tuple[str, str], Book] = {}
        # client order id -> the WorkingOrder while it can still change; once finished with no fill in flight, a
        # (status value, filled, average price, owner) tuple (`_retire`), which an order refused at submit is
        # from the start
        self.orders: dict[str, WorkingOrder | tuple[str, int, float, str]] = {}
        self.resting: dict[str, WorkingOrder] = {}            # complex orders, checked one by one
        self.singles: dict[tuple[str, str], RestingSingles] = {}
        self._ticking = False
        self.underlyings = UnderlyingQuotes(self.config.underlying_half_spread_per_share,
                                            self.config.max_quote_age_ms * 1_000_000)
        latency = self.config.latency
        self._ack_delay, self._fill_delay, self._cancel_delay = (
            make_sampler(LatencySpec(distribution="lognormal", base_us=us, sigma=latency.sigma), self.config.seed,
                         f"{name}:{kind}")
            for kind, us in (("ack", latency.ack_median_us), ("fill", latency.fill_median_us),
                             ("cancel", latency.cancel_median_us)))
        self.counts = {"submitted": 0, "rejected": 0, "filled_events": 0, "cancelled": 0, "cancel_rejected": 0,
                       "replaced": 0, "quote_updates": 0, "order_events": 0, "forgotten": 0,
                       "fills_on_arrival": 0, "fills_moved_through": 0, "fills_hazard": 0}
        # fills_*: decided when an order arrived (or was replaced) marketable; while resting, because the quotes
        # moved through its price; while resting, by the hazard model (what queue and adverse selection act on)
        self._finished: deque[str] = deque()                  # retired ids, oldest first (max_finished_orders)
        self._next_mids: NextMids | None = None               # the market's latest word on its next snapshot

    # ------------------------------------------------------------------ messages

    def on_message(self, message: Any, now_ns: int) -> None:
        handler = self._HANDLERS.get(type(message))
        if handler is not _ON_QUOTES and handler is not _ON_NEXT_MIDS:
            self.counts["order_events"] += 1
        if handler is None:
            raise TypeError(f"{self.name} cannot handle {type(message).__name__}")
        handler(self, message, now_ns)

    def _on_quotes(self, quotes: ChainQuotes, now_ns: int) -> None:
        self.counts["quote_updates"] += 1
        self.underlyings.update(quotes)
        key = (quotes.symbol, quotes.expiry)
        previous = self.books.get(key)
        book = Book(quotes, previous, self.config.fills.displayed_refill_per_s)
        next_mids = self._next_mids
        if next_mids is not None and next_mids.time_ns > quotes.time_ns:
            mids = next_mids.mids.get(key)
            book.next_mid = mids if mids is not None and len(mids) == len(quotes.strikes) else None
        same_grid = previous is not None and previous.columns is book.columns
        self.books[key] = book
        for order in self.resting.values():
            if order.book_key == key:
                self._rebind(order, book, same_grid)
        singles = self.singles.get(key)
        if singles is not None and not same_grid:
            for coid in singles.remap_columns(lambda order: book.columns.get(order.contract_keys[0])):
                singles.remove(coid)
                self._rebind(self.orders[coid], book, False)
                self.resting[coid] = self.orders[coid]      # contract vanished: wait in the slow path
        if singles is not None and len(singles) and self.config.fills.queue_ahead_fraction > 0:
            self._requeue_singles(book, singles)
        self._check_resting(now_ns, key)

    def _on_next_mids(self, message: NextMids, now_ns: int) -> None:
        self._next_mids = message

    @staticmethod
    def _rebind(order: WorkingOrder, book: Book, same_grid: bool) -> None:
        order.book = book
        if not same_grid:
            columns = [book.columns.get(key) for key in order.contract_keys]
            order.columns = None if None in columns else columns
            order.single = columns[0]

    def _on_submit(self, request: SubmitOrder, now_ns: int) -> None:
        self.counts["submitted"] += 1
        if request.client_order_id in self.orders:
            self.port.send(request.owner, OrderRejected(request.client_order_id, "duplicate client order id", now_ns,
                                                        "duplicate"))
            self.counts["rejected"] += 1
            return
        order_or_refusal = validate_order(request, now_ns, self.books, self.underlyings,
                                          self.config.complex_price_tick, self.is_open)
        if isinstance(order_or_refusal, Refusal):
            self.port.schedule(self._ack_delay(), ("reject", request.client_order_id, request.owner, order_or_refusal))
            self.orders[request.client_order_id] = (_REJECTED.value, 0, 0.0, request.owner)   # the id stays taken
            self._remember_finished(request.client_order_id)
            return
        self.orders[request.client_order_id] = order_or_refusal
        self.port.schedule(self._ack_delay(), ("ack", request.client_order_id))

    def _on_cancel(self, request: CancelOrder, now_ns: int) -> None:
        order = self.orders.get(request.client_order_id)
        if order is None:
            self._cancel_rejected(request.owner, request.client_order_id, "unknown order", now_ns)
        else:
            self.port.schedule(self._cancel_delay(), ("cancel", request.client_order_id, None, request.owner))

    def _on_replace(self, request: ReplaceOrder, now_ns: int) -> None:
        order = self.orders.get(request.client_order_id)
        refusal = (None if order is None or type(order) is tuple
                   else price_problem(order, request.limit_price, self.config.complex_price_tick))
        if order is None or refusal or request.quantity < 0:
            self._cancel_rejected(request.owner, request.client_order_id, "unknown order" if order is None
                                  else (refusal.reason if refusal else "quantity must be >= 0"), now_ns)
            return
        self.port.schedule(self._cancel_delay(), ("cancel", request.client_order_id, request, request.owner))

    def _on_status(self, request: OrderStatusRequest, now_ns: int) -> None:
        order = self.orders.get(request.client_order_id)
        if order is None:
            report = OrderStatusReport(request.client_order_id, False, "", 0, 0, 0.0, now_ns)
        elif type(order) is tuple:
            status, filled, average_price, _ = order
            report = OrderStatusReport(request.client_order_id, True, status, filled, 0, average_price, now_ns)
        else:
            report = OrderStatusReport(request.client_order_id, True, order.status.value, order.filled,
                                       max(order.leaves, 0), order.average_price, now_ns)
        self.port.send(request.owner, report)

    _HANDLERS = {ChainQuotes: _on_quotes, SubmitOrder: _on_submit, CancelOrder: _on_cancel,
                 ReplaceOrder: _on_replace, OrderStatusRequest: _on_status, NextMids: _on_next_mids}

    # ------------------------------------------------------------------ timers

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        kind = tag[0]
        if kind == "ack":
            self.counts["order_events"] += 1
            self._accept(self.orders[tag[1]], now_ns)
        elif kind == "fill":
            self.counts["order_events"] += 1
            self._deliver_fill(self.orders[tag[1]], tag[2], tag[3], tag[4], now_ns)
        elif kind == "cancel":
            self.counts["order_events"] += 1
            self._apply_cancel(tag[1], tag[2], now_ns, tag[3])
        elif kind == "hazard":
            order = self.resting.get(tag[1])
            if order is not None and order.armed == tag[2]:
                self._check_one(order, now_ns)
        elif kind == "tick":
            self._ticking = False
            self._check_resting(now_ns)
            self._ensure_ticking(now_ns)
        elif kind == "reject":
            self.counts["order_events"] += 1
            self.counts["rejected"] += 1
            self.port.send(tag[2], OrderRejected(tag[1], tag[3].reason, now_ns, tag[3].code))

    def _exponential(self) -> float:
        """The next unit-mean exponential draw (a hazard budget), from a block drawn 1,024 at a time: a
        scalar draw from a numpy Generator costs more than the rest of resting an order."""
        if self._exponentials_at == len(self._exponentials):
            self._exponentials = self._exponential_rng.exponential(size=1024).tolist()
            self._exponentials_at = 0
        self._exponentials_at += 1
        return self._exponentials[self._exponentials_at - 1]

    # ------------------------------------------------------------------ matching

    def _accept(self, order: WorkingOrder, now_ns: int) -> None:
        if order.book is None:
            self._accept_shares(order, now_ns)
            return
        current = self.books[order.book_key]
        if current is not order.book:
            self._rebind(order, current, current.columns is order.book.columns)
        view = self._book_view(order, now_ns)               # the quotes at the ack, read once for every check below
        problem = view.problem or limit_problem(order, order.limit, view, self.config)
        if problem:
            self._reject_at_ack(order, problem, now_ns)
            return
        order.status = _ACCEPTED
        self.port.send(order.request.owner, OrderAccepted(order.request.client_order_id, now_ns))
        self._match_marketable(order, now_ns, view)
        if order.leaves > 0:
            self._rest(order, now_ns)
        self._apply_queued_cancels(order, now_ns)

    def _reject_at_ack(self, order: WorkingOrder, refusal: Refusal, now_ns: int) -> None:
        """The quotes at the ack refuse the order: say why, then refuse what was queued behind it."""
        order.status = _REJECTED
        self.counts["rejected"] += 1
        self._retire(order)
        self.port.send(order.request.owner, OrderRejected(order.request.client_order_id, refusal.reason, now_ns,
                                                          refusal.code))
        self._apply_queued_cancels(order, now_ns)

    def _apply_queued_cancels(self, order: WorkingOrder, now_ns: int) -> None:
        """Cancels and replaces that arrived before the ack, in order, now that the order is live or done:
        each gets its answer (a refusal, "too late", when the order is done)."""
        queued, order.queued_cancels = order.queued_cancels, []
        for replace in queued:
            self._apply_cancel(order.request.client_order_id, replace, now_ns)

    def _accept_shares(self, order: WorkingOrder, now_ns: int) -> None:
        """An order for the underlying: fills whole at the touch when its limit reaches it, the rest is cancelled."""
        coid, owner = order.request.client_order_id, order.request.owner
        touch = self.underlyings.touch(order.book_key[0], order.sign > 0, now_ns)
        if isinstance(touch, Refusal):
            self._reject_at_ack(order, touch, now_ns)
            return
        order.status = _ACCEPTED
        self.port.send(owner, OrderAccepted(coid, now_ns))
        if order.sign * (order.limit - touch) >= -1e-9:
            self._commit_fill(order, order.leaves, touch, (touch,))
        else:
            self._cancel_leaves(order, owner, now_ns)
        self._apply_queued_cancels(order, now_ns)

    def _match_marketable(self, order: WorkingOrder, now_ns: int, view: BookView | None = None) -> None:
        """Fill what the order's limit reaches at the natural now (its view of the book: quotes checked, a spread
        never bought for nothing), up to the size left."""
        view = view if view is not None else self._book_view(order, now_ns)
        if view.problem:
            return
        natural, _, touch, units = view[3:7]
        if self.config.fills.depth_levels and order.leaves > units:
            walked = walk_depth(order, touch, self.config.fills.depth_levels, self.config.complex_price_tick)
            if walked is not None:
                quantity, price, prices = walked
                self.counts["fills_on_arrival"] += 1
                self._commit_fill(order, quantity, price, prices)
                self._take(order, quantity, now_ns)
            return
        if order.sign * (order.limit - natural) < -1e-9 or units <= 0:
            return
        prices = (natural,) if not order.is_complex else leg_prices(touch, order.ratios, natural)
        quantity = min(order.leaves, units)
        self.counts["fills_on_arrival"] += 1
        self._commit_fill(order, quantity, natural, prices)
        self._take(order, quantity, now_ns)

    def _rest(self, order: WorkingOrder, now_ns: int) -> None:
        order.hazard_left = self._exponential()
        order.checked_ns = now_ns
        coid = order.request.client_order_id
        if order.is_complex:
            order.ahead = self._queue_on_join(order)
            self.resting[coid] = order
            self._arm(order, now_ns)
        else:
            singles = self.singles.get(order.book_key)
            if singles is None:
                singles = self.singles[order.book_key] = RestingSingles()
            singles.add(coid, order, order.single, order.sign, order.limit, order.hazard_left, now_ns,
                        self._queue_on_join(order))
        self._ensure_ticking(now_ns)

    def _queue_on_join(self, order: WorkingOrder) -> float:
        """Contracts (units) ahead of an order that starts resting at its limit: `queue_ahead_fraction` of the size
        displayed at its price when it joins the displayed price of its side or stands behind it; none when it
        improves on it."""
        fraction = self.config.fills.queue_ahead_fraction
        if fraction <= 0 or order.columns is None or order.book is None:
            return 0.0
        view = order.view
        if view is not None and view.book is order.book and view.columns is order.columns and not view.problem:
            price, units = view.own_price, view.own_units        # a take since does not touch the order's own side
        else:
            price, units = own_side(order, [order.book.leg_quotes(column) for column in order.columns])
        return fraction * units if order.sign * (order.limit - price) <= 1e-9 else 0.0

    @staticmethod
    def _requeue_singles(book: Book, singles: RestingSingles) -> None:
        """A new snapshot: the queue ahead of each resting single-leg order shrinks to what is displayed at its
        price (size cancelled ahead of it; new size joins behind) and is gone where its price is now the best."""
        columns, sign, limit = singles.column, singles.sign, singles.limit
        bid_size, ask_size = book.sizes()
        buying = sign > 0
        own_price = np.where(buying, book.quotes.bid[columns], book.quotes.ask[columns])
        own_size = np.where(buying, bid_size[columns], ask_size[columns])
        improves = sign * (limit - own_price) > 1e-9
        at_price = np.abs(limit - own_price) <= 1e-9
        singles.ahead = np.where(improves, 0.0, np.where(at_price, np.minimum(singles.ahead, own_size), singles.ahead))

    def _ensure_ticking(self, now_ns: int) -> None:
        if not self._ticking and any(len(s) for s in self.singles.values()):
            self._ticking = True
            self.port.schedule(self.config.fills.check_interval_ms * 1_000_000, ("tick",))

    def _check_resting(self, now_ns: int, book_key: tuple[str, str] | None = None) -> None:
        """On a quote update (`book_key`): fill the book's resting orders that became marketable and
        re-arm the hazard of the rest. On a tick (no key): the single-leg hazard draws."""
        if book_key is not None:
            for coid, order in list(self.resting.items()):
                if order.book_key != book_key:
                    continue
                if order.leaves <= 0 or order.status not in _LIVE:
                    del self.resting[coid]
                else:
                    self._check_one(order, now_ns)
        keys = [book_key] if book_key is not None else list(self.singles)
        for key in keys:
            singles = self.singles.get(key)
            if singles is not None and len(singles):
                self._check_singles(self.books[key], singles, now_ns)

    def _check_singles(self, book: Book, singles: RestingSingles, now_ns: int) -> None:
        """The hazard model for every resting single-leg order of one book at once."""
        alive = singles.alive
        elapsed_s = (now_ns - singles.checked_ns) / 1e9
        singles.checked_ns[alive] = now_ns
        if now_ns > self._stale_at_ns(book):
            return
        quotes, fills, columns, sign = book.quotes, self.config.fills, singles.column, singles.sign
        bid, ask = quotes.bid[columns], quotes.ask[columns]
        buying = sign > 0
        flags = book.flags[columns]
        tradable = alive & ((flags == QuoteFlag.OK) | ((flags == QuoteFlag.ZERO_BID) & buying))
        natural = np.where(buying, ask, bid)
        bid_size, ask_size = book.sizes()
        units = np.where(buying, ask_size[columns], bid_size[columns])
        marketable = tradable & (sign * (singles.limit - natural) >= -1e-9) & (units > 0)
        half_width = np.maximum(0.5 * (ask - bid), 1e-9)
        aggressiveness = np.minimum(sign * (singles.limit - 0.5 * (ask + bid)) / half_width, 1.0)
        waiting = tradable & ~marketable
        rate_per_s = fills.rate_at_mid_per_s * np.exp(fills.steepness * aggressiveness)
        if fills.adverse_selection > 0 and book.next_mid is not None:
            move_against = -sign * (book.next_mid[columns] - 0.5 * (ask + bid)) / half_width
            rate_per_s = rate_per_s * (1.0 + fills.adverse_selection * np.clip(move_against, -1.0, 1.0))
        singles.hazard -= np.where(waiting, rate_per_s * elapsed_s, 0.0)
        left: dict[tuple[int, bool], int] = {}            # displayed size left per (column, buying) in this pass
        for slot in np.flatnonzero(marketable | (waiting & (singles.hazard <= 0))).tolist():
            order = singles.orders[slot]
            if order.leaves <= 0:
                continue
            if marketable[slot]:
                level = (int(columns[slot]), bool(buying[slot]))
                lot = left.setdefault(level, int(units[slot]))
                if lot <= 0:
                    continue
            else:
                lot = self._past_queue(singles.ahead, slot, self.rng.geometric(1.0 / fills.mean_lot))
                if lot <= 0:
                    singles.hazard[slot] = self._exponential()
                    continue
            quantity = min(order.leaves, int(lot))
            self.counts["fills_moved_through" if marketable[slot] else "fills_hazard"] += 1
            self._commit_fill(order, quantity, order.limit, (order.limit,))
            if marketable[slot]:
                left[level] -= quantity
                self._take(order, quantity, now_ns)
            singles.hazard[slot] = self._exponential()

    @staticmethod
    def _past_queue(ahead: np.ndarray, slot: int, lot: int) -> int:
        """What of a hazard fill's `lot` reaches the order once the queue ahead of it (`ahead[slot]`) is served."""
        queued = ahead.item(slot)
        if queued <= 0:
            return int(lot)
        ahead[slot] = max(queued - lot, 0.0)
        return int(max(lot - queued, 0.0) + 1e-9)

    def _check_one(self, order: WorkingOrder, now_ns: int) -> None:
        """The hazard model for one complex order against the legs' combined quotes, in continuous
        time: the hazard spent since the last check at the rate then in force, a fill when it is
        used up (or when the order became marketable), and a timer at the exact time the rest would
        be used up at the current rate. Called on the order's hazard timer and on each quote update."""
        self._spend_hazard(order, now_ns)
        view = self._live_view(order, now_ns)
        if view is None:
            order.rate_per_s, order.armed = 0.0, order.armed + 1      # nothing fills until the next quote
            return
        if order.sign * (order.limit - view.natural) >= -1e-9 and view.units > 0:
            quantity = min(order.leaves, view.units)
            self.counts["fills_moved_through"] += 1
            self._commit_fill(order, quantity, order.limit, leg_prices(view.touch, order.ratios, order.limit))
            self._take(order, quantity, now_ns)
            order.rate_per_s, order.armed = 0.0, order.armed + 1      # displayed size taken: wait for a quote
            return
        if order.ahead > 0:
            self._requeue_one(order, view)
        if order.hazard_left <= 1e-9:
            lot = int(self.rng.geometric(1.0 / self.config.fills.mean_lot))
            if order.ahead > 0:
                queued, order.ahead = order.ahead, max(order.ahead - lot, 0.0)
                lot = int(max(lot - queued, 0.0) + 1e-9)
            if lot > 0:
                self.counts["fills_hazard"] += 1
                self._commit_fill(order, min(order.leaves, lot), order.limit,
                                  leg_prices(view.touch, order.ratios, order.limit))
            order.hazard_left = self._exponential()
        self._arm(order, now_ns, view)

    @staticmethod
    def _requeue_one(order: WorkingOrder, view: BookView) -> None:
        """The queue ahead of a resting complex order, as `_requeue_singles` for the legs' combined own side."""
        if order.sign * (order.limit - view.own_price) > 1e-9:
            order.ahead = 0.0
        elif abs(order.limit - view.own_price) <= 1e-9:
            order.ahead = min(order.ahead, view.own_units)

    def _stale_at_ns(self, book: Book) -> int:
        """When a book's quotes become too old to trade on."""
        return book.quotes.time_ns + self.config.max_quote_age_ms * 1_000_000

    def _spend_hazard(self, order: WorkingOrder, now_ns: int) -> None:
        """Spend the hazard at the rate in force since the last check; stale quotes fill nothing."""
        order.hazard_left -= (
            order.rate_per_s * max(min(now_ns, self._stale_at_ns(order.book)) - order.checked_ns, 0) / 1e9
        )
        order.checked_ns = now_ns

    def _live_view(self, order: WorkingOrder, now_ns: int) -> BookView | None:
        """The order's view of its book, or None when the quotes are stale or a leg is not tradable."""
        if now_ns > self._stale_at_ns(order.book):
            return None
        view = self._book_view(order, now_ns)
        return None if view.problem else view

    def _arm(self, order: WorkingOrder, now_ns: int, view: BookView | None = None) -> None:
        """Set the hazard rate of a resting complex order at its limit and the current quotes, and a
        timer for when its hazard would be used up (none when the quotes go stale first)."""
        order.armed += 1
        view = view if view is not None else self._live_view(order, now_ns)
        if view is None or order.leaves <= 0:
            order.rate_per_s = 0.0
            return
        fills = self.config.fills
        natural, half_width = view.natural, view.half_width
        extra_legs = max(len(order.ratios) - 2, 0)
        widening = 1 + 2 * (fills.complex_extra_width_fraction + fills.extra_leg_width_fraction * extra_legs)
        mid = natural - order.sign * half_width
        aggressiveness = order.sign * (order.limit - mid) / max(half_width * widening, 1e-9)
        order.rate_per_s = (fills.rate_at_mid_per_s * math.exp(fills.steepness * min(aggressiveness, 1.0))
                            * fills.complex_rate_scale * fills.extra_leg_rate_factor ** extra_legs)
        if fills.adverse_selection > 0:
            move = view.book.mid_move(order.columns, order.ratios)
            if move is not None:
                against = -order.sign * move / max(half_width, 1e-9)
                order.rate_per_s *= 1.0 + fills.adverse_selection * min(max(against, -1.0), 1.0)
        if order.rate_per_s <= 0:
            return
        delay_ns = max(math.ceil(max(order.hazard_left, 0.0) / order.rate_per_s * 1e9), 1)
        if now_ns + delay_ns <= self._stale_at_ns(order.book):
            self.port.schedule(delay_ns, ("hazard", order.request.client_order_id, order.armed))

    def _book_view(self, order: WorkingOrder, now_ns: int) -> BookView:
        """What the order's current book says for it, computed once per book and size change: a resting order
        is looked at on its hazard timers and replaces too, but its book changes only with a snapshot or a take.
        Taken size refills as of the latest snapshot or take (read between them, it is slightly pessimistic)."""
        view, book = order.view, order.book
        if view is None or view.book is not book or view.columns is not order.columns or view.version != book.version:
            stale_at_ns = self._stale_at_ns(order.book)
            legs = (None if order.columns is None or now_ns > stale_at_ns
                    else [order.book.leg_quotes(column) for column in order.columns])    # read once, for both
            problem = quote_problem(order, now_ns, stale_at_ns, legs)
            natural = (math.nan, math.nan, None, 0) if problem else natural_view(order, legs)
            if order.is_complex and order.sign > 0 and not problem and abs(natural[0]) < 1e-9 and max(natural[2]) > 0:
                natural = (self.config.complex_price_tick, *natural[1:])      # never bought for free: one tick
            own = (math.nan, 0) if problem else own_side(order, legs)
            view = order.view = BookView(order.book, order.columns, problem, *natural, book.version, *own)
        return view

    def _take(self, order: WorkingOrder, quantity: int, now_ns: int) -> None:
        """A marketable fill of `quantity` units takes the legs' displayed size (FillModel.displayed_refill_per_s)."""
        refill_per_s = self.config.fills.displayed_refill_per_s
        if refill_per_s is not None and order.book is not None:
            order.book.take(order.columns, order.ratios, order.sign, quantity, now_ns, refill_per_s)

    def _commit_fill(self, order: WorkingOrder, quantity: int, price: float, prices: tuple[float, ...]) -> None:
        """The fill is decided now and reported after the fill latency: a cancel arriving meanwhile loses."""
        order.pending_fill += quantity
        self.port.schedule(self._fill_delay(), ("fill", order.request.client_order_id, quantity, price, prices))

    def _deliver_fill(self, order: WorkingOrder, quantity: int, price: float, prices: tuple, now_ns: int) -> None:
        order.pending_fill -= quantity
        order.filled += quantity
        order.filled_value += quantity * price
        done = order.filled >= order.quantity
        if order.status in _LIVE:
            order.status = _FILLED if done else _PARTIALLY_FILLED
        if done:
            self._unrest(order)
        self._retire(order)
        self.counts["filled_events"] += 1
        self.port.send(order.request.owner, OrderFilled(order.request.client_order_id, quantity, round(price, 6),
                                                     prices, order.filled, max(order.leaves, 0), now_ns))

    # ------------------------------------------------------------------ cancel / replace

    def _apply_cancel(self, coid: str, replace: ReplaceOrder | None, now_ns: int, owner: str | None = None) -> None:
        order = self.orders.get(coid)
        if order is None:                         # finished and forgotten (max_finished_orders) while in flight
            self._cancel_rejected(owner or (replace.owner if replace else ""), coid, "unknown order", now_ns)
            return
        if type(order) is tuple:
            owner = replace.owner if replace else order[3]
            self._cancel_rejected(owner, coid, _TOO_LATE[order[0]], now_ns)
            return
        if order.status is _PENDING_NEW:
            order.queued_cancels.append(replace)     # not live yet: applied right after it is accepted
            return
        owner = replace.owner if replace else order.request.owner
        if order.status not in _LIVE or order.leaves <= 0:
            self._cancel_rejected(owner, coid, _TOO_LATE[order.status.name], now_ns)
            return
        if replace is None:
            self._cancel_leaves(order, owner, now_ns)
            return
        view = self._live_view(order, now_ns)
        problem = None if view is None else limit_problem(order, float(replace.limit_price), view, self.config)
        if problem:
            self._cancel_rejected(owner, coid, problem.reason, now_ns)
            return
        resting_complex = order.is_complex and coid in self.resting
        if resting_complex:
            self._spend_hazard(order, now_ns)
        repriced = float(replace.limit_price) != order.limit
        order.limit = float(replace.limit_price)
        ahead = self._queue_on_join(order) if repriced else order.ahead
        if order.is_complex:
            order.ahead = ahead
        singles = self.singles.get(order.book_key)
        if singles is not None and coid in singles.slot_of:
            slot = singles.slot_of[coid]
            singles.set_limit(coid, order.limit, ahead if repriced else singles.ahead.item(slot))
        if replace.quantity:
            order.quantity = max(order.filled + order.pending_fill, order.filled + replace.quantity)
        self.counts["replaced"] += 1
        self.port.send(owner, OrderReplaced(coid, order.limit, order.leaves, now_ns))
        self._match_marketable(order, now_ns)
        if resting_complex:
            self._arm(order, now_ns)

    def _cancel_leaves(self, order: WorkingOrder, owner: str, now_ns: int) -> None:
        """Cancel what is left of a live order (fills already decided still land) and say so."""
        cancelled = order.leaves
        order.quantity -= cancelled
        order.status = _CANCELLED
        self._unrest(order)
        self._retire(order)
        self.counts["cancelled"] += 1
        self.port.send(owner, OrderCancelled(order.request.client_order_id, cancelled, now_ns))

    def _unrest(self, order: WorkingOrder) -> None:
        coid = order.request.client_order_id
        self.resting.pop(coid, None)
        singles = self.singles.get(order.book_key)
        if singles is not None:
            singles.remove(coid)

    def _retire(self, order: WorkingOrder) -> None:
        """Once a finished order has no fill on its way, keep only (status value, filled, average price,
        owner): a plain tuple of atomics, which the garbage collector stops tracking. A day's finished
        orders, each holding its request, lists and a book, made the collector's full passes a third of
        the matching time."""
        if order.pending_fill == 0 and order.status in _TERMINAL:
            request = order.request
            self.orders[request.client_order_id] = (
                order.status.value,
                order.filled,
                order.average_price,
                request.owner,
            )
            self._remember_finished(request.client_order_id)

    def _remember_finished(self, coid: str) -> None:
        """Keep the last `max_finished_orders` finished orders; forget the oldest beyond them."""
        finished = self._finished
        finished.append(coid)
        if len(finished) > self.config.max_finished_orders:
            oldest = finished.popleft()
            if type(self.orders.get(oldest)) is tuple:
                del self.orders[oldest]
                self.counts["forgotten"] += 1

    def _cancel_rejected(self, owner: str, coid: str, reason: str, now_ns: int) -> None:
        self.counts["cancel_rejected"] += 1
        self.port.send(owner, CancelRejected(coid, reason, now_ns))

    def snapshot(self) -> dict[str, Any]:
        working = sum(1 for o in self.orders.values() if isinstance(o, WorkingOrder) and o.status in ACTIVE_STATES)
        return {**self.counts, "working": working, "books": len(self.books)}


def walk_depth(order: WorkingOrder, touch: tuple[float, ...], depth_levels: int,
               complex_tick: float) -> tuple[int, float, tuple[float, ...]] | None:
    """A marketable order larger than the touch's size walks the book (`FillModel.depth_levels`): behind each leg's
    touch stand `depth_levels` levels, each one tick worse and holding the touch's displayed size, eaten top first
    (contracts already taken and not refilled are gone from the top). Returns (units, average net price, average
    leg prices) of the units its limit reaches, or None when none. Walks in runs of units at one price (a few per
    leg), not unit by unit."""
    book, sign = order.book, order.sign
    legs = []
    for column, ratio, price in zip(order.columns, order.ratios, touch):
        bid = book.quotes.bid.item(column)
        buys_leg = ratio * sign > 0
        displayed, taken = book.ladder(column, buys_leg or bid <= 0)
        if displayed <= 0:
            return None
        direction = 1.0 if buys_leg else (0.0 if bid <= 0 else -1.0)                       # a zero bid stays 0
        legs.append((ratio, abs(ratio), price, direction, displayed, taken))
    filled, cost = 0, 0.0
    leg_costs = [0.0] * len(legs)
    free_floor = order.is_complex and sign > 0 and max(touch) > 0          # a spread is never bought for nothing
    while filled < order.leaves:
        net, run, prices = 0.0, order.leaves - filled, []
        for ratio, size, price, direction, displayed, taken in legs:
            level = math.floor((taken + (filled + 1) * size - 1e-9) / displayed)
            paid = _levels_away(book, price, direction, level)
            if level > depth_levels or paid < 0:
                run = 0
                break
            net += ratio * paid
            prices.append(paid)
            last_unit_at_level = math.floor(((level + 1) * displayed - taken) / size + 1e-9)
            run = min(run, max(last_unit_at_level - filled, 1))
        if free_floor:
            net = max(net, complex_tick)
        if run == 0 or sign * (order.limit - net) < -1e-9:
            break
        filled += run
        cost += run * net
        leg_costs = [total + run * paid for total, paid in zip(leg_costs, prices)]
    if filled == 0:
        return None
    return filled, round(cost / filled, 6), tuple(round(total / filled, 6) for total in leg_costs)


def _levels_away(book: Book, price: float, direction: float, levels: int) -> float:
    """The price `levels` ticks worse than `price` (direction +1 up, -1 down, 0 stays), each tick the product's
    tick at the price reached (across $3 the tick changes)."""
    for _ in range(levels if direction else 0):
        price = round(price + direction * book.tick(price + (0.0 if direction > 0 else -1e-9)), 6)
    return price


_ON_QUOTES = SimulatedExchange._on_quotes
_ON_NEXT_MIDS = SimulatedExchange._on_next_mids
