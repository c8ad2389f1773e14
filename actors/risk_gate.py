"""RiskGate: the component in front of the BrokerGateway. Every submit and replace is checked here; what passes
goes on to the gateway wrapped as `Approved` (the gateway takes no other), what does not comes back to the
sender as an `OrderDenied` with a code (core.risk.checks.DENY_CODES) and a reason, a log line and a metric,
and never reaches the gateway, the ledger or the venue. Cancels always pass.

The gate keeps what the session holds and has working (`core.risk.exposure`) from the events the gateway
copies to it, the latest chain of each (symbol, expiry) for the collars, and the book's latest mark for the
greeks caps, the daily loss limit and the drawdown trigger. Trading states (ACTIVE / REDUCING / HALTED) per
session and per sender are written to the ledger through the gateway and restored from it when the gate
(re)starts; until then orders wait. A HALTED scope's working orders are cancelled at once and again after
`halt_cancel_within_s` if any is still working. The kill switch trips on a drawdown slope, a reject rate or a
venue unreachable past its grace time (`core.risk.killswitch`), and by hand (`SetTradingState`).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Callable, Hashable, Mapping, NamedTuple

import numpy as np

from actors import names
from actors.messages import (
    Approved,
    RecordTradingState,
    RiskState,
    RiskStateRequest,
    RiskView,
    SetTradingState,
    TradingStateChanged,
    VenueStatus,
)
from actors.runtime.component import Component
from config.risk import RiskConfig
from core.calendar import settlement_instant_ns
from core.instruments import ProductSpec, multiplier_of
from core.orders import (
    EXPOSURE_EVENTS,
    CancelOrder,
    CancelRejected,
    OrderCancelled,
    OrderDenied,
    OrderFilled,
    OrderLeg,
    OrderRejected,
    OrderReplaced,
    Refusal,
    ReplaceOrder,
    SubmitOrder,
)
from core.pricing.bsm import legs_value
from core.pricing.implied_vol import atm_implied_vol
from core.quotes import ChainQuotes
from core.risk import checks
from core.risk.exposure import Exposure, SignedLegs, contracts_per_unit, signed_legs
from core.risk.killswitch import Disconnect, DrawdownSlope, RejectRate
from core.risk.states import SESSION_SCOPE, StateChange, TradingState, effective_state, parse_state
from core.risk.throttle import Throttle, TokenBucket
from core.units import NS_PER_YEAR

_NS = 1_000_000_000
_VOL_REFRESH_NS = 300 * _NS
"""How long a chain's model vol (implied from its at-the-money quotes) serves before it is implied again."""
_MIN_T_YEARS = 1.0 / (365 * 24 * 60)
_NOT_ERRORS = frozenset({"rate_limited", "trading_halted", "reducing_only"})
"""Denials that follow from the throttle or a state, not from a bad order: the reject-rate trigger ignores them."""
_EXPOSURE_EVENTS = frozenset(EXPOSURE_EVENTS)


