"""StructureDesk: trades the RegimeStrategist's proposals for one symbol (seed 003's structures, issue 27).

With `strategist.desk.trade` on, a `StructureProposal` that arrives while the desk holds nothing is sized
(`core.strategy.treasury`: margin budgets, the verdict's confidence, volatility targeting, correlation across the
session's symbols) and entered as one complex order at the natural through the RiskGate (a debit structure
bought, a credit one sold as its reverse), cancelled if it has not filled within `entry_timeout_s`. What filled
is the open position. Every `exit_check_s` the desk marks it at the chain's mids and asks `core.exits.rules`
whether it exits (target, stop, trailing by ATR or BBW, time, the expiry, an event blackout: the style's rules);
an exit goes to the exit router, which closes it in two parts (`core.exits.butterfly.exit_groups`: verticals or
single legs) with its guards and fallbacks. Each round trip is kept with its structure, regime, exit reason and
P&L. A refused size, a denied entry and an exit the router missed are logged with the reason and counted.

One position per symbol at a time. Across the sessions of a multi-day backtest a `DeskCarry` hands the open
position (with its targets and trailing state) and the order sequence to the next session's desk. The desk's
state is its own memory otherwise: a desk restarted in a live session starts flat (the book and the ledger hold
what it had; the RiskGate's limits still apply).
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date
from typing import Any, Callable, NamedTuple

import numpy as np

from actors import names
from actors.messages import ExitButterfly, RegimeVerdict, StructureProposal, TradingStateChanged
from actors.runtime.component import Component
from config.router import RouterRiskConfig
from config.strategist import DeskConfig
from core.calendar import settlement_instant_ns
from core.exits.butterfly import ButterflyPosition, ExitResult, LegQuote, MarketData, chain_ticks
from core.exits.rules import HOLD, Marks, TrailState, evaluate_exits, targets_usd
from core.instruments import multiplier_of, round_to_tick
from core.legs import Leg, OptionType, Side
from core.orders import (
    TAKE,
    CancelOrder,
    Contract,
    OrderCancelled,
    OrderDenied,
    OrderFilled,
    OrderLeg,
    OrderRejected,
    SubmitOrder,
)
from core.payoff import legs_expiry_value_per_share
from core.quotes import ChainQuotes
from core.strategy.legging import GroupOrder, legging_plan, unwind_order
from core.strategy.liquidity import atm_iv
from core.strategy.treasury import size_units

_NS = 1_000_000_000
_NS_PER_DAY = 86_400 * _NS


class DeskCarry(NamedTuple):
    """What one session's desk hands the next: its open position (None when flat) and where its order ids and
    entry spacing stand."""

    position: dict[str, Any] | None
    sequence: int
    last_entry_ns: int


class StructureDesk(Component):
    def __init__(self, symbol: str, config: DeskConfig, risk: RouterRiskConfig, *, rate: float,
                 session: str = "session", gateway: str = names.GATEWAY, router: str = names.ROUTER,
                 symbols_in_session: int = 1, carry: DeskCarry | None = None,
                 is_open: Callable[[int], bool] | None = None) -> None:
        """`rate`: the annual risk-free rate of the implied vol that volatility targeting reads; `is_open`: the
        venue's trading hours (no exit is signalled while it is closed: the venue would refuse it)."""
        super().__init__(names.structure_desk_name(symbol))
        self.symbol, self.config, self.risk, self.rate = symbol, config, risk, rate
        self.session, self.gateway, self.router, self.is_open = session, gateway, router, is_open
        self.other_symbols = max(symbols_in_session - 1, 0)
        self.treasury, self.rules = config.treasury(), config.exit_rules()
        self.multiplier = multiplier_of(symbol)
        self.chains: dict[str, ChainQuotes] = {}
        self.verdict: RegimeVerdict | None = None
        self.sequence = 0
        self.last_entry_ns = -10**30
        self.entering: dict[str, Any] | None = None
        self.position: dict[str, Any] | None = None
        self.exit_request: ExitButterfly | None = None
        self.round_trips: list[dict[str, Any]] = []
        self.skipped: dict[str, int] = {}
        self.gate_states: dict[str, str] = {}
        if carry is not None:
            self.position, self.sequence, self.last_entry_ns = carry.position, carry.sequence, carry.last_entry_ns

    def on_start(self, now_ns: int) -> None:
        if self.position is not None:               # carried from the session before: keep checking its exits
            self.port.schedule(int(self.config.exit_check_s * _NS), ("check", self.position["id"]))

    def carry(self) -> DeskCarry:
        """The open position for the next session's desk (an entry still working is not carried: the venue ends
        the day's orders; a legged entry still unwinding is recorded as an unclosed round trip, its contracts
        left to the book)."""
        if self.entering is not None and self.entering.get("to_close"):
            last_ns = max((chain.time_ns for chain in self.chains.values()), default=self.entering["entry_ns"])
            self._legged_unwound(last_ns, closed=False)
        return DeskCarry(self.position, self.sequence, self.last_entry_ns)

    @property
    def held_expiry(self) -> str | None:
        return self.position["proposal"].expiry if self.position is not None else None

    def log_context(self) -> dict[str, Any]:
        return {**super().log_context(), "symbol": self.symbol}

    # ------------------------------------------------------------------ dispatch

    def on_message(self, message: Any, now_ns: int) -> None:
        kind = type(message)
        if kind is ChainQuotes:
            if message.symbol == self.symbol:
                self.chains[message.expiry] = message
        elif kind is RegimeVerdict:
            self.verdict = message
        elif kind is StructureProposal:
            self._proposal(message, now_ns)
        elif kind is OrderFilled:
            self._filled(message, now_ns)
        elif kind in (OrderCancelled, OrderRejected, OrderDenied):
            self._entry_ended(message, now_ns)
        elif kind is ExitResult:
            self._exited(message, now_ns)
        elif kind is TradingStateChanged:
            self.gate_states[message.scope] = message.state
            self.log.warning("gate_state", scope=message.scope, state=message.state, reason=message.reason)

    def on_timer(self, tag: Any, now_ns: int) -> None:
        kind, key = tag
        if kind == "entry_timeout" and self.entering is not None and self.entering["coid"] == key:
            self.port.send(self.gateway, CancelOrder(key, self.name))       # again until a final event comes
            self.port.schedule(int(self.config.entry_timeout_s * _NS), tag)
        elif kind == "unwind_timeout" and self.entering is not None and "legged" in self.entering:
            order = _order_named(self.entering, key)
            if order is not None and order.name in self.entering["unwinding"]:
                self.port.send(self.gateway, CancelOrder(key, self.name))
                self.port.schedule(int(self.config.entry_timeout_s * _NS), tag)
        elif kind == "unwind_retry" and self.entering is not None and self.entering.get("base") == key:
            self._unwind(now_ns)
        elif kind == "check" and self.position is not None and self.position["id"] == key:
            self._check_exit(now_ns)
            self.port.schedule(int(self.config.exit_check_s * _NS), tag)
        elif kind == "exit_resend" and self.exit_request is not None and \
                self.exit_request.position.position_id == key:
            self.port.send(self.router, self.exit_request)
            self.port.schedule(int(self.config.exit_resend_s * _NS), tag)

    # ------------------------------------------------------------------ entry

    def _skip(self, reason: str, detail: str = "") -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self.telemetry.count("spreadwright_structure_not_traded_total", symbol=self.symbol, reason=reason)
        self.log.info("proposal_not_traded", reason=reason, detail=detail)

    def _proposal(self, proposal: StructureProposal, now_ns: int) -> None:
        if not self.config.trade or proposal.symbol != self.symbol:
            return
        if self.position is not None and now_ns >= self.position["expires_ns"]:
            self._settled(now_ns)
        if self.position is not None or self.entering is not None:
            return self._skip("holding")
        if now_ns - self.last_entry_ns < self.config.min_entry_interval_s * _NS:
            return self._skip("interval")
        if any(state != "ACTIVE" for state in self.gate_states.values()):
            return self._skip("gate_state", str(self.gate_states))
        chain = self.chains.get(proposal.expiry)
        if chain is None:
            return self._skip("no_chain", proposal.expiry)
        vol = atm_iv(chain, now_ns, self.rate)
        sizing = size_units(proposal.structure, proposal.margin_usd, proposal.size_fraction, 0.0, 0.0, vol,
                            self.other_symbols, self.treasury)
        if sizing.units == 0:
            return self._skip("size", "; ".join(sizing.reasons))
        if self.config.entry == "legged":
            return self._enter_legged(proposal, sizing.units, chain, now_ns)
        self._enter(proposal, sizing.units, chain, now_ns)

    def _enter(self, proposal: StructureProposal, units: int, chain: ChainQuotes, now_ns: int) -> None:
        """One complex order at the natural: a debit bought as held, a credit sold as its reverse."""
        debit = proposal.entry_cost_per_share >= 0
        sign = 1 if debit else -1
        legs = tuple(OrderLeg(Contract(self.symbol, proposal.expiry, strike, right), sign * quantity)
                     for strike, right, quantity in proposal.legs)
        limit = round_to_tick(abs(proposal.entry_cost_per_share), chain.tick_below_3, up=debit)
        self.sequence += 1
        coid = f"{self.session}:{self.name}:{self.sequence}:open"     # the book files its exits with it
        self.entering = {"coid": coid, "proposal": proposal, "units": units, "filled": 0, "paid": 0.0, "sign": sign,
                         "entry_ns": now_ns}
        self.last_entry_ns = now_ns
        self.port.send(self.gateway, SubmitOrder(coid, self.name, legs, "BUY" if debit else "SELL", units, limit,
                                                 TAKE))
        self.port.schedule(int(self.config.entry_timeout_s * _NS), ("entry_timeout", coid))
        self.log.info("structure_entry_sent", client_order_id=coid, structure=proposal.structure, units=units,
                      limit=limit, side="BUY" if debit else "SELL", legs=proposal.legs)

    def _filled(self, fill: OrderFilled, now_ns: int) -> None:
        entering = self.entering
        if entering is not None and "legged" in entering:
            return self._legged_fill(fill, now_ns)
        if entering is None or fill.client_order_id != entering["coid"]:
            return
        entering["filled"] = fill.cumulative_quantity
        entering["paid"] += entering["sign"] * fill.price * fill.quantity     # > 0 paid, < 0 received
        if fill.leaves_quantity == 0:
            self.entering = None
            self._open(entering, now_ns)

    def _entry_ended(self, event: Any, now_ns: int) -> None:
        entering = self.entering
        if entering is not None and "legged" in entering:
            return self._legged_ended(event, now_ns)
        if entering is None or event.client_order_id != entering["coid"]:
            return
        self.entering = None
        reason = getattr(event, "reason", "cancelled")
        self.log.info("structure_entry_ended", client_order_id=event.client_order_id, filled=entering["filled"],
                      reason=reason, code=getattr(event, "code", ""))
        if entering["filled"]:
            self._open(entering, now_ns)
        else:
            self._skip("denied" if type(event) is OrderDenied else "unfilled", reason)

    # ------------------------------------------------------------------ legged entry

    def _enter_legged(self, proposal: StructureProposal, units: int, chain: ChainQuotes, now_ns: int) -> None:
        """The two groups one after the other (core/strategy/legging.py); `entering["legged"]` holds every order
        sent (leg_1, leg_2, the unwinds), `coid` the leg working now, `leg_filled` what each leg filled, `paid` the
        cash so far (> 0 paid), and, once unwinding, `to_close` (contracts per leg still to close) and
        `unwinding` (working unwind order name -> its leg)."""
        room_ns = int(3 * self.config.entry_timeout_s * _NS)
        if self.is_open is not None and not self.is_open(now_ns + room_ns):
            return self._skip("legging", "too near the close to unwind a missed second leg")
        quotes = _leg_quotes(chain, proposal.legs)
        plan = "no two-sided quote for a leg" if quotes is None else legging_plan(
            proposal.structure, proposal.legs, date.fromisoformat(proposal.expiry), quotes, chain.tick_below_3)
        if isinstance(plan, str):
            return self._skip("legging", plan)
        self.sequence += 1
        base = f"{self.session}:{self.name}:{self.sequence}"
        self.entering = {"coid": "", "base": base, "proposal": proposal, "units": units, "filled": 0, "paid": 0.0,
                         "entry_ns": now_ns, "legged": plan, "leg_filled": [0, 0], "to_close": {}, "unwinding": {},
                         "unwinds_sent": 0}
        self.last_entry_ns = now_ns
        self._send_leg(0, units)

    def _send_leg(self, stage: int, units: int) -> None:
        """Leg 1 rests until `entry_timeout_s` (or the exposure bound from its first fill); leg 2 until the bound."""
        entering = self.entering
        order = entering["legged"][stage]
        coid = entering["coid"] = f"{entering['base']}:open:{order.name}"
        self._submit_group(coid, order, units)
        wait_ns = int(self.config.entry_timeout_s * _NS) if stage == 0 else self._exposure_ns()
        self.port.schedule(wait_ns, ("entry_timeout", coid))

    def _exposure_ns(self) -> int:
        return int(self.risk.max_partial_exposure_ms * 1_000_000)

    def _submit_group(self, coid: str, order: GroupOrder, units: int) -> None:
        proposal = self.entering["proposal"]
        legs = tuple(OrderLeg(Contract(self.symbol, proposal.expiry, strike, right), order.leg_sign * quantity)
                     for strike, right, quantity in order.legs)
        self.port.send(self.gateway, SubmitOrder(coid, self.name, legs, order.side, units, order.limit_per_share,
                                                 TAKE))
        self.log.info("structure_leg_sent", client_order_id=coid, side=order.side, units=units,
                      limit=order.limit_per_share, legs=order.legs)

    def _legged_order(self, client_order_id: str) -> tuple[GroupOrder | None, bool]:
        """The legged entry's order an event is about (None when it is none of them, or a leg no longer
        working), and whether it is an unwind."""
        order = _order_named(self.entering, client_order_id)
        if order is not None and order.name in self.entering["unwinding"]:
            return order, True
        return (order if client_order_id == self.entering["coid"] else None), False

    def _legged_fill(self, fill: OrderFilled, now_ns: int) -> None:
        entering = self.entering
        order, unwinding = self._legged_order(fill.client_order_id)
        if unwinding:
            return self._unwind_fill(order, fill, now_ns)
        if order is None:
            return
        entering["paid"] += order.leg_sign * fill.price * fill.quantity
        stage = 0 if order.name == "leg_1" else 1
        first_fill = entering["leg_filled"][stage] == 0
        entering["leg_filled"][stage] = fill.cumulative_quantity
        if fill.leaves_quantity:
            if stage == 0 and first_fill:            # one-legged from now: the rest has the exposure bound
                self.port.schedule(self._exposure_ns(), ("entry_timeout", fill.client_order_id))
            return
        if stage == 0:
            self._send_leg(1, fill.cumulative_quantity)
        else:
            self._legged_opened(now_ns)

    def _legged_ended(self, event: Any, now_ns: int) -> None:
        entering = self.entering
        order, unwinding = self._legged_order(event.client_order_id)
        if unwinding:
            return self._unwind_order_ended(order.name, now_ns)
        if order is None:                                          # not ours, or a late event of an ended leg
            return
        entering["coid"] = ""
        filled = entering["leg_filled"]
        reason = getattr(event, "reason", "cancelled")
        if order.name == "leg_1" and filled[0]:
            return self._send_leg(1, filled[0])
        if order.name == "leg_1":
            self.entering = None
            return self._skip("denied" if type(event) is OrderDenied else "unfilled", reason)
        if filled[1] == filled[0]:
            return self._legged_opened(now_ns)
        self.log.warning("structure_legging_unwind", base=entering["base"], filled=filled, reason=reason)
        entering["to_close"] = {stage: units for stage, units in enumerate(filled) if units}
        self._unwind(now_ns)

    def _legged_opened(self, now_ns: int) -> None:
        entering = self.entering
        self.entering = None
        self._open({**entering, "coid": f"{entering['base']}:open", "filled": entering["leg_filled"][0]}, now_ns)

    def _unwind(self, now_ns: int) -> None:
        """Close what each leg still holds at its natural (a leg without a usable quote, or whose unwind ended
        short, is tried again after `entry_timeout_s`, until flat); the round trip is recorded when flat."""
        entering = self.entering
        if not any(entering["to_close"].values()):
            return self._legged_unwound(now_ns, closed=True)
        chain = self.chains.get(entering["proposal"].expiry)
        working = set(entering["unwinding"].values())
        for stage, units in entering["to_close"].items():
            held = entering["legged"][stage].legs
            quotes = _leg_quotes(chain, held) if chain is not None else None
            if units == 0 or stage in working or quotes is None:
                continue
            entering["unwinds_sent"] += 1
            unwind = unwind_order(f"unwind_{entering['unwinds_sent']}", held, quotes, chain.tick_below_3)
            entering["legged"] = (*entering["legged"], unwind)
            entering["unwinding"][unwind.name] = stage
            coid = f"{entering['base']}:open:{unwind.name}"
            self._submit_group(coid, unwind, units)
            self.port.schedule(int(self.config.entry_timeout_s * _NS), ("unwind_timeout", coid))
        if not entering["unwinding"]:
            self.port.schedule(int(self.config.entry_timeout_s * _NS), ("unwind_retry", entering["base"]))

    def _unwind_fill(self, order: GroupOrder, fill: OrderFilled, now_ns: int) -> None:
        entering = self.entering
        entering["paid"] += order.leg_sign * fill.price * fill.quantity
        entering["to_close"][entering["unwinding"][order.name]] -= fill.quantity
        if fill.leaves_quantity == 0:
            self._unwind_order_ended(order.name, now_ns)

    def _unwind_order_ended(self, name: str, now_ns: int) -> None:
        entering = self.entering
        stage = entering["unwinding"].pop(name)
        if not any(entering["to_close"].values()):
            return self._legged_unwound(now_ns, closed=True)
        if entering["to_close"][stage] and not entering["unwinding"]:
            self.log.warning("structure_unwind_retry", base=entering["base"], left=entering["to_close"])
            self.port.schedule(int(self.config.entry_timeout_s * _NS), ("unwind_retry", entering["base"]))

    def _legged_unwound(self, now_ns: int, closed: bool) -> None:
        """The unwound entry as its own round trip (exit reason `legging`); `closed` False when contracts were
        left open (the session ended first): the book holds them and settles them at expiry."""
        entering = self.entering
        self.entering = None
        proposal = entering["proposal"]
        left = {f"leg_{stage + 1}": units for stage, units in entering["to_close"].items() if units}
        self.round_trips.append({
            "position_id": entering["base"], "symbol": self.symbol, "structure": proposal.structure,
            "style": proposal.style, "regime": proposal.regime, "expiry": proposal.expiry,
            "units": max(entering["leg_filled"]), "entry_time_ns": entering["entry_ns"], "exit_time_ns": now_ns,
            "exit_reason": "legging", "entry_per_share": math.nan, "exit_per_share": math.nan,
            "pnl_usd": round(-entering["paid"] * self.multiplier, 4), "margin_usd": 0.0, "path": "unwound",
            "closed": closed, "reason": None if closed else f"unwind unfinished, left open: {left}"})
        self._skip("legging_unwound", f"legs filled {entering['leg_filled']}, left open {left}")
        if not closed:
            self.log.error("structure_unwind_incomplete", base=entering["base"], left=left)

    def _open(self, entering: dict[str, Any], now_ns: int) -> None:
        proposal, units = entering["proposal"], entering["filled"]
        expiry = date.fromisoformat(proposal.expiry)
        legs = tuple(Leg(OptionType(right), float(strike), expiry, Side.LONG if q > 0 else Side.SHORT, units * abs(q),
                         self.multiplier) for strike, right, q in proposal.legs)
        entry_per_share = entering["paid"] / units
        position_id = entering["coid"].removesuffix(":open")
        per_unit_usd = self.multiplier * units
        max_profit = proposal.max_profit_per_share * per_unit_usd
        max_loss = proposal.max_loss_per_share * per_unit_usd
        rank = self.verdict.iv_rank if self.verdict is not None else math.nan
        target, stop = targets_usd([max_profit], [max_loss], [proposal.margin_usd * units], [rank],
                                   self.rules[proposal.style])
        self.position = {"id": position_id, "held": ButterflyPosition(position_id, self.symbol, legs, entry_per_share,
                                                                      now_ns),
                         "proposal": proposal, "units": units, "target_usd": float(target[0]),
                         "stop_usd": float(stop[0]), "trail": TrailState.empty(1), "entry_ns": now_ns,
                         "entry_dte": proposal.dte_days, "exit_reason": "", "pnl_usd": 0.0,
                         "expires_ns": settlement_instant_ns(self.symbol, expiry),
                         "last_spot": self.chains[proposal.expiry].underlying if proposal.expiry in self.chains
                         else math.nan}
        self.log.info("structure_opened", position_id=position_id, structure=proposal.structure, units=units,
                      entry_per_share=round(entry_per_share, 4), target_usd=round(float(target[0]), 2),
                      stop_usd=round(float(stop[0]), 2))
        self.port.schedule(int(self.config.exit_check_s * _NS), ("check", position_id))

    # ------------------------------------------------------------------ exit

    def _check_exit(self, now_ns: int) -> None:
        position = self.position
        if position is None:
            return
        if now_ns >= position["expires_ns"]:
            self._settled(now_ns)
            return
        if self.exit_request is not None or (self.is_open is not None and not self.is_open(now_ns)):
            return
        proposal = position["proposal"]
        chain = self.chains.get(proposal.expiry)
        quotes = _leg_quotes(chain, proposal.legs) if chain is not None else None
        if quotes is None:
            return
        value = sum(q * quote.mid for (_, _, q), quote in zip(proposal.legs, quotes.values()))
        pnl = (value - position["held"].net_debit_per_share) * self.multiplier * position["units"]
        position["pnl_usd"], position["last_spot"] = pnl, float(chain.underlying)
        verdict = self.verdict
        marks = Marks(np.array([pnl]), np.array([position["target_usd"]]), np.array([position["stop_usd"]]),
                      np.array([proposal.bullish]), np.array([chain.underlying]),
                      np.array([verdict.atr if verdict is not None else math.nan]),
                      np.array([verdict.bbw_ratio if verdict is not None else math.nan]),
                      np.array([(chain.expiry_ns - now_ns) / _NS_PER_DAY]), np.array([position["entry_dte"]]),
                      np.array([(chain.expiry_ns - now_ns) / _NS]),
                      np.array([verdict is not None and verdict.blackout != ""]))
        position["trail"], reasons = evaluate_exits(position["trail"], marks, self.rules[proposal.style])
        reason = str(reasons[0])
        if reason == HOLD:
            return
        position["exit_reason"] = reason
        position["attempts"] = position.get("attempts", 0) + 1
        market = MarketData(quotes, float(chain.underlying), **chain_ticks(chain.tick_below_3, chain.tick_from_3))
        attempt = dataclasses.replace(position["held"], position_id=f"{position['id']}:e{position['attempts']}")
        self.exit_request = ExitButterfly(attempt, market, self.risk, self.name)   # the router answers each once
        self.log.info("structure_exit_signal", position_id=position["id"], reason=reason, pnl_usd=round(pnl, 2),
                      attempt=position["attempts"])
        self.port.send(self.router, self.exit_request)
        self.port.schedule(int(self.config.exit_resend_s * _NS), ("exit_resend", attempt.position_id))

    def _settled(self, now_ns: int) -> None:
        """The position reached its expiry unclosed (every exit missed): the book settles it; the round trip is
        kept with its value at intrinsic at the last underlying price the desk saw (an estimate: the book's
        settlement lines hold the real one), flagged `path` "settled"."""
        position = self.position
        proposal, spot = position["proposal"], position.get("last_spot", math.nan)
        strikes, rights, per_unit = zip(*proposal.legs)
        intrinsic = float(legs_expiry_value_per_share(strikes, per_unit, [r == "C" for r in rights], spot))
        pnl = (intrinsic - position["held"].net_debit_per_share) * self.multiplier * position["units"]
        self.log.warning("structure_expired_unclosed", position_id=position["id"], pnl_estimate_usd=round(pnl, 2))
        position["exit_reason"] = "expired"
        self._record(position, now_ns, pnl, "settled", False, "reached its expiry unclosed: settled by the book",
                     intrinsic)
        self.position, self.exit_request = None, None

    def _record(self, position: dict[str, Any], now_ns: int, pnl_usd: float, path: str, closed: bool,
                reason: str | None, exit_per_share: float) -> None:
        proposal = position["proposal"]
        self.round_trips.append({
            "position_id": position["id"], "symbol": self.symbol, "structure": proposal.structure,
            "style": proposal.style, "regime": proposal.regime, "expiry": proposal.expiry, "units": position["units"],
            "entry_time_ns": position["entry_ns"], "exit_time_ns": now_ns, "exit_reason": position["exit_reason"],
            "entry_per_share": position["held"].net_debit_per_share, "exit_per_share": exit_per_share,
            "pnl_usd": round(pnl_usd, 4), "margin_usd": proposal.margin_usd * position["units"], "path": path,
            "closed": closed, "reason": reason})
        self.telemetry.count("spreadwright_structure_round_trips_total", symbol=self.symbol,
                             structure=proposal.structure, exit_reason=position["exit_reason"])
        self.telemetry.gauge("spreadwright_structure_realized_pnl_usd",
                             sum(trip["pnl_usd"] for trip in self.round_trips), symbol=self.symbol)

    def _exited(self, result: ExitResult, now_ns: int) -> None:
        position, request = self.position, self.exit_request
        if position is None or request is None or result.position_id != request.position.position_id:
            return
        self.exit_request = None
        if result.path == "missed":                # nothing closed: the position is as it was; check again later
            self.log.warning("structure_exit_missed", position_id=position["id"], reason=result.reason)
            return
        self._record(position, now_ns, result.realized_pnl_usd, result.path, result.closed, result.reason,
                     result.exit_credit_per_share)
        if not result.closed:
            self.log.error("structure_not_fully_closed", position_id=position["id"], reason=result.reason)
        self.log.info("structure_closed", position_id=position["id"], pnl_usd=result.realized_pnl_usd,
                      exit_reason=position["exit_reason"])
        self.position = None

    def snapshot(self) -> dict[str, Any]:
        return {"trade": self.config.trade, "open": self.position is not None, "round_trips": len(self.round_trips),
                "pnl_usd": round(sum(r["pnl_usd"] for r in self.round_trips), 2), "skipped": dict(self.skipped)}


def _order_named(entering: dict[str, Any], client_order_id: str) -> GroupOrder | None:
    """The legged entry's order (leg_1, leg_2, unwind_k) this client order id is, if it is one of them."""
    prefix = f"{entering['base']}:open:"
    if not client_order_id.startswith(prefix):
        return None
    name = client_order_id[len(prefix):]
    return next((order for order in entering["legged"] if order.name == name), None)


def _leg_quotes(chain: ChainQuotes, legs: tuple[tuple[float, str, int], ...]
                ) -> dict[tuple[str, float], LegQuote] | None:
    """Each leg's quote by (right, strike), or None when one has no usable two-sided quote."""
    out = {}
    for strike, right, _ in legs:
        rows = np.flatnonzero((chain.strikes == strike) & (chain.is_call == (right == "C")))
        if rows.size == 0:
            return None
        bid, ask = float(chain.bid[rows[0]]), float(chain.ask[rows[0]])
        if not (math.isfinite(bid) and math.isfinite(ask)) or bid < 0 or ask <= 0 or bid > ask:
            return None
        out[(right, float(strike))] = LegQuote(bid, ask)
    return out
