"""The simulated exchange, a component driven by its runtime's clock.

Takes `SubmitOrder`, `CancelOrder`, `ReplaceOrder` and `ChainQuotes`; sends order events
(core.orders) to each order's owner. What it models, all seeded (same seed, same fills):

- latency: submit->ack, ack->fill and cancel delays drawn log-normally (ExchangeConfig.latency),
  each from its own seeded stream (the runtime's per-route samplers);
- marketable orders fill at the touch (the legs' natural price for complex orders) up to the
  displayed size; the rest rests (a partial fill);
- resting orders fill by the hazard model of `config.exchange.FillModel`, in geometric lots
  (partial fills): a complex order's hazard is spent in continuous time at the rate its limit and
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
from sim.exchange.book import Book, BookView, WorkingOrder, leg_prices, natural_view
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
                       "replaced": 0, "quote_updates": 0, "order_events": 0, "forgotten": 0}
        self._finished: deque[str] = deque()                  # retired ids, oldest first (max_finished_orders)

    # ------------------------------------------------------------------ messages

    def on_message(self, message: Any, now_ns: int) -> None:
        handler = self._HANDLERS.get(type(message))
        if handler is not _ON_QUOTES:
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
        self._check_resting(now_ns, key)

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
                 ReplaceOrder: _on_replace, OrderStatusRequest: _on_status}

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
        if order.sign * (order.limit - natural) < -1e-9 or units <= 0:
            return
        prices = (natural,) if not order.is_complex else leg_prices(touch, order.ratios, natural)
        quantity = min(order.leaves, units)
        self._commit_fill(order, quantity, natural, prices)
        self._take(order, quantity, now_ns)

    def _rest(self, order: WorkingOrder, now_ns: int) -> None:
        order.hazard_left = self._exponential()
        order.checked_ns = now_ns
        coid = order.request.client_order_id
        if order.is_complex:
            self.resting[coid] = order
            self._arm(order, now_ns)
        else:
            singles = self.singles.get(order.book_key)
            if singles is None:
                singles = self.singles[order.book_key] = RestingSingles()
            singles.add(coid, order, order.single, order.sign, order.limit, order.hazard_left, now_ns)
        self._ensure_ticking(now_ns)

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
        singles.hazard -= np.where(waiting, fills.rate_at_mid_per_s * np.exp(fills.steepness * aggressiveness)
                                   * elapsed_s, 0.0)
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
                lot = self.rng.geometric(1.0 / fills.mean_lot)
            quantity = min(order.leaves, int(lot))
            self._commit_fill(order, quantity, order.limit, (order.limit,))
            if marketable[slot]:
                left[level] -= quantity
                self._take(order, quantity, now_ns)
            singles.hazard[slot] = self._exponential()

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
            self._commit_fill(order, quantity, order.limit, leg_prices(view.touch, order.ratios, order.limit))
            self._take(order, quantity, now_ns)
            order.rate_per_s, order.armed = 0.0, order.armed + 1      # displayed size taken: wait for a quote
            return
        if order.hazard_left <= 1e-9:
            lot = min(order.leaves, int(self.rng.geometric(1.0 / self.config.fills.mean_lot)))
            self._commit_fill(order, lot, order.limit, leg_prices(view.touch, order.ratios, order.limit))
            order.hazard_left = self._exponential()
        self._arm(order, now_ns, view)

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
            view = order.view = BookView(order.book, order.columns, problem, *natural, book.version)
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
        order.limit = float(replace.limit_price)
        singles = self.singles.get(order.book_key)
        if singles is not None:
            singles.set_limit(coid, order.limit)
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


_ON_QUOTES = SimulatedExchange._on_quotes