class RiskGate(Component):
    def __init__(self, config: RiskConfig = RiskConfig(), gateway: str = names.GATEWAY, name: str = names.RISK,
                 is_open: Callable[[int], bool] | None = None, rate: float = 0.04,
                 senders: tuple[str, ...] = (), carried: dict | None = None,
                 products: Mapping[str, ProductSpec] | None = None) -> None:
        """`carried`: positions an earlier session of a multi-day backtest left (contract key -> signed
        contracts), added to what this session's ledger holds: its exits then count as reducing. `products`: the
        venue's products by symbol where they differ from `core.instruments`' (a crypto venue's contract size and
        premium currency: an inverse product's coin premiums are valued at the chain's index, and the model's USD
        value is put in coin for the model collar)."""
        super().__init__(name)
        self.products = dict(products or {})
        self.carried = dict(carried or {})
        self.config, self.limits, self.gateway = config, config.limits, gateway
        self.is_open, self.rate = is_open, rate
        self.senders: set[str] = set(senders)       # told of every state change of their scope
        self.exposure = Exposure()
        self.states: dict[str, TradingState] = {}
        self.reasons: dict[str, str] = {}
        self.chains: dict[tuple[str, str], ChainQuotes] = {}
        self._rows: dict[tuple[str, str], dict] = {}         # chain -> (strike, right) -> row of its grid
        self._vols: dict[tuple[str, str], tuple[int, float]] = {}       # chain -> (implied at, vol)
        self._expiry_ns: dict[tuple[str, str], int] = {}
        self.view: RiskView | None = None
        limits = self.limits
        self.session_bucket = TokenBucket(limits.orders_per_s, max(1, int(limits.orders_per_s)))
        per_owner = limits.orders_per_s_per_owner
        self.owner_buckets = Throttle(per_owner, max(1, int(per_owner))) if per_owner else None
        self.named_buckets = {owner: TokenBucket(rate, max(1, int(rate)))
                              for owner, rate in limits.orders_per_s_by_owner.items()}
        switch = config.kill_switch
        self.drawdown = DrawdownSlope(switch.drawdown_window_s, switch.drawdown_usd)
        self.reject_rate = RejectRate(switch.reject_window_s, switch.reject_min_orders, switch.reject_fraction)
        self.disconnect = Disconnect(switch.disconnect_grace_s)
        self._plans: dict[tuple[OrderLeg, ...], _LegsPlan] = {}
        self.originals: dict[str, SubmitOrder] = {}      # working orders as submitted (a replace is checked as one)
        self.restored = False
        self.waiting: list[Any] = []
        self.counts: dict[str, Any] = {"passed": 0, "replaces_passed": 0, "denied": 0, "by_code": {}, "trips": 0}

    # ------------------------------------------------------------------ lifecycle and dispatch

    def on_start(self, now_ns: int) -> None:
        self.restored = False
        self.port.send(self.gateway, RiskStateRequest(self.name))

    def on_message(self, message: Any, now_ns: int) -> None:
        kind = type(message)
        if kind is SubmitOrder or kind is ReplaceOrder:
            if not self.restored:
                self.waiting.append(message)
            elif kind is SubmitOrder:
                self._submit(message, now_ns)
            else:
                self._replace(message, now_ns)
        elif kind is ChainQuotes:
            self.chains[(message.symbol, message.expiry)] = message
        elif kind in _EXPOSURE_EVENTS:
            self._event(message, now_ns)
        elif kind is RiskView:
            self._view(message, now_ns)
        elif kind is RiskState:
            self._restore(message, now_ns)
        elif kind is SetTradingState:
            try:
                state = parse_state(message.state)
            except ValueError as error:          # a bad request changes nothing and says why
                self.log.error("trading_state_refused", scope=message.scope, error=str(error))
                return
            self._set_state(message.scope, state, message.reason, message.trigger, now_ns)
        elif kind is VenueStatus:
            self._venue(message, now_ns)
        else:                                     # cancels and requests for the gateway (a replay, a status)
            self.port.send(self.gateway, message)

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        if tag[0] == "halt_check":
            self._halt_check(tag[1], now_ns)
        elif tag[0] == "disconnect":
            reason = self.disconnect.check(now_ns)
            if reason and self.config.kill_switch.enabled:
                self._trip("disconnect", reason, now_ns)

    # ------------------------------------------------------------------ orders

    def _submit(self, order: SubmitOrder, now_ns: int) -> None:
        try:
            refusal, legs, reduces = self._checked(order, now_ns, False)
        except Exception as error:  # noqa: BLE001 - fails closed: the order is denied, the error logged in full
            self.log.exception("risk_check_failed", client_order_id=order.client_order_id)
            refusal = Refusal("internal_error", f"the risk gate could not check the order: {error!r}")
        if refusal is not None:
            self._deny(order.client_order_id, order.owner, refusal, now_ns)
            return
        self.senders.add(order.owner)
        self.originals[order.client_order_id] = order
        self.exposure.add_working(order.client_order_id, order.owner, legs, order.quantity, reduces)
        self.counts["passed"] += 1
        self.port.send(self.gateway, Approved(order))
        self._answered(False, now_ns)         # after the send: a trip's cancel must follow the order, not precede it

    def check(self, order: SubmitOrder, now_ns: int, replacing: bool = False) -> Refusal | None:
        """The first refusal of `order` now, or None: the cheap checks first, the ones that read quotes last;
        an order that only reduces exposure skips the limits on what it would add, and the model collar: the
        model values every strike at the at-the-money vol, so in a skewed market (the real SPX chain's wings) it
        refused exits at the natural and held a short leg open to expiry; exits keep the NBBO collar.
        `replacing`: the order is a working one at a new price (its contracts are already counted as working)."""
        return self._checked(order, now_ns, replacing)[0]

    def _checked(self, order: SubmitOrder, now_ns: int, replacing: bool) -> tuple[Refusal | None, SignedLegs, bool]:
        """`check`'s refusal, with the order's signed legs and whether it reduces exposure (a submit that passes
        is counted as working with them)."""
        refusal = checks.check_order_shape(order.quantity, order.limit_price, order.legs)
        if refusal is not None:
            return refusal, (), False
        if not replacing and order.client_order_id in self.exposure.working:
            return Refusal("bad_order", f"client order id {order.client_order_id} is already working"), (), False
        plan = self._plan(order.legs)
        legs = plan.bought if order.side == "BUY" else plan.sold
        reduces = self.exposure.reduces(legs, order.quantity, order.client_order_id if replacing else None)
        refusal = ((self._state_refusal(order.owner, reduces) if self.states else None)
                   or self._throttle(order.owner, now_ns) or self._calendar_refusal(plan, now_ns)
                   or self._priced_refusal(order, plan, legs, reduces, now_ns, replacing))
        return refusal, legs, reduces

    def _priced_refusal(self, order: SubmitOrder, plan: _LegsPlan, legs: SignedLegs, reduces: bool, now_ns: int,
                        replacing: bool) -> Refusal | None:
        chain = self.chains.get(plan.chain)
        spot = chain.underlying if chain is not None else math.nan
        contracts = order.quantity * plan.per_unit
        reference_usd = spot if math.isfinite(spot) else plan.max_strike
        notional = contracts * plan.multiplier * reference_usd
        premium_usd = abs(order.limit_price) * order.quantity * plan.multiplier * (reference_usd if plan.inverse else 1)
        refusal = (checks.check_size(contracts, premium_usd, notional, self.limits)
                   or (None if plan.inverse else checks.check_structure_bounds(order.limit_price, plan.bounds)))
        if refusal is not None:
            return refusal
        natural = self._natural(order.side, plan)
        if type(natural) is Refusal:
            return natural
        refusal = checks.check_nbbo_collar(order.side, order.limit_price, natural, self.limits)
        if refusal is not None or reduces:
            return refusal               # an exit is held to the quotes only (see the model collar's note below)
        model = self._model(plan, chain, now_ns)
        to_premium = 1.0 / spot if plan.inverse and math.isfinite(spot) else 1.0       # USD per unit -> coin
        refusal = checks.check_model_collar(order.side, order.limit_price, model[0] * to_premium,
                                            model[1] * to_premium, self.limits)
        if refusal is not None:
            return refusal
        return self._exposure_refusal(order, plan, legs, 0 if replacing else contracts, model, spot)

    def _exposure_refusal(self, order: SubmitOrder, plan: _LegsPlan, legs: SignedLegs, adding: int, model,
                          spot: float) -> Refusal | None:
        """`adding`: the contracts the order adds to those working (0 for a replace: they are counted)."""
        exposure, chain = self.exposure, plan.chain
        refusal = ((checks.check_open_orders(len(exposure.working), self.limits) if adding else None)
                   or checks.check_open_contracts(
                       adding + exposure.working_contracts, chain, exposure.by_chain.get(chain, 0),
                       exposure.by_symbol.get(chain[0], 0), exposure.total, self.limits)
                   or checks.check_naked(exposure.uncovered_shorts(legs, order.quantity), self.limits))
        if refusal is not None:
            return refusal
        view = self.view
        if view is not None:
            refusal = checks.check_daily_loss(view.day_pnl_usd, self.limits)
            if refusal is not None:
                return refusal
        current = (0.0, 0.0, 0.0) if view is None else (view.delta_usd, view.vega_usd_per_vol_point,
                                                         view.gamma_usd_per_pct)
        units = order.quantity * plan.multiplier * (1 if order.side == "BUY" else -1)
        spot_usd = spot if math.isfinite(spot) else 0.0
        _, _, delta, gamma, vega = model
        change = (delta * units * spot_usd, vega * units / 100.0, gamma * units * spot_usd ** 2 / 100.0)
        return checks.check_greek_caps(current, change, self.limits)

    def _replace(self, request: ReplaceOrder, now_ns: int) -> None:
        """A replace is a new price (and maybe size) for a working order: the state, the throttle, the collars
        and the size limits apply as to a submit of its legs."""
        working = self.exposure.working.get(request.client_order_id)
        original = self.originals.get(request.client_order_id) if working is not None else None
        if original is None:
            self.port.send(self.gateway, Approved(request))        # unknown here: the gateway answers for it
            return
        quantity = request.quantity or working.leaves
        refusal = self.check(original._replace(limit_price=request.limit_price, quantity=quantity), now_ns,
                             replacing=True)
        if refusal is not None:              # the order works on at its old price: refused as a venue refuses a replace
            self._count_denial(request.client_order_id, request.owner, refusal, now_ns)
            self.port.send(request.owner, CancelRejected(request.client_order_id, f"risk gate: {refusal.reason}",
                                                         now_ns))
            return
        self.counts["replaces_passed"] += 1
        self.port.send(self.gateway, Approved(request))

    def _deny(self, coid: str, owner: str, refusal: Refusal, now_ns: int) -> None:
        self._count_denial(coid, owner, refusal, now_ns)
        self.port.send(owner, OrderDenied(coid, refusal.reason, now_ns, refusal.code))

    def _count_denial(self, coid: str, owner: str, refusal: Refusal, now_ns: int) -> None:
        by_code = self.counts["by_code"]
        by_code[refusal.code] = by_code.get(refusal.code, 0) + 1
        self.counts["denied"] += 1
        self.log.warning("order_denied", client_order_id=coid, owner=owner, code=refusal.code, reason=refusal.reason)
        self.telemetry.count("spreadwright_risk_denials_total", code=refusal.code)
        if refusal.code not in _NOT_ERRORS:
            self._answered(True, now_ns)

    # ------------------------------------------------------------------ the checks that read state

    def _state_refusal(self, owner: str, reduces: bool) -> Refusal | None:
        state = effective_state(self.states, owner)
        if state is TradingState.HALTED:
            scope = SESSION_SCOPE if self.states.get(SESSION_SCOPE) is TradingState.HALTED else owner
            return Refusal("trading_halted", f"{scope} is HALTED: {self.reasons.get(scope, '')}")
        if state is TradingState.REDUCING and not reduces:
            scope = SESSION_SCOPE if self.states.get(SESSION_SCOPE) is TradingState.REDUCING else owner
            return Refusal("reducing_only", f"{scope} is REDUCING ({self.reasons.get(scope, '')}): only orders "
                                            "that reduce exposure pass")
        return None

    def _throttle(self, owner: str, now_ns: int) -> Refusal | None:
        bucket = self.named_buckets.get(owner)
        if bucket is not None:
            wait_s = bucket.take(now_ns)
        else:
            wait_s = self.owner_buckets.take(owner, now_ns) if self.owner_buckets is not None else 0.0
        if wait_s:
            return Refusal("rate_limited", f"{owner} is over its budget of orders a second; next in "
                                           f"{wait_s * 1000:.0f} ms")
        wait_s = self.session_bucket.take(now_ns)
        if wait_s:
            return Refusal("rate_limited", f"the session is over {self.limits.orders_per_s:g} orders/s; next in "
                                           f"{wait_s * 1000:.0f} ms")
        return None

    def _calendar_refusal(self, plan: _LegsPlan, now_ns: int) -> Refusal | None:
        if self.is_open is not None and not self.is_open(now_ns):
            return Refusal("market_closed", "the market is closed")
        for symbol, expiry in plan.option_chains:
            if now_ns >= self._expires_ns(symbol, expiry):
                leg = next(leg.contract for leg in plan.legs if (leg.contract.symbol, leg.contract.expiry)
                           == (symbol, expiry))
                return Refusal("expired_contract", f"{symbol} {expiry} {leg.strike:g}{leg.right} has expired")
        return None

    def _expires_ns(self, symbol: str, expiry: str) -> int:
        chain = self.chains.get((symbol, expiry))
        if chain is not None:
            return chain.expiry_ns
        key = (symbol, expiry)
        if key not in self._expiry_ns:
            self._expiry_ns[key] = settlement_instant_ns(symbol, date.fromisoformat(expiry))
        return self._expiry_ns[key]

    def _plan(self, legs: tuple[OrderLeg, ...]) -> _LegsPlan:
        """What the checks read of an order's legs, kept per legs (a trader sends the same few spreads again and
        again, so the bounds, signed legs and keys are worked out once)."""
        plan = self._plans.get(legs)
        if plan is None:
            if len(self._plans) >= 10_000:
                self._plans.clear()
            plan = self._plans[legs] = _LegsPlan.of(legs, self.products)
        return plan

    def _natural(self, side: str, plan: _LegsPlan) -> float | Refusal:
        """What one unit trades at if it crosses now (`checks.natural_price`), or a refusal naming the leg without
        a usable quote. Legs of one chain read the snapshot at rows kept per plan and chain grid (snapshots of a
        chain share their strike arrays); anything else, and every leg without a usable quote, leg by leg."""
        chain = self.chains.get(plan.chain) if plan.one_chain else None
        if chain is not None:
            rows = plan.rows.get(plan.chain)
            if rows is None or rows[0] is not chain.strikes or rows[1] is not chain.is_call:
                rows = self._plan_rows(plan, chain)
            if rows is not None:
                natural = checks.natural_at_rows(side, plan.ratios, rows[2], chain.bid, chain.ask)
                if not math.isnan(natural):
                    return natural
        return self._natural_by_leg(side, plan)

    def _plan_rows(self, plan: _LegsPlan, chain: ChainQuotes) -> tuple | None:
        """(the chain's strikes array, its is_call array, each leg's row in them), kept in the plan; None when a
        leg is not in the chain."""
        rows = []
        for leg in plan.legs:
            row = self._row(chain, float(leg.contract.strike), leg.contract.right)
            if row is None:
                return None
            rows.append(row)
        entry = plan.rows[plan.chain] = (chain.strikes, chain.is_call, tuple(rows))
        return entry

    def _natural_by_leg(self, side: str, plan: _LegsPlan) -> float | Refusal:
        bids, asks = [], []
        for leg in plan.legs:
            contract = leg.contract
            if contract.right not in ("C", "P"):
                return Refusal("no_quote", f"{contract.symbol} shares are not quoted to the gate")
            chain = self.chains.get((contract.symbol, contract.expiry))
            row = self._row(chain, float(contract.strike), contract.right) if chain is not None else None
            if row is None:
                return Refusal("no_quote", f"no quote for {contract.symbol} {contract.expiry} "
                                           f"{contract.strike:g}{contract.right}")
            bid, ask = float(chain.bid[row]), float(chain.ask[row])
            if not (math.isfinite(bid) and math.isfinite(ask)) or bid < 0 or ask < bid:
                return Refusal("no_quote", f"no usable quote for {contract.symbol} {contract.expiry} "
                                           f"{contract.strike:g}{contract.right} (bid {bid}, ask {ask})")
            bids.append(bid)
            asks.append(ask)
        return checks.natural_price(side, plan.ratios, bids, asks)

    def _row(self, chain: ChainQuotes, strike: float, right: str) -> int | None:
        """The row of (strike, right) in the chain's arrays: from the index of the chain's grid, checked against
        the snapshot's own arrays and made again when they differ (snapshots of one chain share a grid)."""
        key = (chain.symbol, chain.expiry)
        rows = self._rows.get(key)
        for attempt in (0, 1):
            if rows is None or attempt:
                rights = ["C" if call else "P" for call in chain.is_call.tolist()]
                rows = self._rows[key] = {k: row for row, k in enumerate(zip(chain.strikes.tolist(), rights))}
            row = rows.get((strike, right))
            if row is not None and row < len(chain.strikes) and chain.strikes[row] == strike \
                    and bool(chain.is_call[row]) == (right == "C"):
                return row
        return None

    def _model(self, plan: _LegsPlan, chain: ChainQuotes, now_ns: int) -> tuple[float, float, float, float, float]:
        """Per share of one unit, at the chain's model vol: (value, summed |ratio| x leg value, delta, gamma,
        vega); NaN value when the chain gives no vol."""
        vol = self._vol(chain)
        spot = chain.underlying
        if not (math.isfinite(vol) and math.isfinite(spot)):
            return math.nan, 0.0, 0.0, 0.0, 0.0
        t_years = max((chain.expiry_ns - now_ns) / NS_PER_YEAR, _MIN_T_YEARS)
        return legs_value(plan.option_calls, plan.option_strikes, plan.option_ratios, spot, t_years, self.rate, 0.0,
                          vol)

    def _vol(self, chain: ChainQuotes) -> float:
        """The chain's at-the-money implied vol (the call and the put nearest the underlying, mean of those that
        solve), implied again once it is `_VOL_REFRESH_NS` old."""
        key = (chain.symbol, chain.expiry)
        cached = self._vols.get(key)
        if cached is not None and chain.time_ns - cached[0] < _VOL_REFRESH_NS:
            return cached[1]
        vol = _atm_vol(chain, self.rate, venue_iv=chain.symbol in self.products)
        self._vols[key] = (chain.time_ns, vol)
        return vol

    # ------------------------------------------------------------------ events, the book, the venue

    def _event(self, event: Any, now_ns: int) -> None:
        kind = type(event)
        coid = event.client_order_id
        if kind is OrderFilled:
            self.exposure.filled(coid, event.quantity, event.leaves_quantity)
        elif kind is OrderCancelled:
            self.exposure.done(coid)
        elif kind is OrderRejected:
            self.exposure.done(coid)
            if event.code != "duplicate":         # counted as an order when it passed here, if it did
                self._answered(True, now_ns, new_order=coid not in self.originals)
        elif kind is OrderReplaced:
            self.exposure.replaced(coid, event.leaves_quantity)
        if coid not in self.exposure.working:
            self.originals.pop(coid, None)

    def _answered(self, refused: bool, now_ns: int, new_order: bool = True) -> None:
        """An order passed or refused here, or refused at the venue after it passed (`new_order` False): the
        reject-rate trigger's input."""
        reason = self.reject_rate.observe(now_ns, refused, new_order)
        if reason and self.config.kill_switch.enabled:
            self._trip("reject_rate", reason, now_ns)

    def _view(self, view: RiskView, now_ns: int) -> None:
        self.view = view
        reason = self.drawdown.observe(view.time_ns, view.pnl_usd)
        if reason and self.config.kill_switch.enabled:
            self._trip("drawdown", reason, now_ns)

    def _venue(self, status: VenueStatus, now_ns: int) -> None:
        was_down = self.disconnect.down_since_ns is not None
        self.disconnect.update(status.up, status.time_ns, status.reason)
        if not status.up and not was_down:
            self.port.schedule(self.disconnect.grace_ns + 1, ("disconnect",))
            self.log.warning("venue_unreachable", reason=status.reason)
        elif status.up and was_down:
            self.log.info("venue_reachable_again")

    # ------------------------------------------------------------------ trading states

    def _trip(self, trigger: str, reason: str, now_ns: int) -> None:
        if self.states.get(SESSION_SCOPE) is TradingState.HALTED:
            return
        self.counts["trips"] += 1
        self.telemetry.count("spreadwright_kill_switch_trips_total", trigger=trigger)
        self._set_state(SESSION_SCOPE, TradingState.HALTED, reason, trigger, now_ns)

    def _set_state(self, scope: str, state: TradingState, reason: str, trigger: str, now_ns: int,
                   record: bool = True) -> None:
        self.states[scope], self.reasons[scope] = state, reason
        change = StateChange(scope, state.name, reason, trigger, now_ns)
        if record:
            self.port.send(self.gateway, RecordTradingState(change))
        log = self.log.error if state is TradingState.HALTED else self.log.warning
        log("trading_state", scope=scope, state=state.name, trigger=trigger, reason=reason)
        self.telemetry.gauge("spreadwright_risk_state", float(state), scope=scope)
        told = sorted(self.senders) if scope == SESSION_SCOPE else [scope]
        for sender in told:
            self.port.send(sender, TradingStateChanged(scope, state.name, reason, now_ns))
        if state is TradingState.HALTED:
            self._cancel_working(scope)
            self.port.schedule(int(self.config.halt_cancel_within_s * _NS), ("halt_check", scope))

    def _cancel_working(self, scope: str) -> list[str]:
        orders = self.exposure.owners_working(None if scope == SESSION_SCOPE else scope)
        for coid, owner in orders:
            self.port.send(self.gateway, CancelOrder(coid, owner))
        return [coid for coid, _ in orders]

    def _halt_check(self, scope: str, now_ns: int) -> None:
        if self.states.get(scope) is not TradingState.HALTED:
            return
        left = self._cancel_working(scope)
        if left:
            self.log.error("halt_cancel_overdue", scope=scope, working=left[:20], count=len(left),
                           within_s=self.config.halt_cancel_within_s)
            self.telemetry.count("spreadwright_risk_halt_cancel_overdue_total")
            self.port.schedule(int(self.config.halt_cancel_within_s * _NS), ("halt_check", scope))

    def _restore(self, state: RiskState, now_ns: int) -> None:
        """Start from the ledger: positions, working orders and each scope's last state; then the orders that
        waited for it, in order."""
        working = []
        for coid, owner, side, legs, leaves in state.working:
            legs = tuple(((symbol, expiry, float(strike), right), (1 if side == "BUY" else -1) * int(ratio))
                         for symbol, expiry, strike, right, ratio in legs)
            working.append((coid, owner, legs, leaves))
            self.senders.add(owner)
        positions = dict(self.carried)
        for key, contracts in state.positions:
            positions[key] = positions.get(key, 0) + contracts
        self.exposure.restore({key: q for key, q in positions.items() if q}, working)
        for change in state.states:
            change = StateChange(*change)
            if change.state != TradingState.ACTIVE.name:
                self._set_state(change.scope, parse_state(change.state), change.reason, "restore", now_ns,
                                record=False)
        self.restored = True
        self.log.info("risk_state_restored", positions=len(state.positions), working=len(working),
                      states={scope: s.name for scope, s in self.states.items()})
        waiting, self.waiting = self.waiting, []
        for message in waiting:
            self.on_message(message, now_ns)

    def snapshot(self) -> dict[str, Any]:
        exposure = self.exposure
        return {**self.counts, "by_code": dict(self.counts["by_code"]), "working": len(exposure.working),
                "open_contracts": exposure.total, "states": {scope: s.name for scope, s in self.states.items()},
                "restored": self.restored}


