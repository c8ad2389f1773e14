"""ButterflyExitRouter: closes every butterfly as two verticals (seed 000), as a shared component.

`ExitButterfly` in, `core.exits.butterfly.ExitResult` back to the requester. The router:

1. plans the exit (`core.exits.butterfly.plan_exit`): two closing vertical orders, the higher value first;
2. sends the first at mid (less the configured offset) and walks the reprice ladder every
   `reprice_interval_ms` (cancel/replace), never past the slippage cap; if it has not filled
   after `first_order_timeout_ms` it is crossed to the natural (path "fallback": a forced fill),
   and if even that does not fill in another timeout the exit is "missed" (nothing was closed,
   so nothing is exposed);
3. on every fill of the first vertical sends the second vertical for that quantity at once
   and starts the partial-exposure clock (`max_partial_exposure_ms`);
4. when the clock runs out with the second vertical open, applies the fallbacks in the
   configured order: REPRICE_AGGRESSIVE crosses it to the natural; CLOSE_SHORT_LEG cancels it
   and closes the remaining legs singly (the short leg bought back first, then the long sold),
   so no short option is left open; HEDGE_DELTA trades the underlying's shares against the open
   vertical's delta and keeps working it, unwinding the shares once it is closed
   (`actors.butterfly_router_hedge`).
   Each step is logged with the exit, the order and why; what is still open at the end is an
   error with diagnostics and `ExitResult.closed` False.
5. survives its own restart: on start it asks the gateway for its orders in the ledger, cancels
   those still working and keeps what each fly had closed (`actors.butterfly_router_state`);
   when the requester re-sends the exit, it resumes from there: the second vertical for what the
   first closed (or the single legs, if the fallback had begun), then the first for what is
   left. A repeated request for an exit already answered gets the same ExitResult again; a later attempt
   (`ExitButterfly.attempt`) after an exit that closed nothing ("missed") starts anew.

Orders go through an `OrderExecutor` (the gateway, by messages), so the same router runs in a
backtest and in a Ray session. The router follows the quotes it is routed (ChainQuotes) to
reprice from the current mid; without them it prices from the request's market data.
A whole-fly complex order is accepted only when the router was built with `allow_whole_fly`
(simulation, the study's baseline); configs of paper and live sessions refuse it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Hashable, NamedTuple

from actors import butterfly_router_hedge as hedging
from actors import names
from actors.butterfly_router_state import (
    Exit,
    Order,
    OrderExecutor,
    PortExecutor,
    Recovery,
    exit_order_id,
    plans_as_placed,
)
from actors.messages import REPLAY_RETRY_NS, ExitButterfly, ReplayedOrders, ReplayRequest, TradingStateChanged
from actors.runtime.component import Component
from config.router import FallbackAction
from core.exits.butterfly import (
    HEDGE_PARTS,
    ExitFill,
    ExitResult,
    InvalidExitError,
    LegQuote,
    MarketData,
    VerticalExit,
    chain_ticks,
    closing_order,
    exit_result,
    fly_mid_per_share,
    ladder_price,
    natural_price,
    plan_exit,
    price_giving,
    requote,
    signed_price,
    whole_fly_order,
)
from core.orders import (
    CancelRejected,
    Contract,
    OrderAccepted,
    OrderCancelled,
    OrderDenied,
    OrderFilled,
    OrderLeg,
    OrderRejected,
    OrderReplaced,
    SubmitOrder,
    intent_of,
)
from core.quotes import ChainQuotes
from core.risk.checks import TRANSIENT_CODES

_SINGLE_RETRIES = 3
_DENIAL_RETRIES = 120
"""How often an exit's parts are sent again after transient denials (core.risk.checks.TRANSIENT_CODES), one
`max_partial_exposure_ms` apart (at most 60 s at the 500 ms cap), before the exit gives up on them."""
_FIRST_PARTS = ("vertical_1", "whole_fly")
_ANSWERS_KEPT = 10_000


class _Answer(NamedTuple):
    """A fly's last exit as answered: its result, the request's attempt and the last order sequence it used."""

    result: ExitResult
    attempt: int
    last_sequence: int

    def superseded_by(self, request: ExitButterfly) -> bool:
        """A later attempt after an exit that closed nothing starts anew; anything else is a repeat."""
        return self.result.path == "missed" and request.attempt > self.attempt


class ButterflyExitRouter(Component):
    """`recover`: ask the gateway for this router's orders on start and resume re-sent exits from them
    (off only where the "gateway" is a bare exchange that keeps no ledger, as in the study)."""

    def __init__(self, name: str = names.ROUTER, gateway: str = names.GATEWAY, allow_whole_fly: bool = False,
                 recover: bool = True) -> None:
        super().__init__(name)
        self.gateway, self.allow_whole_fly, self.recover = gateway, allow_whole_fly, recover
        self.exits: dict[str, Exit] = {}
        self.order_index: dict[str, str] = {}
        self.books: dict[tuple[str, str], ChainQuotes] = {}
        self.counts = {"exits": 0, "closed": 0, "fallbacks": 0, "missed": 0, "refused": 0, "resumed": 0}
        self.executor: OrderExecutor | None = None
        self.answered: OrderedDict[str, _Answer] = OrderedDict()      # position id -> its last exit's answer
        self.recovery = Recovery(replayed=not recover)

    def on_start(self, now_ns: int) -> None:
        self.executor = PortExecutor(self, self.gateway)
        if self.recover:
            self.recovery.replayed = False
            self._ask_replay()

    def _ask_replay(self) -> None:
        """Ask the ledger for this router's exit orders, and again after REPLAY_RETRY_NS while unanswered."""
        self.port.send(self.gateway, ReplayRequest(self.name, with_legs=True))
        self.port.schedule(REPLAY_RETRY_NS, ("replay", ""))

    def exit_butterfly(self, request: ExitButterfly, now_ns: int) -> None:
        """The seed's entry point: start closing `request.position`; the ExitResult goes to `request.requester`."""
        self.on_message(request, now_ns)

    # ------------------------------------------------------------------ messages

    def on_message(self, message: Any, now_ns: int) -> None:
        if isinstance(message, ChainQuotes):
            self.books[(message.symbol, message.expiry)] = message
        elif isinstance(message, ExitButterfly):
            self._receive(message, now_ns)
        elif isinstance(message, ReplayedOrders):
            self._replayed(message, now_ns)
        elif isinstance(message, TradingStateChanged):
            self.log.warning("gate_state", scope=message.scope, state=message.state, reason=message.reason)
        else:
            coid = message.client_order_id
            exit_id = self.order_index.get(coid)
            if exit_id is not None and exit_id in self.exits:
                self._event(self.exits[exit_id], message, now_ns)
            elif coid in self.recovery.index:
                ready = self.recovery.event(message)
                if ready is not None:
                    self._resume(self.recovery.resuming[ready], now_ns)

    def _receive(self, request: ExitButterfly, now_ns: int) -> None:
        """Check the request, then start it, resume it from replayed orders, or answer a repeat."""
        if request.method == "whole_fly" and not self.allow_whole_fly:
            raise InvalidExitError("method", "a whole-fly complex order is for simulation only")
        position_id = request.position.position_id
        if position_id in self.exits:
            self.log.debug("duplicate_exit_ignored", position_id=position_id)
        elif position_id in self.answered and not self.answered[position_id].superseded_by(request):
            self.port.send(request.requester, self.answered[position_id].result)
        elif position_id in self.answered:
            self._start(request, now_ns, after_sequence=self.answered.pop(position_id).last_sequence)
        elif not self.recovery.replayed:
            self.recovery.held.append(request)
        elif position_id in self.recovery.past:
            self.recovery.resuming[position_id] = request
            if self.recovery.settled(position_id):
                self._resume(request, now_ns)
            else:
                self.log.info("exit_resume_waits_for_orders", position_id=position_id)
        else:
            self._start(request, now_ns)

    def _replayed(self, replay: ReplayedOrders, now_ns: int) -> None:
        if self.recovery.replayed:
            return                  # the answer to a request sent again: applied already
        for coid in self.recovery.load(replay):
            self.executor.cancel(coid)
        if self.recovery.past:
            self.log.warning("exit_orders_recovered", flies=self.recovery.exposure(),
                             note="each fly's exit resumes from these when its requester re-sends it")
        held, self.recovery.held = self.recovery.held, []
        for request in held:
            self._receive(request, now_ns)

    def _new_exit(self, request: ExitButterfly, now_ns: int) -> Exit:
        for action in (
            "cross_to_natural",
            "close_short_leg",
            "hedge_delta",
            "resumed_after_restart",
        ):  # zero series: none yet is data
            self.telemetry.count("spreadwright_butterfly_fallbacks_total", 0.0, symbol=request.position.symbol,
                                 action=action)
        position = request.position
        if request.method == "whole_fly":
            plans = {"whole_fly": whole_fly_order(position, request.market)}
        else:
            first, second = plan_exit(position, request.market)
            plans = {"vertical_1": first, "vertical_2": second}
        mid = fly_mid_per_share(position, request.market)
        theo = request.market.theo_per_share if request.market.theo_per_share is not None else mid
        self.counts["exits"] += 1
        ex = self.exits[position.position_id] = Exit(request, now_ns, mid, theo, plans)
        return ex

    def _start(self, request: ExitButterfly, now_ns: int, after_sequence: int = 0) -> None:
        """A new exit; `after_sequence`: the last order sequence an earlier exit of this fly used."""
        ex = self._new_exit(request, now_ns)
        ex.sequence = after_sequence
        self._send_first(ex, next(iter(ex.plans.values())).quantity, now_ns)

    def _send_first(self, ex: Exit, quantity: int, now_ns: int) -> None:
        """The first order (first vertical, or the whole fly) for `quantity` units, and its timeout."""
        request = ex.request
        first_part = "whole_fly" if request.method == "whole_fly" else "vertical_1"
        again = ex.resumed_from or any(o.part == first_part for o in ex.orders.values())
        plan = requote(ex.plans[first_part], self.market_of(ex)) if again else ex.plans[first_part]
        offset = request.whole_fly_haircut_per_share if first_part == "whole_fly" else 0.0
        limit = ladder_price(plan, 0, request.risk) if not offset else price_giving(plan, offset)
        order = self._send(ex, first_part, plan, quantity, limit, now_ns)
        self.port.schedule(request.risk.routing.first_order_timeout_ms * 1_000_000, ("first_timeout", order.coid))

    def _resume(self, request: ExitButterfly, now_ns: int) -> None:
        """Go on with an exit a restart cut short: count what its replayed orders closed, close the rest."""
        past = self.recovery.take(request.position.position_id)
        ex = self._new_exit(request, now_ns)
        ex.plans = plans_as_placed(ex.plans, past)
        ex.resumed_from = len(past)
        self.counts["resumed"] += 1
        self.telemetry.count("spreadwright_butterfly_fallbacks_total", symbol=request.position.symbol,
                             action="resumed_after_restart")
        units = next(iter(ex.plans.values())).quantity
        for order in past:
            ex.credit_past(order, ex.plans.get(order.part) or ex.plans["vertical_2"], now_ns)    # singles: its legs
            self.order_index[order.client_order_id] = request.position.position_id
        closed_first = ex.first_filled if "vertical_1" in ex.plans else sum(o.filled for o in past)
        owed_second = ex.first_filled - ex.second_filled
        self.log.warning("exit_resumed", position_id=request.position.position_id, replayed_orders=len(past),
                         first_filled=ex.first_filled, second_filled=ex.second_filled, singles=ex.singles_filled,
                         units=units)
        if ex.singles_filled:
            owed = {part: owed_second - ex.singles_filled.get(part, 0) for part in ("short_leg", "long_leg")}
            ex.path = "fallback"                 # the single-leg fallback had begun before the restart
            self._send_singles(ex, ex.plans["vertical_2"], owed, now_ns)
        elif owed_second > 0:
            self._send_second(ex, owed_second, now_ns)
        if units > closed_first:
            self._send_first(ex, units - closed_first, now_ns)
        self._maybe_done(ex, now_ns)

    # ------------------------------------------------------------------ orders

    def _send(self, ex: Exit, part: str, plan: VerticalExit, quantity: int, limit: float, now_ns: int) -> Order:
        ex.sequence += 1
        position = ex.request.position
        coid = exit_order_id(position.position_id, ex.sequence, part)
        expiry = position.legs[0].expiry.isoformat()
        legs = tuple(OrderLeg(Contract(position.symbol, expiry, float(strike), right), ratio)
                     for right, strike, ratio in plan.legs)
        order = ex.orders[coid] = Order(coid, position.position_id, part, plan, quantity, limit)
        self.order_index[coid] = position.position_id
        self.executor.place(SubmitOrder(coid, self.name, legs, plan.side, quantity, limit,
                                        intent_of(plan.side, limit, plan.natural_per_share)))
        self.log.debug("exit_order_sent", position_id=position.position_id, client_order_id=coid, part=part,
                       side=plan.side, quantity=quantity, limit=limit, mid=plan.mid_per_share)
        if part in ("vertical_1", "vertical_2", "whole_fly"):
            self.port.schedule(ex.request.risk.routing.reprice_interval_ms * 1_000_000, ("reprice", coid))
        return order

    def market_of(self, ex: Exit) -> MarketData:
        """The latest quotes for the position's legs (the request's when no newer chain came)."""
        position = ex.request.position
        book = self.books.get((position.symbol, position.legs[0].expiry.isoformat()))
        if book is None:
            return ex.request.market
        quotes = dict(ex.request.market.quotes)
        strikes, is_call = book.strikes.tolist(), book.is_call.tolist()
        index = {(("C" if c else "P"), k): i for i, (k, c) in enumerate(zip(strikes, is_call))}
        for key in quotes:
            i = index.get(key)
            if i is not None and book.ask[i] >= book.bid[i] and book.ask[i] > 0:
                quotes[key] = LegQuote(float(book.bid[i]), float(book.ask[i]))
        return MarketData(
            quotes,
            book.underlying if book.underlying == book.underlying else ex.request.market.underlying,
            ex.request.market.theo_per_share,
            **chain_ticks(book.tick_below_3, book.tick_from_3),
        )

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        kind, key = tag
        if kind == "replay":
            if not self.recovery.replayed:
                self.log.warning("replay_unanswered", retry_after_s=REPLAY_RETRY_NS / 1e9)
                self._ask_replay()
        elif kind == "reprice":
            self._reprice(key, now_ns)
        elif kind == "first_timeout":
            self._first_timeout(key, now_ns)
        elif kind == "exposure":
            self._exposure_deadline(key, now_ns)
        elif kind == "last_check":
            self._last_check(key, now_ns)
        elif kind == "resend":
            self._resend(key, now_ns)

    def _order(self, coid: str) -> tuple[Exit, Order] | None:
        exit_id = self.order_index.get(coid)
        ex = self.exits.get(exit_id) if exit_id else None
        if ex is None or ex.finished or coid not in ex.orders:
            return None
        return ex, ex.orders[coid]

    def _reprice(self, coid: str, now_ns: int) -> None:
        found = self._order(coid)
        if found is None:
            return
        ex, order = found
        if order.done or order.crossed or order.filled >= order.quantity:
            return
        ladder = ex.request.risk.routing.reprice_ladder_per_share
        if order.step >= len(ladder):
            return
        order.step += 1
        order.plan = requote(order.plan, self.market_of(ex))
        if order.part == "whole_fly":
            limit = price_giving(order.plan, ex.request.whole_fly_haircut_per_share + ladder[order.step - 1])
        else:
            limit = ladder_price(order.plan, order.step, ex.request.risk, ex.used_slippage)
        if limit != order.limit:
            order.limit = limit
            ex.path = "repriced" if ex.path == "normal" else ex.path
            self.executor.replace(coid, limit, order.quantity - order.filled)
        self.port.schedule(ex.request.risk.routing.reprice_interval_ms * 1_000_000, ("reprice", coid))

    def _cross(self, ex: Exit, order: Order, why: str) -> None:
        order.plan = requote(order.plan, self.market_of(ex))
        order.crossed, order.limit = True, natural_price(order.plan)
        ex.path = "hedged" if ex.path == "hedged" else "fallback"
        ex.add_reason(why)
        self.counts["fallbacks"] += 1
        self.telemetry.count("spreadwright_butterfly_fallbacks_total", symbol=ex.request.position.symbol,
                             action="cross_to_natural")
        self.log.warning("exit_crossed_to_natural", position_id=order.exit_id, client_order_id=order.coid,
                         part=order.part, natural=order.limit, mid=order.plan.mid_per_share, reason=why)
        self.executor.replace(order.coid, order.limit, order.quantity - order.filled)

    def _first_timeout(self, coid: str, now_ns: int) -> None:
        found = self._order(coid)
        if found is None:
            return
        ex, first = found
        if first.done or first.filled >= first.quantity:
            return
        timeout_ms = ex.request.risk.routing.first_order_timeout_ms
        if not first.crossed:
            self._cross(ex, first, f"{first.part} not filled within the slippage guardrail in {timeout_ms} ms")
            self.port.schedule(timeout_ms * 1_000_000, ("first_timeout", coid))
            return
        self.executor.cancel(first.coid)          # even the natural did not fill: give up; the outcome decides
        ex.reason = f"{first.part} not filled even at the natural within {2 * timeout_ms} ms"

    def _exposure_deadline(self, coid: str, now_ns: int) -> None:
        found = self._order(coid)
        if found is None:
            return
        ex, order = found
        if order.done or order.filled >= order.quantity:
            return
        limit_ms = ex.request.risk.max_partial_exposure_ms
        fallbacks = ex.request.risk.routing.fallbacks
        if ex.fallback_index >= len(fallbacks):
            self._diagnose(ex, order, f"second vertical still open {limit_ms * (ex.fallback_index + 1)} ms after the "
                                      "first filled and every fallback was tried")
            return
        action = fallbacks[ex.fallback_index]
        ex.fallback_index += 1
        why = f"second vertical not filled within max_partial_exposure_ms={limit_ms}"
        if action is FallbackAction.REPRICE_AGGRESSIVE:
            self._cross(ex, order, why)
            self.port.schedule(limit_ms * 1_000_000, ("exposure", coid))
        elif action is FallbackAction.CLOSE_SHORT_LEG:
            ex.path, ex.reason = "fallback", f"{why}; closing its legs singly, short leg first"
            self.counts["fallbacks"] += 1
            self.telemetry.count("spreadwright_butterfly_fallbacks_total", symbol=ex.request.position.symbol,
                                 action="close_short_leg")
            order.crossed = True
            self.log.warning("exit_closing_legs_singly", position_id=order.exit_id, client_order_id=coid, reason=why)
            self.executor.cancel(coid)             # the singles go out when the cancel is confirmed
        elif action is FallbackAction.HEDGE_DELTA:
            hedging.hedge(self, ex, order, why, now_ns)
            self.port.schedule(limit_ms * 1_000_000, ("exposure", coid))

    def _close_singly(self, ex: Exit, order: Order, now_ns: int) -> None:
        remaining = order.quantity - order.filled
        if remaining > 0:
            self._send_singles(ex, order.plan, {"short_leg": remaining, "long_leg": remaining}, now_ns)

    def _send_singles(self, ex: Exit, plan: VerticalExit, quantities: dict[str, int], now_ns: int) -> None:
        """Close the vertical `plan`'s legs one by one at the natural (short leg first), `quantities` per part."""
        market = self.market_of(ex)
        for part, leg in (("short_leg", plan.short_leg), ("long_leg", plan.long_leg)):
            quantity = quantities.get(part, 0)
            if quantity <= 0:
                continue
            if leg is None:                              # a single-leg part (a strangle's put): nothing to close here
                ex.singles_filled[part] = ex.singles_filled.get(part, 0) + quantity
                continue
            right, strike = leg
            side = "BUY" if part == "short_leg" else "SELL"
            single = closing_order(part, ((right, strike, 1 if side == "SELL" else -1),), quantity, market)
            price = natural_price(single)
            if part == "long_leg" and price <= 0:        # a long option bid at zero: no risk, nothing to sell it for
                ex.singles_filled["long_leg"] = ex.singles_filled.get("long_leg", 0) + quantity
                ex.add_reason(f"long {right}{strike:g} bid at zero left to expire")
                continue
            self._send(ex, part, single, quantity, price, now_ns)
        self.port.schedule(
            ex.request.risk.max_partial_exposure_ms * 1_000_000, ("last_check", ex.request.position.position_id)
        )

    def _last_check(self, exit_id: str, now_ns: int) -> None:
        ex = self.exits.get(exit_id)
        if ex is None or ex.finished:
            return
        open_orders = [o for o in ex.orders.values()
                       if not o.done and o.filled < o.quantity and o.part not in HEDGE_PARTS]
        if not open_orders:
            return
        if ex.single_retries < _SINGLE_RETRIES:       # quotes moved since: cross again to the current natural
            ex.single_retries += 1
            for order in open_orders:
                order.plan = requote(order.plan, self.market_of(ex))
                order.limit = natural_price(order.plan)
                if order.limit > 0:
                    self.executor.replace(order.coid, order.limit, order.quantity - order.filled)
            self.port.schedule(ex.request.risk.max_partial_exposure_ms * 1_000_000, ("last_check", exit_id))
            return
        self._diagnose(ex, open_orders[0], "legs closed singly did not fill at the natural")

    def _diagnose(self, ex: Exit, order: Order, why: str) -> None:
        market = self.market_of(ex)
        self.log.error("exit_left_exposure", position_id=ex.request.position.position_id, client_order_id=order.coid,
                       part=order.part, reason=why, first_filled=ex.first_filled, second_filled=ex.second_filled,
                       singles=ex.singles_filled, quotes={f"{r}{k:g}": tuple(q) for (r, k), q in market.quotes.items()},
                       underlying=market.underlying)
        ex.reason = why
        self._finish(ex, ex.start_ns, closed=False)

    # ------------------------------------------------------------------ events

    def _event(self, ex: Exit, event: Any, now_ns: int) -> None:
        order = ex.orders.get(event.client_order_id)
        if order is None or ex.finished:
            return
        if isinstance(event, OrderFilled):
            self._fill(ex, order, event, now_ns)
        elif isinstance(event, OrderCancelled):
            order.done = True
            if order.part in HEDGE_PARTS:
                hedging.cancelled(self, ex, order)
                self._maybe_done(ex, now_ns)
            elif order.part == "vertical_2" and order.crossed and order.filled < order.quantity:
                self._close_singly(ex, order, now_ns)
            elif order.part in ("vertical_1", "whole_fly") and not _closed_any(ex):
                ex.path = "missed"
                self.counts["missed"] += 1
                self._finish(ex, now_ns, closed=False)
            else:
                self._maybe_done(ex, now_ns)
        elif isinstance(event, (OrderRejected, OrderDenied)):
            self._refused(ex, order, event, now_ns)
        elif isinstance(event, (OrderAccepted, OrderReplaced, CancelRejected)):
            return

    def _refused(self, ex: Exit, order: Order, event: OrderRejected | OrderDenied, now_ns: int) -> None:
        """The venue rejected or the gate denied one of the exit's orders: sent again later, or the exit goes on
        without it (missed, closed singly, or the exposure reported)."""
        order.done = True
        self.counts["refused"] += 1
        self.log.error("exit_order_rejected", position_id=ex.request.position.position_id,
                       client_order_id=order.coid, part=order.part, reason=event.reason)
        if self._retry_later(ex, order, event):
            return
        if order.part in HEDGE_PARTS:
            ex.add_reason(f"{order.part} rejected: {event.reason}")
            self._maybe_done(ex, now_ns)
        elif order.part in ("vertical_1", "whole_fly") and not _closed_any(ex):
            ex.path, ex.reason = "missed", f"{order.part} rejected: {event.reason}"
            self._finish(ex, now_ns, closed=False)
        elif order.part == "vertical_2":
            order.crossed = True
            self._close_singly(ex, order, now_ns)
        elif order.part == "short_leg":
            self._diagnose(ex, order, f"buying back the short leg was rejected: {event.reason}")
        else:
            self._maybe_done(ex, now_ns)

    def _retry_later(self, ex: Exit, order: Order, event: OrderRejected | OrderDenied) -> bool:
        """A part denied by the gate for a passing reason (the throttle; no quote yet, as after an order-path
        restart until the gate's first chain comes) is sent again after `max_partial_exposure_ms` instead of
        given up: giving up a part that closes exposure (the second vertical, a leg closed singly) leaves a leg
        naked, and giving up the first leaves the fly open with no exit working ("missed")."""
        if not (type(event) is OrderDenied and event.code in TRANSIENT_CODES
                and (_closes_exposure(order.part) or order.part in _FIRST_PARTS)
                and ex.denial_retries < _DENIAL_RETRIES):
            return False
        ex.denial_retries += 1
        ex.resends_due += 1
        self.port.schedule(ex.request.risk.max_partial_exposure_ms * 1_000_000, ("resend", order.coid))
        return True

    def _resend(self, coid: str, now_ns: int) -> None:
        """Send a denied part again (see `_retry_later`) for what it has left, at the current quotes."""
        found = self._order(coid)
        if found is None:
            return
        ex, order = found
        ex.resends_due -= 1
        quantity = order.quantity - order.filled
        if order.part in _FIRST_PARTS:
            self._send_first(ex, quantity, now_ns)
            return
        if order.part == "vertical_2":
            self._send_second(ex, quantity, now_ns)
            return
        plan = requote(order.plan, self.market_of(ex))
        self._send(ex, order.part, plan, quantity, natural_price(plan), now_ns)
        self.port.schedule(ex.request.risk.max_partial_exposure_ms * 1_000_000,
                           ("last_check", ex.request.position.position_id))

    def _fill(self, ex: Exit, order: Order, fill: OrderFilled, now_ns: int) -> None:
        order.filled = fill.cumulative_quantity
        order.done = fill.leaves_quantity == 0
        ex.fills.append(ExitFill(order.coid, order.part, fill.quantity, signed_price(order.plan.side, fill.price),
                                 tuple(fill.leg_prices), now_ns))
        slippage = abs(order.plan.mid_per_share - fill.price)
        if order.part == "vertical_1":
            ex.used_slippage = max(ex.used_slippage, slippage)
            ex.first_filled += fill.quantity
            ex.first_fill_ns = ex.first_fill_ns or now_ns
            self._send_second(ex, fill.quantity, now_ns)
        elif order.part == "vertical_2":
            ex.second_filled += fill.quantity
        elif order.part in ("short_leg", "long_leg"):
            ex.singles_filled[order.part] = ex.singles_filled.get(order.part, 0) + fill.quantity
        self._maybe_done(ex, now_ns)

    def _send_second(self, ex: Exit, quantity: int, now_ns: int) -> None:
        """The second vertical for `quantity` units at once, and the partial-exposure clock."""
        second = requote(ex.plans["vertical_2"], self.market_of(ex))
        sent = self._send(
            ex, "vertical_2", second, quantity, ladder_price(second, 0, ex.request.risk, ex.used_slippage), now_ns
        )
        self.log.info("second_vertical_sent", client_order_id=sent.coid, position_id=ex.request.position.position_id,
                      sent_ns=now_ns)                            # first vertical's fill in -> second vertical out
        self.port.schedule(ex.request.risk.max_partial_exposure_ms * 1_000_000, ("exposure", sent.coid))

    def _maybe_done(self, ex: Exit, now_ns: int) -> None:
        if ex.resends_due:
            return                                  # a denied part goes again: not done until it has
        units = next(iter(ex.plans.values())).quantity
        if "whole_fly" in ex.plans:
            if ex.orders and all(o.done for o in ex.orders.values()):
                filled = sum(o.filled for o in ex.orders.values())
                self._finish(ex, now_ns, closed=filled >= units)
            return
        closed_second = ex.second_filled + min(
            ex.singles_filled.get("short_leg", 0), ex.singles_filled.get("long_leg", 0)
        )
        first_done = all(o.done for o in ex.orders.values() if o.part == "vertical_1")
        settled = all(o.done for o in ex.orders.values())
        if first_done and closed_second >= ex.first_filled and settled:
            if ex.exposure_closed_ns is None and ex.first_fill_ns is not None:
                ex.exposure_closed_ns = now_ns
            if hedging.unwind(self, ex):
                return                              # answered once the shares are off
            self._finish(ex, now_ns, closed=ex.first_filled >= units)

    def _finish(self, ex: Exit, now_ns: int, closed: bool) -> None:
        if ex.finished:
            return
        ex.finished = True
        for order in ex.orders.values():
            if not order.done:
                self.executor.cancel(order.coid)
        exposure_ms = ((ex.exposure_closed_ns or now_ns) - ex.first_fill_ns) / 1e6 if ex.first_fill_ns else 0.0
        reason = "; ".join(filter(None, (ex.reason, hedging.left_on(ex)))) or None
        if ex.resumed_from:
            reason = "; ".join(filter(None, (f"resumed after a router restart from {ex.resumed_from} replayed orders",
                                             reason)))
        result = exit_result(ex.request.position, ex.request.method, ex.path, ex.fills, closed, ex.mid_per_share,
                             ex.theo_per_share, ex.start_ns, exposure_ms if closed else 0.0, reason)
        self.counts["closed"] += closed
        if closed and ex.first_fill_ns and ex.request.method == "split_verticals":
            self.telemetry.observe("spreadwright_butterfly_partial_exposure_seconds", exposure_ms / 1000,
                                   symbol=ex.request.position.symbol)
        self.port.send(ex.request.requester, result)
        position_id = ex.request.position.position_id
        del self.exits[position_id]
        self.answered[position_id] = _Answer(result, ex.request.attempt, ex.sequence)
        if len(self.answered) > _ANSWERS_KEPT:
            self.answered.popitem(last=False)

    def snapshot(self) -> dict[str, Any]:
        return {**self.counts, "working": len(self.exits), "exiting": sorted(self.exits)}



def _closes_exposure(part: str) -> bool:
    """The parts sent once the first vertical has closed: until they fill, a leg of the fly is naked."""
    return part in ("vertical_2", "short_leg", "long_leg")


def _closed_any(ex: Exit) -> bool:
    """Whether any part of the fly was closed (by this exit or, when resumed, before the restart)."""
    return ex.first_filled > 0 or any(o.filled for o in ex.orders.values() if o.part == "whole_fly")
