"""ExpirationTrader: the two-part spread on one (symbol, expiration), as a component (seed 001).

The trade loop runs on timers: scan the latest chain for debit verticals, ask the credit
maximizer for the credit spread that offsets each, check the chain's balance, size, submit
the debit part near its mid, cancel it after `cancel_after_seconds`, and wait a randomized
delay scaled by the trading phase. Whatever the debit part fills, the credit part is sent
for; while the chain is imbalanced no new debit is sent, and a debit is cut to the contracts the
balancer still allows. With force_balance_at_close, the close auction (15:45-16:00) opens no new
debit and sells any imbalance at the natural price. Outcomes: FILLED, PARTIAL, TIMEOUT (our
cancel), CANCELLED count toward the fill rate; REJECTED (by the venue) and DENIED (by the risk gate) are logged
and skipped; while the gate holds the trader's scope REDUCING or HALTED it sends nothing. Below
`min_fill_rate` (after 5 attempts) the trader pauses `low_fill_rate_pause_seconds`, then retries.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Hashable

import numpy as np

from actors import names
from actors.messages import (
    REPLAY_RETRY_NS,
    ApplyOptimization,
    AttemptRecorded,
    ChainFill,
    ReplayedOrders,
    ReplayRequest,
    TradingStateChanged,
)
from actors.runtime.component import Component
from actors.runtime.metrics_catalog import OUTCOME_OF_STATUS, TRADING_STATES, size_bucket
from config.execution import BalancerConfig, CreditMaximizerConfig, ExecutorConfig, SizingParameters, TimingParameters
from core.calendar import MarketCalendar, new_york_day, new_york_day_bounds_ns
from core.execution import kernels
from core.execution.balancer import PositionBalancer
from core.execution.credit import CreditMaximizer, OptionChain, SpreadLeg
from core.execution.opportunities import scan_opportunities as scan_debit_verticals
from core.execution.phases import PhaseClock, TradingPhase, delay_multiplier
from core.execution.plan import TwoPartPlan, plan_two_part
from core.expirations import ExpirationCategory, categorize, nominal_friday
from core.instruments import multiplier_of, round_to_tick
from core.orders import (
    NOT_IN_LEDGER,
    TAKE,
    CancelOrder,
    CancelRejected,
    Contract,
    OrderAccepted,
    OrderCancelled,
    OrderDenied,
    OrderFilled,
    OrderLeg,
    OrderRejected,
    SubmitOrder,
    TradingHalted,
    intent_of,
)
from core.quotes import ChainQuotes
from core.units import NEW_YORK

NS = 1_000_000_000
_MIN_ATTEMPTS_FOR_PAUSE = 5
_RECENT = 10
_CLOSED_RECHECK_NS = 60 * NS
_CANCEL_AGAIN_NS = 1_000_000_000
"""A cancel still unanswered is sent again after this long (or the cancel delay, if longer): a cancel sent while
the order path restarts is lost, and a cancel is idempotent."""
_ANSWERS = frozenset({OrderAccepted, OrderFilled, OrderRejected, OrderDenied})     # the events that answer a submit
_DEBITS_TRIED = 5                   # the best debit verticals a plan tries to offset (scan_opportunities' limit)


@dataclass(frozen=True)
class TraderSettings:
    timing: TimingParameters = TimingParameters()
    sizing: SizingParameters = SizingParameters()
    executor: ExecutorConfig = ExecutorConfig()
    credit: CreditMaximizerConfig = CreditMaximizerConfig()
    balancer: BalancerConfig = BalancerConfig()
    session: str = "session"
    seed: int = 0
    max_quote_age_s: float = 30.0
    price_aggressiveness: float = 0.25      # fraction of the half-spread given up from the mid
    market_hours: bool = True               # False: trade around the clock (the simulated paper market)
    decide_on_quote: bool = False           # True: a due attempt waits for the next chain (paper/live sessions)


class _Working:
    __slots__ = ("coid", "part", "quantity", "filled", "submitted_ns", "first_fill_ns", "delay_category", "hour",
                 "credit_plan", "cancel_requested", "legs", "mid", "answered", "labels", "intent")

    def __init__(self, coid, part, quantity, submitted_ns, delay_category, hour, credit_plan, legs, mid,
                 intent) -> None:
        self.coid, self.part, self.quantity, self.filled = coid, part, quantity, 0
        self.submitted_ns, self.first_fill_ns = submitted_ns, None
        self.delay_category, self.hour, self.credit_plan, self.legs = delay_category, hour, credit_plan, legs
        self.cancel_requested, self.mid, self.answered, self.intent = False, mid, False, intent
        self.labels: dict[str, Any] = {}          # the order's metric labels, made once at submit

    @property
    def structure(self) -> str:
        return f"{self.part}_spread"


class ExpirationTrader(Component):
    def __init__(self, symbol: str, expiration: date, settings: TraderSettings = TraderSettings(),
                 gateway: str = names.GATEWAY, balancer: str = names.BALANCER, metrics: str = names.METRICS,
                 calendar: MarketCalendar | None = None) -> None:
        super().__init__(names.trader_name(symbol, expiration))
        self.symbol, self.expiration, self.settings = symbol, expiration, settings
        self._expiry_iso = expiration.isoformat()
        self._coid_prefix = f"{settings.session}:{symbol}:{self._expiry_iso}:"
        self.gateway, self.balancer_name, self.metrics_name = gateway, balancer, metrics
        self.calendar = calendar or MarketCalendar()
        self._phases = PhaseClock(self.calendar)
        self._hour_window: tuple[int, int, int] = (0, 0, 0)     # [start, end) of a New York hour, UTC ns; its hour
        self.credit_maximizer = CreditMaximizer(**settings.credit.model_dump())
        self.balance = PositionBalancer(settings.balancer.max_imbalance, settings.balancer.force_balance_at_close)
        self.rng = np.random.default_rng([settings.seed, zlib.crc32(self.name.encode())])
        self._uniform_draws: list[float] = []
        self.contracts = settings.sizing.current_contracts
        self.chain: OptionChain | None = None
        self.multiplier = multiplier_of(symbol)
        self.complex_tick: float | None = None            # the chain's multi-leg tick, per share (set with the chain)
        self.spot = math.nan
        self.chain_time_ns = 0
        self.today = expiration
        self._today_bounds_ns: tuple[int, int] = (0, 0)     # [start, end) of `today`, UTC ns
        self.working: dict[str, _Working] = {}
        self.session_attempts = self.session_fills = self.sequence = 0
        self.recent: list[bool] = []
        self.takes = [0, 0]                      # [attempts, filled] of orders marketable when sent
        self.paused_until_ns = 0
        self.low_fill_pauses = 0           # pauses in a row with the fill rate below the minimum
        self.trades: list[dict[str, Any]] = []
        self.outcomes: dict[str, int] = {}
        self._last_delay_category = "medium"
        self._plan_cache: tuple[int, Any] = (-1, None)
        self._legs_texts: dict[tuple[OrderLeg, ...], str] = {}
        self.finished: dict[str, _Working] = {}        # done orders: a fill can still arrive after the cancel
        self.replayed_working: dict[str, int] = {}      # an earlier run's orders still working: coid -> filled
        self.replayed_closed: set[str] = set()          # ... the venue said were done (a fill may still come)
        self._state = ""
        self.allowed_hours: frozenset[int] = frozenset()
        self.halted_reason: str | None = None
        self.gate_states: dict[str, str] = {}     # scope -> the risk gate's state for it (TradingStateChanged)
        self.gate_state = "ACTIVE"
        self.cancel_after_ns = int(settings.timing.cancel_after_seconds * NS)
        self.attempt_due = False
        self.resumed = False                     # the ledger's replay has been applied (trading may start)
        self.chain_arrival_ns = 0
        self._trigger = "timer"
        kernels.warm_up()                  # compiled before the session starts, not on its first quote

    def log_context(self) -> dict[str, Any]:
        return {**super().log_context(), "symbol": self.symbol, "expiration": self._expiry_iso}

    # ------------------------------------------------------------------ seed API

    @property
    def days_to_expiry(self) -> int:
        return (self.expiration - self.today).days

    @property
    def expiration_category(self) -> ExpirationCategory:
        friday_is_session = self.calendar.is_session(nominal_friday(self.expiration))
        return categorize(self.expiration, self.today, friday_is_session)

    @property
    def is_optimal_expiration(self) -> bool:
        low, high = self.settings.executor.optimal_expiry_range
        return low <= self.days_to_expiry <= high

    def get_fill_rate(self) -> float:
        return self.session_fills / self.session_attempts if self.session_attempts else 0.0

    def scan_opportunities(self, options: OptionChain, underlying_price: float):
        return scan_debit_verticals(options, underlying_price, self.settings.credit.max_spread_width)

    # ------------------------------------------------------------------ runtime hooks

    def on_start(self, now_ns: int) -> None:
        """Ask the gateway for this trader's orders in the ledger; trading starts once they are replayed.
        The kernels are warmed here too: on Ray a trader is built in the driver and starts in its actor's
        process (also after a restart), which must not compile them on its first quote."""
        kernels.warm_up()
        self._tell_time(now_ns)
        self.resumed = False
        self._ask_replay()

    def _ask_replay(self) -> None:
        self.port.send(self.gateway, ReplayRequest(self.name))
        self.port.schedule(REPLAY_RETRY_NS, ("replay",))

    def _resume(self, replay: ReplayedOrders, now_ns: int) -> None:
        """Rebuild the order counter and the chain balance from the ledger, then start the loop (once: a second
        answer, to a request sent again, changes nothing)."""
        if self.resumed:
            self.log.debug("replay_already_applied", orders=len(replay.orders))
            return
        self.resumed = True
        for coid, filled, price, still_working in replay.orders:
            self.sequence = max(self.sequence, int(coid.split(":")[-2]))
            if filled:
                self._add_to_balance("debit" if coid.endswith(":D") else "credit", filled, price)
            if still_working:
                self.port.send(self.gateway, CancelOrder(coid, self.name))    # no stale orders after a restart
                self.replayed_working[coid] = filled                       # nothing new until it is done
                self.port.schedule(_CANCEL_AGAIN_NS, ("cancel_replayed", coid))
        if replay.orders:                   # a restart: trade on the first chain, the loop's pause was the outage
            balance = self.balance.get_balance(self.symbol, self.expiration)
            self.log.info("resumed_from_ledger", orders=len(replay.orders), next_sequence=self.sequence + 1,
                          net_contracts=balance.net_contracts)
            self.attempt_due = True
        else:
            self._schedule_attempt(now_ns)

    def on_message(self, message: Any, now_ns: int) -> None:
        self._tell_time(now_ns)
        handler = self._CONTROL.get(type(message))
        if handler is None:
            self._on_order_event(message, now_ns)
        else:
            handler(self, message, now_ns)

    def _on_chain(self, message: ChainQuotes, now_ns: int) -> None:
        if message.symbol != self.symbol or message.expiry != self._expiry_iso:
            return                                   # a shared feed sends every chain; this one is not ours
        self.chain = OptionChain(message.strikes, message.is_call, message.bid, message.ask)
        self.complex_tick = message.tick_below_3           # a spread's net price moves in the below-$3 tick
        self.spot, self.chain_time_ns, self.chain_arrival_ns = message.underlying, message.time_ns, now_ns
        if self.attempt_due:
            self.attempt_due, self._trigger = False, "quote"
            self._attempt(now_ns)
            self._trigger = "timer"

    def _on_gate_state(self, message: TradingStateChanged, now_ns: int) -> None:
        """The risk gate put this trader's scope (or the session) in a state: it sends nothing unless ACTIVE
        (its orders open positions) and takes up its loop again when it is."""
        was_active = self.gate_state == "ACTIVE"
        self.gate_states[message.scope] = message.state
        self.gate_state = "ACTIVE" if all(s == "ACTIVE" for s in self.gate_states.values()) else "PAUSED"
        self.log.warning("gate_state", scope=message.scope, state=message.state, reason=message.reason)
        if self.gate_state == "ACTIVE" and not was_active and self.resumed:
            self._schedule_attempt(now_ns)

    def _replayed_event(self, message: Any) -> None:
        """An event for an earlier run's order this trader cancelled on restart: a fill counts in the balance;
        once it is done (cancelled, rejected, filled, or its cancel refused: the venue finished it and told the
        earlier run) the trader may trade again."""
        coid, kind = message.client_order_id, type(message)
        if kind is OrderFilled:
            self._add_to_balance("debit" if coid.endswith(":D") else "credit", message.quantity, message.price)
        if coid in self.replayed_closed:
            return                                  # done already; a fill on its way is counted above
        if kind is OrderFilled:
            self.replayed_working[coid] += message.quantity
        if kind is CancelRejected:
            filled = self.replayed_working.pop(coid)
            self.replayed_closed.add(coid)          # done at the venue (its answer went to the earlier run)
            self.log.info("earlier_order_done", client_order_id=coid, filled=filled, outcome=kind.__name__,
                          reason=message.reason)
        elif kind in (OrderCancelled, OrderRejected) or (kind is OrderFilled and message.leaves_quantity == 0):
            filled = self.replayed_working.pop(coid)
            self.log.info("earlier_order_done", client_order_id=coid, filled=filled, outcome=kind.__name__)

    def _add_to_balance(self, part: str, contracts: int, price_per_share: float) -> None:
        """A fill of the chain's debit or credit part, in the balance."""
        record = self.balance.record_debit_fill if part == "debit" else self.balance.record_credit_fill
        record(self.symbol, self.expiration, contracts, price_per_share)

    def _on_halted(self, message: TradingHalted, now_ns: int) -> None:
        self.halted_reason = message.reason
        self._set_state("HALTED")
        self.log.error("trading_halted", client_order_id=message.client_order_id, reason=message.reason)

    def _on_order_event(self, message: Any, now_ns: int) -> None:
        """An exchange event (core.orders.ORDER_EVENTS) about one of this trader's orders."""
        working = self.working.get(message.client_order_id)
        if working is None and (message.client_order_id in self.replayed_working
                                or message.client_order_id in self.replayed_closed):
            self._replayed_event(message)
            return
        if working is None and type(message) is OrderFilled and message.client_order_id in self.finished:
            self._late_fill(self.finished[message.client_order_id], message, now_ns)
            return
        if working is None:
            if message.client_order_id in self.finished:     # e.g. a cancel refused after the fill won the race
                self.log.debug("late_event", client_order_id=message.client_order_id,
                               message_type=type(message).__name__)
            else:
                self.log.warning("event_for_unknown_order", client_order_id=message.client_order_id,
                                 message_type=type(message).__name__)
            return
        kind = type(message)
        if not working.answered and kind in _ANSWERS:
            working.answered = True
            self.telemetry.observe("spreadwright_order_round_trip_seconds", (now_ns - working.submitted_ns) / NS,
                                   symbol=self.symbol, structure=working.structure)
        if kind is OrderFilled:
            self._trigger = "fill"
            self._on_fill(working, message, now_ns)
            self._trigger = "timer"
        elif kind is OrderAccepted:
            return
        elif kind is OrderCancelled:
            self._finish(working, "TIMEOUT" if working.cancel_requested else "CANCELLED", now_ns)
        elif kind is OrderRejected:
            self.log.warning("order_rejected", client_order_id=working.coid, reason=message.reason)
            self._finish(working, "REJECTED", now_ns)
        elif kind is OrderDenied:
            self.log.info("order_denied", client_order_id=working.coid, code=message.code, reason=message.reason)
            self._finish(working, "DENIED", now_ns)
        elif kind is CancelRejected and message.reason == NOT_IN_LEDGER and not working.answered:
            self.log.warning("order_lost_before_the_gateway", client_order_id=working.coid)
            self._finish(working, "REJECTED", now_ns)          # never written, never sent: free to trade on
        elif kind is CancelRejected:
            self.log.debug("cancel_refused", client_order_id=working.coid, reason=message.reason)
        else:
            self.log.warning("unexpected_message", message_type=kind.__name__)

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        self._tell_time(now_ns)
        if tag[0] == "attempt":
            if self.settings.decide_on_quote:
                self.attempt_due = True        # decided when the next chain arrives: never priced on an old quote
            else:
                self._attempt(now_ns)
        elif tag[0] == "replay":
            if not self.resumed:
                self.log.warning("replay_unanswered", retry_after_s=REPLAY_RETRY_NS / NS)
                self._ask_replay()
        elif tag[0] == "cancel_replayed" and tag[1] in self.replayed_working:
            self.port.send(self.gateway, CancelOrder(tag[1], self.name))       # its answer may be lost in a restart
            self.port.schedule(_CANCEL_AGAIN_NS, tag)
        elif tag[0] == "cancel" and tag[1] in self.working:
            self.working[tag[1]].cancel_requested = True
            self.port.send(self.gateway, CancelOrder(tag[1], self.name))
            self.port.schedule(max(self.cancel_after_ns, _CANCEL_AGAIN_NS), tag)   # a cancel lost in a restart

    def _apply(self, optimization: ApplyOptimization) -> None:
        sizing = self.settings.sizing
        if optimization.contracts is not None:
            self.contracts = min(max(int(optimization.contracts), sizing.min_contracts), sizing.max_contracts)
        if optimization.hours is not None:
            self.allowed_hours = frozenset(optimization.hours)
        if optimization.cancel_after_ms is not None:
            self.cancel_after_ns = int(optimization.cancel_after_ms * 1_000_000)
        self.log.info("optimization_applied", contracts=self.contracts, hours=sorted(self.allowed_hours),
                      cancel_after_ms=self.cancel_after_ns / 1e6)

    _CONTROL = {ChainQuotes: _on_chain, ApplyOptimization: lambda self, message, _now_ns: self._apply(message),
                ReplayedOrders: _resume, TradingHalted: _on_halted, TradingStateChanged: _on_gate_state}
    """The handlers of the messages that are not order events, by type (`on_message`)."""

    def _hour(self, now_ns: int) -> int:
        """The New York hour of `now_ns`, converted once per hour instead of once per order."""
        start_ns, end_ns, hour = self._hour_window
        if not start_ns <= now_ns < end_ns:
            local = datetime.fromtimestamp(now_ns // NS, tz=NEW_YORK).replace(minute=0, second=0)
            start_ns = int(local.timestamp()) * NS
            hour = local.hour
            self._hour_window = (start_ns, start_ns + 3600 * NS, hour)
        return hour

    def _tell_time(self, now_ns: int) -> None:
        if not self._today_bounds_ns[0] <= now_ns < self._today_bounds_ns[1]:
            self.today = new_york_day(now_ns)
            self._today_bounds_ns = new_york_day_bounds_ns(self.today)

    # ------------------------------------------------------------------ the loop

    def _attempt(self, now_ns: int) -> None:
        if self.halted_reason:
            return                          # halted until a person or a supervisor clears it
        if self.gate_state != "ACTIVE":
            return                          # until the gate says ACTIVE again (TradingStateChanged)
        phase = self._phases.phase(now_ns) if self.settings.market_hours else TradingPhase.MIDDAY
        multiplier = delay_multiplier(phase, self.settings.timing.open_auction_delay_multiplier,
                                      self.settings.timing.close_auction_delay_multiplier)
        if multiplier is None or self.days_to_expiry < 0:
            if self.days_to_expiry >= 0:
                self.port.schedule(_CLOSED_RECHECK_NS, ("attempt",))
            return
        if now_ns < self.paused_until_ns:
            self._set_state("REDUCING")
            self.port.schedule(self.paused_until_ns - now_ns, ("attempt",))
            return
        self._set_state("ACTIVE")
        hour_allowed = not self.allowed_hours or self._hour(now_ns) in self.allowed_hours
        idle = not self.working and not self.replayed_working
        if self._quotes_usable(now_ns) and idle and (hour_allowed or phase is TradingPhase.CLOSE_AUCTION):
            imbalance = self.balance.get_balance(self.symbol, self.expiration).net_contracts
            closing = phase is TradingPhase.CLOSE_AUCTION
            if imbalance > 0:
                self._send_credit(imbalance, None, now_ns, marketable=closing)
            elif not (closing and self.balance.force_balance_at_close):
                self._send_debit(now_ns)
        self._schedule_attempt(now_ns, multiplier)

    def _quotes_usable(self, now_ns: int) -> bool:
        return (self.chain is not None and math.isfinite(self.spot)
                and now_ns - self.chain_time_ns <= self.settings.max_quote_age_s * NS)

    def _plan(self) -> TwoPartPlan | None:
        """The best (debit opportunity, credit spread) for the current chain; cached per chain snapshot."""
        if self._plan_cache[0] != self.chain_time_ns:
            plan = plan_two_part(self.chain, self.spot, self.credit_maximizer, self.settings.credit.max_spread_width,
                                 tries=_DEBITS_TRIED)
            self._plan_cache = (self.chain_time_ns, plan)
        return self._plan_cache[1]

    def _send_debit(self, now_ns: int) -> None:
        """A debit order of the adaptive size, cut to what the balancer still allows: a size grown past
        `max_imbalance` must not silence the trader. The balancer is asked before the chain is searched."""
        quantity = min(self.contracts, self.balance.debit_room(self.symbol, self.expiration))
        if quantity < self.settings.sizing.min_contracts:
            return
        plan = self._plan()
        if plan is None:
            return
        opportunity, credit = plan
        legs = (self._leg(opportunity.long_leg, 1), self._leg(opportunity.short_leg, -1))
        mid = _mid(opportunity.long_leg) - _mid(opportunity.short_leg)
        target = mid + self.settings.price_aggressiveness * (opportunity.cost - mid)
        limit = self._on_tick(target, buying=True)
        self._submit("debit", legs, "BUY", quantity, limit, credit, now_ns, mid,
                     intent_of("BUY", limit, opportunity.cost))

    def _send_credit(self, quantity: int, credit_plan, now_ns: int, marketable: bool = False) -> None:
        if credit_plan is None:
            credit_plan = self.credit_maximizer.find_credit_spread(self.chain, self.spot,
                                                                   self.settings.credit.min_credit_threshold)
            if credit_plan is None:
                return
        credit_long, credit_short, natural_credit = credit_plan
        legs = (self._leg(credit_short, 1), self._leg(credit_long, -1))       # selling this combo sells the short
        mid = _mid(credit_short) - _mid(credit_long)
        target = natural_credit if marketable else mid - self.settings.price_aggressiveness * (mid - natural_credit)
        limit = self._on_tick(target, buying=False, take=marketable)
        self._submit("credit", legs, "SELL", quantity, limit, None, now_ns, mid,
                     intent_of("SELL", limit, natural_credit))

    def _on_tick(self, target: float, buying: bool, take: bool = False) -> float:
        """`target` on the combo's tick grid (at least one tick): rounded away from crossing (a buy down, a sell
        up), so rounding never turns a resting order into a take, unless the order is meant to take (`take`) or
        `executor.limit_rounding` is `toward_natural`."""
        toward = take or self.settings.executor.limit_rounding == "toward_natural"
        return max(round_to_tick(target, self.complex_tick, up=buying if toward else not buying), self.complex_tick)

    def _submit(self, part: str, legs, side: str, quantity: int, limit: float, credit_plan, now_ns: int,
                mid: float, intent: str) -> None:
        self.sequence += 1
        coid = f"{self._coid_prefix}{self.sequence}:{part[0].upper()}"
        hour = self._hour(now_ns)
        working = self.working[coid] = _Working(coid, part, quantity, now_ns, self._last_delay_category, hour,
                                                credit_plan, legs, mid, intent)
        self.port.send(self.gateway, SubmitOrder(coid, self.name, legs, side, quantity, limit, intent))
        working.labels = self._order_labels(working)
        self.telemetry.count("spreadwright_orders_submitted_total", **working.labels)
        self.telemetry.observe("spreadwright_quote_to_order_seconds", max(now_ns - self.chain_time_ns, 0) / NS,
                               symbol=self.symbol)
        self.port.schedule(self.cancel_after_ns, ("cancel", coid))
        self.log.info("order_sent", client_order_id=coid, part=part, side=side, quantity=quantity, limit=limit,
                      intent=intent, trigger=self._trigger, decided_ns=now_ns)

    def _order_labels(self, working: _Working) -> dict[str, Any]:
        return {"symbol": self.symbol, "expiration": self._expiry_iso, "structure": working.structure,
                "hour": working.hour, "size": size_bucket(working.quantity), "intent": working.intent}

    def _set_state(self, state: str) -> None:
        """The trading_state gauge: 1 for `state`, 0 for the others (emitted on change only)."""
        if state == self._state:
            return
        self._state = state
        for each in TRADING_STATES:
            self.telemetry.gauge("spreadwright_trading_state", float(each == state), trader=self.name, state=each)

    def _leg(self, leg: SpreadLeg, ratio: int) -> OrderLeg:
        return OrderLeg(Contract(self.symbol, self._expiry_iso, leg.strike, leg.right), ratio)

    # ------------------------------------------------------------------ outcomes

    def _on_fill(self, working: _Working, fill: OrderFilled, now_ns: int) -> None:
        working.filled = fill.cumulative_quantity
        working.first_fill_ns = working.first_fill_ns or now_ns
        self._record_fill(working, fill, now_ns)
        if fill.leaves_quantity == 0:
            self._finish(working, "FILLED" if working.filled >= working.quantity else "PARTIAL", now_ns)

    def _late_fill(self, working: _Working, fill: OrderFilled, now_ns: int) -> None:
        """A fill of an order already done here (the venue sent it after its cancel: the fill was in flight). It
        is the position's all the same: recorded like any fill, and a debit's credit part is sent for it."""
        self.log.warning("fill_after_done", client_order_id=working.coid, quantity=fill.quantity, part=working.part)
        working.filled = fill.cumulative_quantity
        self._record_fill(working, fill, now_ns)
        if working.part == "debit" and self._quotes_usable(now_ns):
            self._send_credit(fill.quantity, None, now_ns)

    def _record_fill(self, working: _Working, fill: OrderFilled, now_ns: int) -> None:
        worse_per_share = abs(fill.price) - working.mid if working.part == "debit" else working.mid - abs(fill.price)
        self.telemetry.observe("spreadwright_fill_slippage_usd_per_contract", abs(worse_per_share) * self.multiplier,
                               symbol=self.symbol, structure=working.structure,
                               direction="worse" if worse_per_share > 0 else "better")
        self._add_to_balance(working.part, fill.quantity, abs(fill.price))
        self.port.send(self.balancer_name, ChainFill(self.symbol, self._expiry_iso, working.part,
                                                     fill.quantity, abs(fill.price)))
        self.trades.append({"time_ns": now_ns, "trader": self.name, "symbol": self.symbol,
                            "expiration": self._expiry_iso, "part": working.part,
                            "client_order_id": working.coid, "quantity": fill.quantity, "price": fill.price,
                            "intent": working.intent, "legs": self._legs_text(working.legs)})

    def _legs_text(self, legs: tuple[OrderLeg, ...]) -> str:
        """The trade CSV's legs column ("+1x450C -1x455C"), formatted once per spread a trader trades."""
        text = self._legs_texts.get(legs)
        if text is None:
            text = self._legs_texts[legs] = " ".join(f"{leg.ratio:+d}x{leg.contract.strike:g}{leg.contract.right}"
                                                     for leg in legs)
        return text

    def _finish(self, working: _Working, outcome: str, now_ns: int) -> None:
        self.working.pop(working.coid, None)
        self.finished[working.coid] = working
        if outcome in ("TIMEOUT", "CANCELLED") and working.filled > 0:
            outcome = "PARTIAL"
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.telemetry.count("spreadwright_order_outcomes_total", outcome=OUTCOME_OF_STATUS[outcome],
                             **working.labels)
        if outcome != "REJECTED" and outcome != "DENIED":
            self._learn(working, outcome, now_ns)
        if working.part == "debit" and working.filled > 0 and self._quotes_usable(now_ns):
            self._send_credit(working.filled, working.credit_plan, now_ns)

    def _learn(self, working: _Working, outcome: str, now_ns: int) -> None:
        """A finished attempt: a take (marketable when sent) is counted apart; a make feeds the fill rate, the
        size, the pause rule and OptimizationMetrics, which learn what resting orders achieve."""
        filled = working.filled > 0
        fill_ms = (working.first_fill_ns - working.submitted_ns) / 1e6 if filled else None
        self.port.send(self.metrics_name, AttemptRecorded(self.symbol, self._expiry_iso, working.quantity,
                                                          working.hour, working.delay_category, filled, fill_ms,
                                                          outcome, working.intent))
        if working.intent == TAKE:
            self.takes[0] += 1
            self.takes[1] += filled
            return
        self.session_attempts += 1
        self.session_fills += filled
        self.recent = (self.recent + [filled])[-_RECENT:]
        self._adapt_size()
        self._maybe_pause(now_ns)

    def _adapt_size(self) -> None:
        if len(self.recent) < 5:
            return
        rate, sizing = sum(self.recent) / len(self.recent), self.settings.sizing
        if rate >= sizing.size_increase_threshold:
            self.contracts = min(self.contracts + 1, sizing.max_contracts)
        elif rate <= sizing.size_decrease_threshold:
            self.contracts = max(self.contracts - 1, sizing.min_contracts)

    def _maybe_pause(self, now_ns: int) -> None:
        """Pause while the fill rate is below the minimum. The first pause of a run of them is a warning, the
        ones after it debug lines, and the recovery says how many pauses it took: one line per episode, not one
        a minute per trader."""
        rate = self.get_fill_rate()
        if self.session_attempts < _MIN_ATTEMPTS_FOR_PAUSE or rate >= self.settings.executor.min_fill_rate:
            if self.low_fill_pauses:
                self.log.info("fill_rate_recovered", fill_rate=round(rate, 3), pauses=self.low_fill_pauses)
                self.low_fill_pauses = 0
            return
        pause_s = self.settings.timing.low_fill_rate_pause_seconds
        self.paused_until_ns = now_ns + int(pause_s * NS)
        self.low_fill_pauses += 1
        log = self.log.warning if self.low_fill_pauses == 1 else self.log.debug
        log("fill_rate_below_minimum", fill_rate=round(rate, 3), pause_s=pause_s, pauses=self.low_fill_pauses)

    # ------------------------------------------------------------------ timing

    def _schedule_attempt(self, now_ns: int, multiplier: float = 1.0) -> None:
        timing = self.settings.timing
        low, high = timing.min_delay_between_attempts, timing.max_delay_between_attempts
        base_s = self._uniform(low, high)
        jitter = 1.0 + self._uniform(-timing.random_delay_factor, timing.random_delay_factor)
        third = (high - low) / 3.0
        self._last_delay_category = ("short" if base_s < low + third else "medium" if base_s < low + 2 * third
                                     else "long")
        self.port.schedule(max(int(base_s * jitter * multiplier * NS), 1), ("attempt",))

    def _uniform(self, low: float, high: float) -> float:
        """`self.rng.uniform(low, high)`, bit for bit and from the same stream, with the standard draws
        taken 256 at a time: a scalar draw from a numpy Generator costs more than the rest of a delay."""
        if not self._uniform_draws:
            self._uniform_draws = self.rng.random(256).tolist()[::-1]
        return low + (high - low) * self._uniform_draws.pop()

    def snapshot(self) -> dict[str, Any]:
        balance = self.balance.get_balance(self.symbol, self.expiration)
        return {"symbol": self.symbol, "expiration": self.expiration.isoformat(), "fill_rate": self.get_fill_rate(),
                "session_attempts": self.session_attempts, "session_fills": self.session_fills,
                "current_contracts": self.contracts, "net_contracts": balance.net_contracts,
                "net_premium": round(balance.net_premium, 2), "outcomes": dict(self.outcomes),
                "take_attempts": self.takes[0], "take_fills": self.takes[1],
                "working": len(self.working), "trades": len(self.trades), "halted": self.halted_reason}


def _mid(leg: SpreadLeg) -> float:
    return 0.5 * (leg.bid + leg.ask)