class _LegsPlan(NamedTuple):
    """What the checks read of one order's legs, worked out once per legs."""

    legs: tuple[OrderLeg, ...]
    chain: tuple[str, str]                 # (symbol, expiry) of the first leg: its quotes price the order
    multiplier: float
    bought: SignedLegs                     # the legs of a BUY, per unit (core.risk.exposure.signed_legs)
    sold: SignedLegs
    per_unit: int                          # contracts a unit
    bounds: tuple[float, float] | None     # checks.payoff_bounds
    option_chains: tuple[tuple[str, str], ...]
    max_strike: float
    ratios: tuple[int, ...]
    option_calls: np.ndarray               # per option leg (shares left out): is it a call, its strike, its ratio
    option_strikes: np.ndarray
    option_ratios: np.ndarray
    one_chain: bool                        # every leg an option of `chain`
    rows: dict                             # chain -> (strikes array, is_call array, the legs' rows): see _natural
    inverse: bool = False                  # premiums in the coin (valued at the index)

    @classmethod
    def of(cls, legs: tuple[OrderLeg, ...], products: Mapping[str, ProductSpec] | None = None) -> _LegsPlan:
        first = legs[0].contract
        bought = signed_legs(legs, "BUY")
        options = [leg for leg in legs if leg.contract.right in ("C", "P")]
        spec = (products or {}).get(first.symbol)
        multiplier = spec.multiplier if spec is not None else multiplier_of(first.symbol)
        return cls(legs, (first.symbol, first.expiry), multiplier, bought,
                   signed_legs(legs, "SELL"), contracts_per_unit(bought), checks.payoff_bounds(legs),
                   tuple(dict.fromkeys((leg.contract.symbol, leg.contract.expiry) for leg in options)),
                   max(float(leg.contract.strike) for leg in legs), tuple(leg.ratio for leg in legs),
                   np.array([leg.contract.right == "C" for leg in options], dtype=np.bool_),
                   np.array([float(leg.contract.strike) for leg in options], dtype=np.float64),
                   np.array([float(leg.ratio) for leg in options], dtype=np.float64),
                   len(options) == len(legs) and all((leg.contract.symbol, leg.contract.expiry) == (first.symbol,
                                                                                                    first.expiry)
                                                     for leg in legs), {}, spec is not None and spec.inverse)


def _atm_vol(chain: ChainQuotes, rate: float, venue_iv: bool = False) -> float:
    """The mean implied vol of the call and the put nearest the underlying (those that solve); with `venue_iv`
    (a product the gate was given: a crypto venue's, whose coin premiums are not USD prices) the venue's own IV
    there. A US broker's IV (Tradier's, an hour old) is not used: the quotes are."""
    spot = chain.underlying
    if not math.isfinite(spot) or len(chain.strikes) == 0:
        return math.nan
    if venue_iv and chain.iv is not None:
        nearest = np.abs(chain.strikes - spot)
        rows = [int(np.argmin(np.where(chain.is_call == right, nearest, np.inf))) for right in (True, False)]
        values = [float(chain.iv[row]) for row in rows if math.isfinite(chain.iv[row]) and chain.iv[row] > 0]
        return sum(values) / len(values) if values else math.nan
    t_years = max((chain.expiry_ns - chain.time_ns) / NS_PER_YEAR, _MIN_T_YEARS)
    return atm_implied_vol(chain.strikes, chain.is_call, chain.bid, chain.ask, spot, t_years, rate)
