"""StrangleTrader: seed 004's delta-targeted short strangle on one coin, as a component.

Every `decide_every_s` it looks at the chains it is routed (one per listed expiry) and acts by phase:

- **flat**: inside the IST entry window and under the day's entry count, it picks the nearest expiry past the
  buffer (`core.strategy.strangle.choose_expiry`), the call and put in the delta band (`pick_strikes`), and sells
  `quantity` of each;
- **opening** / **closing**: each leg works a limit on a ladder from the mid to the touch (sells from the mid down
  to the bid, buys from the mid up to the ask; each step rounded away from the far touch, `reprice_after_s`
  apart), then at the touch until filled. A leg that cannot be sold leaves the other bought back: the entry is
  abandoned (`entry_failed`) rather than left with one naked leg;
- **held**: the P&L in USD (premium received, each fill at the index when it filled, less the cost to buy both
  legs back at the asks now) goes through `exit_reason`: max loss, max profit, trailing level, expiry buffer, exit
  window.

An option still held at its expiry settles at its intrinsic value against the settlement price the market sends
(`UnderlyingClose`). A (re)started trader first asks the gateway for its orders in the ledger (`ReplayRequest`) and
resumes what they hold: an even strangle is held again, an uneven one (a leg alone, or one working order) is
closed; fills from before the restart are valued in USD at the first index it sees (the ledger keeps premiums,
not the index at each fill). Each finished strangle is a trade (`trades`): strikes, credit and debit per unit, P&L
in coin and in USD, the reason it closed. Prices are the venue's (coin for an inverse product).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Hashable

import numpy as np

from actors import names
from actors.messages import REPLAY_RETRY_NS, ReplayedOrders, ReplayRequest, TradingStateChanged, UnderlyingClose
from actors.runtime.component import Component
from config.crypto import StrangleConfig, clock_time
from core.expirations import expiry_instant_ns
from core.instruments import ProductSpec, product, round_to_tick
from core.orders import (
    CancelOrder,
    CancelRejected,
    Contract,
    OrderAccepted,
    OrderCancelled,
    OrderDenied,
    OrderFilled,
    OrderLeg,
    OrderRejected,
    OrderSide,
    SubmitOrder,
    TradingHalted,
)
from core.quotes import ChainQuotes
from core.risk.states import SESSION_SCOPE
from core.strategy.strangle import INDIA, ExitLimits, choose_expiry, exit_reason, in_window, pick_strikes
from core.units import NS_PER_SECOND

FLAT, OPENING, HELD, CLOSING = "flat", "opening", "held", "closing"
SETTLEMENT_GRACE_NS = 15 * 60 * NS_PER_SECOND
"""How long after its expiry a strangle still held waits for the settlement price before it is settled at the
last index seen (a live venue settles without telling the trader)."""


@dataclass
class LegState:
    """One leg of the strangle: what was sold and bought back, and the order working now."""

    contract: Contract
    sold: int = 0
    bought: int = 0
    sold_coin: float = 0.0          # premium x contracts, in the venue's premium unit per unit of underlying
    bought_coin: float = 0.0
    sold_usd: float = 0.0           # the same, each fill at the index when it filled
    bought_usd: float = 0.0
    working: str | None = None
    working_since_ns: int = 0
    cancel_sent_ns: int = -1
    step: int = 0
    failed: bool = False
    replayed_orders: set = field(default_factory=set)      # at a restart: the client order ids the ledger had

    @property
    def open_contracts(self) -> int:
        return self.sold - self.bought


@dataclass
class Strangle:
    expiry: str
    expiry_ns: int
    opened_ns: int
    legs: dict[str, LegState] = field(default_factory=dict)
    peak_pnl_usd: float = 0.0
    reason: str = ""
    orders: set = field(default_factory=set)        # the client order ids of this strangle's orders


class StrangleTrader(Component):
    def __init__(self, config: StrangleConfig, gateway: str = names.GATEWAY, session: str = "",
                 spec: ProductSpec | None = None, held: dict[tuple, int] | None = None,
                 held_at_ns: int | None = None) -> None:
        """`spec`: the product as the venue lists it (`core.instruments.venue_product`; default Deribit's, which the
        simulated market and the paper exchange quote): its contract size and premium currency value the P&L.
        `held`: the ledger's net positions when the session started (`held_at_ns`; (symbol, expiry, strike, right)
        -> contracts), reconciled with the venue: a restart resumes no more than they hold (a paper exchange
        started anew has lost the old book), plus what this session's own orders (sent from `held_at_ns` on)
        filled since, so a component restarted mid-session (a Ray actor) resumes all it traded."""
        self.held, self.held_at_ns = held, held_at_ns
        super().__init__(names.strangle_name(config.symbol))
        self.config = config
        self.spec = spec if spec is not None else product(config.symbol)
        self.gateway = gateway
        self.session = session
        self.limits = config.exit_limits()
        self.entry_window = (clock_time(config.entry_start_ist), clock_time(config.entry_end_ist))
        self.chains: dict[str, ChainQuotes] = {}
        self.phase = FLAT
        self.current: Strangle | None = None
        self.entries: dict[date, int] = {}
        self.trades: list[dict[str, Any]] = []
        self.owners: dict[str, str] = {}            # client order id -> 'C' or 'P'
        self.sides: dict[str, str] = {}             # client order id -> BUY or SELL
        self.sequence = 0
        self.counts = {"orders": 0, "fills": 0, "rejects": 0, "cancels": 0, "waits": 0}
        self.last_wait = ""
        self.index_usd = float("nan")
        self.stopped = False
        self.trading_state = "ACTIVE"           # the risk gate's word for this trader (or the session)
        self.replaying = False
        self.revalue_at_next_quote = False

    def log_context(self) -> dict[str, Any]:
        return {"session": self.session, "symbol": self.config.symbol}

    # ------------------------------------------------------------------ messages

    def on_start(self, now_ns: int) -> None:
        self.replaying = True
        self.port.send(self.gateway, ReplayRequest(self.name, with_legs=True))
        self.port.schedule(REPLAY_RETRY_NS, ("replay",))
        self.port.schedule(int(self.config.decide_every_s * NS_PER_SECOND), ("decide",))

    def on_message(self, message: Any, now_ns: int) -> None:
        handler = self._HANDLERS.get(type(message))
        if handler is None:
            raise TypeError(f"{self.name} cannot handle {type(message).__name__}")
        handler(self, message, now_ns)

    def _on_quotes(self, chain: ChainQuotes, now_ns: int) -> None:
        self.chains[chain.expiry] = chain
        self.index_usd = chain.underlying
        if self.revalue_at_next_quote:
            self._revalue(chain.underlying)
        for expiry in [e for e, c in self.chains.items() if c.expiry_ns <= now_ns]:
            del self.chains[expiry]

    def _on_cancelled(self, event: OrderCancelled, now_ns: int) -> None:
        self._order_done(event.client_order_id, now_ns)

    def _on_refused(self, event: OrderRejected | OrderDenied, now_ns: int) -> None:
        self.counts["rejects"] += 1
        self.log.warning("strangle_order_refused", client_order_id=event.client_order_id, reason=event.reason,
                         code=event.code)
        self._order_done(event.client_order_id, now_ns, failed=True)

    def _on_replayed(self, replayed: ReplayedOrders, now_ns: int) -> None:
        if self.replaying:
            self._resume(replayed, now_ns)

    def _on_state(self, change: TradingStateChanged, now_ns: int) -> None:
        """HALTED: no order at all; REDUCING: exits only; ACTIVE: all (the risk gate says, for the session or for
        this trader)."""
        if change.scope in (SESSION_SCOPE, self.name):
            self.trading_state = change.state
            self.log.warning("strangle_trading_state", state=change.state, reason=change.reason)

    def _on_halted(self, halted: TradingHalted, now_ns: int) -> None:
        self.trading_state = "HALTED"
        self.log.error("strangle_halted_by_gateway", reason=halted.reason)

    def _on_cancel_refused(self, refused: CancelRejected, now_ns: int) -> None:
        self.log.warning("strangle_cancel_refused", client_order_id=refused.client_order_id, reason=refused.reason)

    def _ignore(self, message: Any, now_ns: int) -> None:
        return None

    def on_stop(self, now_ns: int) -> None:
        """Decide no more: a stopping session cancels what works at the venue after this."""
        self.stopped = True

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        if self.stopped:
            return
        if tag[0] == "replay":
            if self.replaying:                            # the answer was lost (a restarting actor): ask again
                self.port.send(self.gateway, ReplayRequest(self.name, with_legs=True))
                self.port.schedule(REPLAY_RETRY_NS, ("replay",))
            return
        self.port.schedule(int(self.config.decide_every_s * NS_PER_SECOND), ("decide",))
        if self.replaying:
            return
        if self.current is not None and now_ns >= self.current.expiry_ns + SETTLEMENT_GRACE_NS:
            self._expired_unconfirmed(now_ns)
            return
        if self.trading_state == "HALTED":
            return
        if self.phase == FLAT:
            if self.trading_state == "ACTIVE":
                self._maybe_enter(now_ns)
        elif self.phase == HELD:
            self._maybe_exit(now_ns)
        else:
            self._work_legs(now_ns)

    # ------------------------------------------------------------------ entry

    def _maybe_enter(self, now_ns: int) -> None:
        day = _ist_day(now_ns)
        if self.entries.get(day, 0) >= self.config.max_entries_per_day:
            return
        if not in_window(now_ns, *self.entry_window, INDIA):
            return
        chain = self._entry_chain(now_ns)
        if isinstance(chain, str):
            self._wait(chain)
            return
        if chain.delta is None:
            self._wait(f"the {chain.expiry} chain has no deltas")
            return
        pick = pick_strikes(chain.strikes, chain.is_call, chain.delta, chain.bid, self.config.delta_band)
        if isinstance(pick, str):
            self._wait(f"{chain.expiry}: {pick}")
            return
        self.entries[day] = self.entries.get(day, 0) + 1
        self.current = Strangle(chain.expiry, chain.expiry_ns, now_ns, {
            "C": LegState(Contract(self.config.symbol, chain.expiry, pick.call_strike, "C")),
            "P": LegState(Contract(self.config.symbol, chain.expiry, pick.put_strike, "P"))})
        self.phase = OPENING
        self.log.info("strangle_entry", expiry=chain.expiry, call=pick.call_strike, put=pick.put_strike,
                      call_delta=round(pick.call_delta, 3), put_delta=round(pick.put_delta, 3),
                      credit_per_unit=pick.credit)
        self._work_legs(now_ns)

    def _entry_chain(self, now_ns: int) -> ChainQuotes | str:
        if not self.chains:
            return "no chain yet"
        chains = list(self.chains.values())
        chosen = choose_expiry(np.array([c.expiry_ns for c in chains]), now_ns, self.limits.expiry_buffer_s,
                               self.config.max_expiry_days)
        if chosen is None:
            return f"no expiry between the buffer and {self.config.max_expiry_days} days"
        return chains[chosen]

    def _wait(self, reason: str) -> None:
        self.counts["waits"] += 1
        if reason != self.last_wait:
            self.log.info("strangle_waits", reason=reason)
            self.last_wait = reason

    # ------------------------------------------------------------------ exits

    def _maybe_exit(self, now_ns: int) -> None:
        """The exit rules; without a mark for a leg (no ask) the time rules still apply: the P&L ones wait."""
        strangle = self.current
        pnl_usd = self.pnl_usd()
        if pnl_usd is None:
            neutral = ExitLimits(float("inf"), float("inf"), (), *self.limits[3:])
            reason = exit_reason(0.0, 0.0, now_ns, strangle.expiry_ns, neutral, INDIA)
        else:
            strangle.peak_pnl_usd = max(strangle.peak_pnl_usd, pnl_usd)
            reason = exit_reason(pnl_usd, strangle.peak_pnl_usd, now_ns, strangle.expiry_ns, self.limits, INDIA)
        if reason is not None:
            self._start_closing(reason, now_ns)

    def _start_closing(self, reason: str, now_ns: int) -> None:
        self.current.reason = reason
        self.phase = CLOSING
        for leg in self.current.legs.values():
            leg.step, leg.failed = 0, False
        self.log.info("strangle_exit", reason=reason, pnl_usd=self.pnl_usd())
        self._work_legs(now_ns)

    def pnl_usd(self) -> float | None:
        """The held strangle's P&L in USD: premium received less premium paid (each at its fill's index) less the
        cost of buying back what is open at the asks now, at the index now; None without a quote for a leg."""
        if self.current is None:
            return 0.0
        chain = self.chains.get(self.current.expiry)
        units = self.spec.multiplier
        total = 0.0
        for leg in self.current.legs.values():
            total += (leg.sold_usd - leg.bought_usd) * units
            if leg.open_contracts:
                row = _row(chain, leg.contract)
                if row is None or chain.ask[row] <= 0:
                    return None
                ask_usd = self.spec.premium_usd(float(chain.ask[row]), chain.underlying)
                total -= leg.open_contracts * ask_usd * units
        return total

    # ------------------------------------------------------------------ orders

    def _work_legs(self, now_ns: int) -> None:
        """Send, reprice or give up each leg's order; move on when every leg is done. Opening stops at once when a
        leg fails or the expiry comes within the buffer (every working sell cancelled: no leg sold alone any longer
        than a cancel takes); closing cancels any sell still working (a restart can find one)."""
        strangle = self.current
        chain = self.chains.get(strangle.expiry)
        selling = self.phase == OPENING
        if selling and (any(leg.failed for leg in strangle.legs.values())
                        or (strangle.expiry_ns - now_ns) / NS_PER_SECOND < self.limits.expiry_buffer_s):
            for leg in strangle.legs.values():
                leg.failed = True
            selling = False
        for right, leg in strangle.legs.items():
            if leg.working is not None:
                if self._working_is_stale(leg, now_ns, selling):
                    self.port.send(self.gateway, CancelOrder(leg.working, self.name))
                    self.counts["cancels"] += 1
                continue
            if self.phase != OPENING and self.phase != CLOSING or chain is None:
                continue
            if selling:
                self._send(right, leg, chain, self.config.quantity - leg.sold, True, now_ns)
            elif self.phase == CLOSING and leg.open_contracts > 0:
                self._send(right, leg, chain, leg.open_contracts, False, now_ns)
        self._advance(now_ns)

    def _working_is_stale(self, leg: LegState, now_ns: int, selling: bool) -> bool:
        """Whether a working order is to be cancelled now: a sell once opening has stopped, else after
        `reprice_after_s` (a cancel already sent is not sent again until the next period)."""
        is_sell = self.sides.get(leg.working) == OrderSide.SELL.value
        if is_sell and not selling:
            due = leg.working_since_ns
        else:
            due = leg.working_since_ns + int(self.config.reprice_after_s * NS_PER_SECOND)
        if now_ns < due or leg.cancel_sent_ns >= due:
            return False
        leg.cancel_sent_ns = now_ns
        return True

    def _send(self, right: str, leg: LegState, chain: ChainQuotes, quantity: int, selling: bool, now_ns: int) -> None:
        if quantity <= 0 or self.stopped:
            return
        if selling and leg.step > self.config.max_reprices:
            leg.failed = True               # sold at the bid for a whole step and still unsold: give the entry up
            return
        row = _row(chain, leg.contract)
        price = None
        if row is not None:
            price = _ladder_price(float(chain.bid[row]), float(chain.ask[row]), leg.step, self.config.max_reprices,
                                  selling, chain)
        if price is None:                   # no quote to price it on: a step goes by all the same
            if selling:
                leg.step += 1
            return
        self.sequence += 1
        coid = f"{self.name}-{now_ns // NS_PER_SECOND}-{self.sequence}"
        side = OrderSide.SELL.value if selling else OrderSide.BUY.value
        self.owners[coid], self.sides[coid] = right, side
        self.current.orders.add(coid)
        leg.working, leg.working_since_ns = coid, now_ns
        leg.step = min(leg.step + 1, self.config.max_reprices + 1)
        self.counts["orders"] += 1
        self.port.send(self.gateway, SubmitOrder(coid, self.name, (OrderLeg(leg.contract, 1),), side, quantity, price))

    def _advance(self, now_ns: int) -> None:
        strangle = self.current
        legs = strangle.legs.values()
        if any(leg.working for leg in legs):
            return
        if self.phase == OPENING:
            if all(leg.sold == self.config.quantity for leg in legs):
                self.phase = HELD
                self.log.info("strangle_opened", expiry=strangle.expiry, credit_usd=self._credit_usd())
            elif any(leg.failed for leg in legs):
                self._start_closing("entry_failed", now_ns)
        elif self.phase == CLOSING and all(leg.open_contracts <= 0 for leg in legs):
            if any(leg.open_contracts < 0 for leg in legs):
                self.log.error("strangle_bought_back_too_much", open={r: g.open_contracts for r, g in
                                                                      strangle.legs.items()},
                               hint="a long option is left: close it by hand or let it expire")
            self._record_trade(now_ns)

    def _on_fill(self, fill: OrderFilled, now_ns: int) -> None:
        right = self.owners.get(fill.client_order_id)
        if right is None or self.current is None or fill.client_order_id not in self.current.orders:
            self.log.error("strangle_fill_outside_a_strangle", client_order_id=fill.client_order_id,
                           quantity=fill.quantity, price=fill.price,
                           hint="a fill for a strangle already closed or settled: check the position at the venue")
            self.counts["stray_fills"] = self.counts.get("stray_fills", 0) + 1
            return
        leg = self.current.legs[right]
        chain = self.chains.get(self.current.expiry)
        index = chain.underlying if chain is not None else self.index_usd
        usd = self.spec.premium_usd(fill.price, index) * fill.quantity
        self.counts["fills"] += 1
        if self._is_sell(fill.client_order_id):
            leg.sold += fill.quantity
            leg.sold_coin += fill.price * fill.quantity
            leg.sold_usd += usd
        else:
            leg.bought += fill.quantity
            leg.bought_coin += fill.price * fill.quantity
            leg.bought_usd += usd
        if fill.leaves_quantity == 0:
            self._order_done(fill.client_order_id, now_ns)

    def _is_sell(self, coid: str) -> bool:
        return self.sides[coid] == OrderSide.SELL.value

    def _order_done(self, coid: str, now_ns: int, failed: bool = False) -> None:
        right = self.owners.get(coid)
        if right is None or self.current is None:
            return
        leg = self.current.legs[right]
        if leg.working == coid:
            leg.working = None
            if failed and self.phase == OPENING:
                leg.failed = True
        if self.phase in (OPENING, CLOSING) and not self.stopped and self.trading_state != "HALTED":
            self._work_legs(now_ns)              # at once: the next step, or the other leg's sell cancelled
        else:
            self._advance(now_ns)

    # ------------------------------------------------------------------ restart

    def _resume(self, replayed: ReplayedOrders, now_ns: int) -> None:
        """Rebuild the strangle the ledger shows open (see the module's docstring)."""
        self.replaying = False
        legs: dict[tuple[str, float, str], LegState] = {}
        since_start: dict[tuple[str, float, str], int] = {}          # contracts sold less bought by this session
        opened_ns: dict[str, int] = {}
        expiries = replayed.expiries or ("",) * len(replayed.orders)
        for (coid, filled, price, working, side, order_legs, intent_ns), expiry in zip(replayed.rows(), expiries):
            self.sequence = max(self.sequence, _sequence_of(coid))
            if not order_legs or not expiry:
                continue
            right, strike, _ = order_legs[0]
            contract = Contract(self.config.symbol, expiry, strike, right)
            leg = legs.setdefault((expiry, strike, right), LegState(contract))
            self.owners[coid], self.sides[coid] = right, side
            leg.replayed_orders.add(coid)
            _replay_fill(leg, side, filled, price)
            if self.held_at_ns is not None and intent_ns >= self.held_at_ns:
                sold = filled if side == OrderSide.SELL.value else -filled
                since_start[(expiry, strike, right)] = since_start.get((expiry, strike, right), 0) + sold
            if working:
                leg.working, leg.working_since_ns = coid, now_ns
            if side == OrderSide.SELL.value:
                opened_ns[expiry] = min(opened_ns.get(expiry, intent_ns), intent_ns)
                day = _ist_day(intent_ns)
                self.entries[day] = len({e for e, t in opened_ns.items() if _ist_day(t) == day})
        if self.held is not None:
            for key, leg in legs.items():
                self._match_ledger(leg, since_start.get(key, 0))
        live = [leg for leg in legs.values() if (leg.open_contracts or leg.working) and self._expiry_ns(
            leg.contract.expiry) > now_ns]
        if not live:
            self.log.info("strangle_resumed", phase=FLAT, orders=len(replayed.orders))
            return
        self._resume_strangle(live, opened_ns, now_ns)

    def _match_ledger(self, leg: LegState, sold_since_start: int) -> None:
        """Open no more of `leg` than the ledger's reconciled positions at the session's start hold, plus what
        this session sold less bought since (the rest was closed without it), and never more than its orders say
        (an order sent before the start that filled after it is in the orders, not in `held`)."""
        contract = leg.contract
        at_start = -self.held.get((contract.symbol, contract.expiry, float(contract.strike), contract.right), 0)
        short = at_start + sold_since_start
        if leg.open_contracts != short:
            self.log.warning("strangle_leg_not_held", contract=f"{contract.expiry} {contract.strike:g}{contract.right}",
                             orders_say=leg.open_contracts, ledger_holds=short)
            leg.bought = leg.sold - min(max(short, 0), max(leg.open_contracts, 0))      # trims, never adds

    def _resume_strangle(self, live: list[LegState], opened_ns: dict[str, int], now_ns: int) -> None:
        expiry = max(leg.contract.expiry for leg in live)
        by_right = {leg.contract.right: leg for leg in live if leg.contract.expiry == expiry}
        others = [leg for leg in live if leg.contract.expiry != expiry or by_right[leg.contract.right] is not leg]
        if others:
            named = [f"{g.contract.expiry} {g.contract.strike:g}{g.contract.right}: {g.open_contracts}" for g in others]
            self.log.error("strangle_legs_not_resumed", legs=named,
                           hint="the ledger holds more than one strangle: close these at the venue")
        for right in ("C", "P"):
            by_right.setdefault(right, LegState(Contract(self.config.symbol, expiry, 0.0, right)))
        self.current = Strangle(expiry, self._expiry_ns(expiry), opened_ns.get(expiry, now_ns), by_right)
        self.current.orders = set().union(*(leg.replayed_orders for leg in by_right.values()))   # their fills count
        even = (all(leg.open_contracts == self.config.quantity for leg in by_right.values())
                and not any(leg.working for leg in by_right.values()))
        self.revalue_at_next_quote = True
        if even:
            self.phase = HELD
        else:
            self.phase, self.current.reason = CLOSING, "resumed_uneven"
        self.log.warning("strangle_resumed", phase=self.phase, expiry=expiry,
                         open={r: leg.open_contracts for r, leg in by_right.items()},
                         working=[leg.working for leg in by_right.values() if leg.working],
                         hint="fills before the restart are valued at the first index seen after it")

    def _revalue(self, index_usd: float) -> None:
        self.revalue_at_next_quote = False
        if self.current is None:
            return
        for leg in self.current.legs.values():
            leg.sold_usd = self.spec.premium_usd(leg.sold_coin, index_usd)
            leg.bought_usd = self.spec.premium_usd(leg.bought_coin, index_usd)

    def _expiry_ns(self, expiry: str) -> int:
        chain = self.chains.get(expiry)
        if chain is not None:
            return chain.expiry_ns
        return expiry_instant_ns(date.fromisoformat(expiry), self.spec.expiry_time_utc or datetime.min.time())

    # ------------------------------------------------------------------ results

    def _credit_usd(self) -> float:
        return sum(leg.sold_usd for leg in self.current.legs.values()) * self.spec.multiplier

    def _record_trade(self, now_ns: int) -> None:
        strangle, units = self.current, self.spec.multiplier
        legs = strangle.legs
        trade = {"expiry": strangle.expiry, "opened_ns": strangle.opened_ns, "closed_ns": now_ns,
                 "call_strike": legs["C"].contract.strike, "put_strike": legs["P"].contract.strike,
                 "contracts": self.config.quantity, "reason": strangle.reason,
                 "pnl_coin": sum(leg.sold_coin - leg.bought_coin for leg in legs.values()) * units,
                 "pnl_usd": sum(leg.sold_usd - leg.bought_usd for leg in legs.values()) * units}
        self.trades.append(trade)
        self.log.info("strangle_closed", **{k: v for k, v in trade.items() if not k.endswith("_ns")})
        self.current, self.phase = None, FLAT

    def _expired_unconfirmed(self, now_ns: int) -> None:
        """The strangle's expiry passed `SETTLEMENT_GRACE_NS` ago and no settlement price came (a live venue
        settles on its own): settle it at the last index seen, and say so."""
        if not math.isfinite(self.index_usd):
            return                                  # nothing to value it at yet: the next decision tries again
        self.log.error("strangle_settled_without_a_settlement_price", expiry=self.current.expiry,
                       index_usd=self.index_usd, hint="check the venue's settlement of this expiry")
        self._settle(UnderlyingClose(self.config.symbol, self.current.expiry_ns, self.index_usd), now_ns,
                     reason="expired_unconfirmed")

    def _settle(self, close: UnderlyingClose, now_ns: int, reason: str = "expired") -> None:
        """The options of the expiry that settles now are bought back at their intrinsic value (in the premium
        unit: over the settlement price for an inverse product), whatever was working on them is gone."""
        strangle = self.current
        if strangle is None or strangle.expiry_ns != close.time_ns:
            return
        for leg in strangle.legs.values():
            if leg.working is not None:
                self.port.send(self.gateway, CancelOrder(leg.working, self.name))
                leg.working = None
            if leg.open_contracts:
                strike = leg.contract.strike
                intrinsic_usd = max(close.price - strike, 0.0) if leg.contract.right == "C" else max(
                    strike - close.price, 0.0)
                premium = intrinsic_usd / close.price if self.spec.inverse else intrinsic_usd
                leg.bought_coin += premium * leg.open_contracts
                leg.bought_usd += intrinsic_usd * leg.open_contracts
                leg.bought = leg.sold
        strangle.reason = strangle.reason or reason
        self._record_trade(now_ns)

    def positions(self) -> list[dict[str, Any]]:
        """The open legs as the book shows positions: contracts (negative: short), the mark (the ask, what buying
        back costs) in USD per unit of underlying, the open contracts' unrealized P&L against their average sale
        in USD, and their delta in units of the coin (the venue's delta; None without a quote)."""
        if self.current is None:
            return []
        chain = self.chains.get(self.current.expiry)
        return [self._position(leg, chain) for leg in self.current.legs.values() if leg.open_contracts]

    def _position(self, leg: LegState, chain: ChainQuotes | None) -> dict[str, Any]:
        units, quantity = self.spec.multiplier, -leg.open_contracts
        row = _row(chain, leg.contract)
        mark_usd = unrealized_usd = delta_coin = None
        if row is not None and chain.ask[row] > 0:
            mark_usd = self.spec.premium_usd(float(chain.ask[row]), chain.underlying)
            average_sale_usd = leg.sold_usd / leg.sold if leg.sold else 0.0
            unrealized_usd = leg.open_contracts * (average_sale_usd - mark_usd) * units
            if chain.delta is not None:
                delta_coin = float(chain.delta[row]) * quantity * units
        contract = leg.contract
        return {"symbol": contract.symbol, "expiry": contract.expiry, "strike": contract.strike,
                "right": contract.right, "quantity": quantity, "mark_per_share": mark_usd,
                "unrealized_usd": unrealized_usd, "delta_shares": delta_coin, "gamma_shares_per_usd": None,
                "vega_usd_per_vol_point": None, "theta_usd_per_day": None}

    def book(self) -> dict[str, Any]:
        """The strangle's book in the shape of the session book's status (positions and a total in USD): realized
        is the strangles closed, unrealized the one held (its whole P&L, as `pnl_usd`); no total while a held
        leg has no quote (an unmarked P&L is not shown as zero)."""
        realized_usd = sum(trade["pnl_usd"] for trade in self.trades)
        open_usd = self.pnl_usd()
        book: dict[str, Any] = {"positions": self.positions()}
        if open_usd is not None:
            book["total"] = {"realized_usd": realized_usd, "unrealized_usd": open_usd,
                             "pnl_usd": realized_usd + open_usd}
        return book

    def snapshot(self) -> dict[str, Any]:
        return {"phase": self.phase, "trades": list(self.trades), "counts": dict(self.counts),
                "pnl_usd_open": self.pnl_usd() if self.current is not None else 0.0,
                "expiries_quoted": sorted(self.chains), "trading_state": self.trading_state, "book": self.book(),
                "index_usd": self.index_usd}

    _HANDLERS = {ChainQuotes: _on_quotes, OrderFilled: lambda self, m, t: self._on_fill(m, t),
                 OrderCancelled: _on_cancelled, OrderRejected: _on_refused, OrderDenied: _on_refused,
                 UnderlyingClose: lambda self, m, t: self._settle(m, t), ReplayedOrders: _on_replayed,
                 TradingStateChanged: _on_state, TradingHalted: _on_halted, CancelRejected: _on_cancel_refused,
                 OrderAccepted: _ignore}


def _sequence_of(coid: str) -> int:
    tail = coid.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _replay_fill(leg: LegState, side: str, filled: int, price: float) -> None:
    if side == OrderSide.SELL.value:
        leg.sold += filled
        leg.sold_coin += price * filled
    else:
        leg.bought += filled
        leg.bought_coin += price * filled


def _row(chain: ChainQuotes | None, contract: Contract) -> int | None:
    """The contract's row in the chain, or None when the chain does not quote it."""
    if chain is None:
        return None
    rows = np.flatnonzero((chain.strikes == contract.strike) & (chain.is_call == (contract.right == "C")))
    return int(rows[0]) if rows.size else None


def _ist_day(now_ns: int) -> date:
    return datetime.fromtimestamp(now_ns / NS_PER_SECOND, tz=timezone.utc).astimezone(INDIA).date()


def _ladder_price(bid: float, ask: float, step: int, steps: int, selling: bool, chain: ChainQuotes) -> float | None:
    """Step `step` of `steps` + 1 from the mid to the touch (the bid for a sell, the ask for a buy), on the tick
    grid rounded away from the touch being approached (never below one tick); the touch itself from the last step
    on. None when the touch it needs is missing (no bid to sell into)."""
    touch = bid if selling else ask
    if touch <= 0:
        return None
    mid = 0.5 * (bid + ask)
    fraction = 1.0 if steps == 0 else min(step / steps, 1.0)
    price = mid + (touch - mid) * fraction
    price = max(round_to_tick(price, chain.tick(price), up=selling), chain.tick_below_3)    # a price is >= one tick
    return max(price, touch) if selling else min(price, touch)
