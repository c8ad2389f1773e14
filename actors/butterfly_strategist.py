"""ButterflyStrategist: opens OTM convexity flies on one chain and hands their exits to the router.

One per (symbol, expiration). On chain updates it enters a long fly when none is open and
`entry_interval_s` has passed (a complex order at the natural through the gateway), follows the
open fly's mid, and when an exit rule fires (profit target, time, ATR; see
`config.butterfly.ButterflyStrategyConfig`) sends `ExitButterfly` to the ButterflyExitRouter,
which closes it as two verticals. Each round trip is kept in `round_trips` with the ExitResult.
"""

from __future__ import annotations

import math
import zlib
from datetime import date
from typing import Any

import numpy as np

from actors import names
from actors.fly_replay import ENTRY_SUFFIX, FLY_RATIOS, entry_order_id, fly_closed, fly_replay
from actors.messages import REPLAY_RETRY_NS, ExitButterfly, ReplayedOrders, ReplayRequest, TradingStateChanged
from actors.runtime.component import Component
from config.butterfly import ButterflyStrategyConfig
from config.router import RouterRiskConfig
from core.exits.butterfly import ButterflyPosition, ExitResult, LegQuote, MarketData, chain_ticks
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
    TradingHalted,
)
from core.pricing.implied_vol import implied_vol
from core.quotes import ChainQuotes
from core.units import NS_PER_YEAR, TRADING_DAYS_PER_YEAR

NS = 1_000_000_000
_MISSED_RETRY_CAP_S = 60.0
"""The longest wait between exits of a fly after misses (each miss doubles the wait, from `exit_resend_s`)."""


class ButterflyStrategist(Component):
    def __init__(self, symbol: str, expiration: date, settings: ButterflyStrategyConfig, risk: RouterRiskConfig,
                 session: str = "session", seed: int = 0, gateway: str = names.GATEWAY, router: str = names.ROUTER,
                 market_hours_ok=None, session_start_ns: int = 0, *, rate: float) -> None:
        """`session_start_ns`: a fly the ledger shows open from before it (an earlier run, maybe against another
        broker) is reported, not managed; one opened since (this run, before a restart) is taken up again.
        `rate`: the annual risk-free rate its implied vols assume (the kernel passes the configured one)."""
        super().__init__(names.strategist_name(symbol, expiration))
        self.rate = rate
        self.symbol, self.expiration, self.settings, self.risk = symbol, expiration, settings, risk
        self.session, self.gateway, self.router = session, gateway, router
        self.rng = np.random.default_rng([seed, zlib.crc32(self.name.encode())])
        self.market_hours_ok = market_hours_ok
        self.chain: ChainQuotes | None = None
        self.sequence = 0
        self.last_entry_ns = -10**30
        self.entering: dict[str, Any] | None = None
        self.position: ButterflyPosition | None = None
        self.entry: dict[str, Any] = {}
        self.exiting = False
        self.exit_request: ExitButterfly | None = None
        self.exit_sent_ns = 0
        self.exit_attempt = 0                     # exits asked of the router for the open fly
        self.next_exit_ns = 0                     # after a missed exit: no new attempt before this
        self.round_trips: list[dict[str, Any]] = []
        self.halted_reason: str | None = None     # no new fly once halted; an open fly still exits
        self.gate_states: dict[str, str] = {}     # scope -> the risk gate's state: no new fly unless all ACTIVE
        self.session_start_ns = session_start_ns
        self.replayed = True                      # until on_start asks the ledger; then chains wait for its answer

    def log_context(self) -> dict[str, Any]:
        return {**super().log_context(), "symbol": self.symbol, "expiration": self.expiration.isoformat()}

    def on_start(self, now_ns: int) -> None:
        """Ask the gateway for this strategist's flies (entries and their exits) before trading."""
        self.replayed = False
        self._ask_replay()

    def _ask_replay(self) -> None:
        """Ask the ledger, and again after REPLAY_RETRY_NS while unanswered (see actors.messages)."""
        self.port.send(self.gateway, ReplayRequest(self.name, prefix=self._prefix(), with_legs=True))
        self.port.schedule(REPLAY_RETRY_NS, ("replay", ""))

    def _prefix(self) -> str:
        return f"{self.session}:{self.name}:"

    def on_message(self, message: Any, now_ns: int) -> None:
        if isinstance(message, ChainQuotes):
            if message.symbol == self.symbol and message.expiry == self.expiration.isoformat():
                self.chain = message
                self._on_chain(now_ns)
        elif isinstance(message, ExitResult):
            self._exited(message, now_ns)
        elif isinstance(message, ReplayedOrders):
            self._resume(message, now_ns)
        elif isinstance(message, OrderFilled) and self.entering:
            self._entered(message, now_ns)
        elif isinstance(message, TradingHalted):
            self.halted_reason = message.reason
            self.log.warning("flies_halted", reason=message.reason, open_fly=self.position is not None)
        elif isinstance(message, TradingStateChanged):
            self.gate_states[message.scope] = message.state
            self.log.warning("gate_state", scope=message.scope, state=message.state, reason=message.reason)
        elif isinstance(message, (OrderCancelled, OrderRejected, OrderDenied)) and self.entering:
            entering, self.entering = self.entering, None
            self.log.info("fly_entry_ended", client_order_id=message.client_order_id, filled=entering["filled"],
                          reason=getattr(message, "reason", "cancelled"))
            if entering["filled"]:
                self._open(entering, entering.get("entry_ns", now_ns), now_ns)   # what filled is a fly to manage

    @property
    def _gate_paused(self) -> bool:
        return any(state != "ACTIVE" for state in self.gate_states.values())

    def _resume(self, replay: ReplayedOrders, now_ns: int) -> None:
        """Take up where the ledger says this strategist was: next sequence, and its last fly if still open
        (once: the answer to a request sent again changes nothing)."""
        if self.replayed:
            return
        self.replayed = True
        found = fly_replay(replay, self._prefix())
        self.sequence = max(self.sequence, found.sequence)
        fly = found.last_fly
        if fly is None:
            return
        self.last_entry_ns = max(self.last_entry_ns, fly.entry_ns)
        if fly.entry_ns < self.session_start_ns:
            if fly.filled_units and not fly_closed(fly):
                self.log.warning("fly_from_earlier_run_not_managed", position_id=fly.position_id,
                                 units=fly.filled_units, exit_parts_filled=fly.exit_parts_filled)
            return
        entering = {"coid": fly.entry_order_id, "right": fly.legs[0][0], "strikes": tuple(k for _, k, _ in fly.legs),
                    "ratios": tuple(r for _, _, r in fly.legs), "spot": None, "filled": fly.filled_units,
                    "notional": fly.debit_per_share * fly.filled_units, "entry_ns": fly.entry_ns}
        if fly.entry_working:
            self.entering = entering
            self.port.send(self.gateway, CancelOrder(fly.entry_order_id, self.name))
            self.log.warning("fly_entry_cancelled_after_restart", client_order_id=fly.entry_order_id)
        elif fly.filled_units and not fly_closed(fly):
            self._open(entering, fly.entry_ns, now_ns)
            self.exiting = fly.exit_started         # its exit was running: ask the router again on the next chain
            self.log.warning("fly_taken_up_after_restart", position_id=fly.position_id, units=fly.filled_units,
                             exit_started=fly.exit_started, exit_parts_filled=fly.exit_parts_filled)

    # ------------------------------------------------------------------ entry

    def _on_chain(self, now_ns: int) -> None:
        if not self.replayed:
            return
        if self.position is not None:
            if not self.exiting or self.exit_request is None:
                self._check_exit(now_ns)
            return
        paused = self.halted_reason or self._gate_paused
        if paused or self.entering or now_ns - self.last_entry_ns < self.settings.entry_interval_s * NS:
            return
        if self.market_hours_ok is not None and not self.market_hours_ok(now_ns):
            return
        days_left = (self.chain.expiry_ns - now_ns) / (86_400 * NS)
        if days_left < self.settings.min_days_to_expiry:
            return
        plan = self._pick_fly(now_ns)
        if plan is not None:
            self._enter(plan, now_ns)

    def _atm_iv(self, now_ns: int) -> float:
        chain, spot = self.chain, self.chain.underlying
        t_years = max((chain.expiry_ns - now_ns) / NS_PER_YEAR, 1e-4)
        calls = np.flatnonzero(chain.is_call)
        i = calls[np.argmin(np.abs(chain.strikes[calls] - spot))]
        mid = 0.5 * (chain.bid[i] + chain.ask[i])
        vol, _ = implied_vol(
            np.array([mid]), np.array([True]), spot, np.array([chain.strikes[i]]), t_years, self.rate, 0.0
        )
        value = float(vol[0])
        return value if math.isfinite(value) and value > 0 else 0.2

    def _pick_fly(self, now_ns: int):
        chain, spot = self.chain, self.chain.underlying
        if not math.isfinite(spot):
            return None
        t_years = max((chain.expiry_ns - now_ns) / NS_PER_YEAR, 1e-4)
        move = spot * self._atm_iv(now_ns) * math.sqrt(t_years)
        right = "C" if self.rng.random() < 0.5 else "P"
        strikes = np.unique(chain.strikes[chain.is_call == (right == "C")])
        target = spot + self.settings.distance_expected_moves * move * (1 if right == "C" else -1)
        center_i = int(np.argmin(np.abs(strikes - target)))
        step = max(1, int(round(self.settings.width_expected_moves * move / max(np.diff(strikes).min(), 1e-9))))
        if center_i - step < 0 or center_i + step >= len(strikes):
            return None
        low, center, high = strikes[center_i - step], strikes[center_i], strikes[center_i + step]
        quotes = self._quotes((low, center, high), right)
        if quotes is None or quotes[1].bid <= 0:          # the body is sold at its bid: it must have one
            return None
        natural = quotes[0].ask + quotes[2].ask - 2 * quotes[1].bid
        if natural <= 0.01:
            return None
        return right, (float(low), float(center), float(high)), round_to_tick(natural, self.chain.tick_below_3, up=True)

    def _quotes(self, strikes, right: str) -> list[LegQuote] | None:
        chain = self.chain
        out = []
        for strike in strikes:
            hits = np.flatnonzero((chain.strikes == strike) & (chain.is_call == (right == "C")))
            if not hits.size:
                return None
            i = hits[0]
            if not (chain.ask[i] >= chain.bid[i] >= 0 and chain.ask[i] > 0):
                return None
            out.append(LegQuote(float(chain.bid[i]), float(chain.ask[i])))
        return out

    def _enter(self, plan, now_ns: int) -> None:
        right, strikes, limit = plan
        self.sequence += 1
        coid = entry_order_id(f"{self._prefix()}{self.sequence}")
        expiry = self.expiration.isoformat()
        legs = tuple(OrderLeg(Contract(self.symbol, expiry, k, right), r) for k, r in zip(strikes, FLY_RATIOS))
        self.entering = {"coid": coid, "right": right, "strikes": strikes, "ratios": FLY_RATIOS,
                         "spot": self.chain.underlying, "filled": 0, "notional": 0.0}
        self.last_entry_ns = now_ns
        self.port.send(self.gateway, SubmitOrder(coid, self.name, legs, "BUY", self.settings.quantity, limit,
                                                 TAKE))                 # priced at the natural
        self.log.info("fly_entry_sent", client_order_id=coid, right=right, strikes=strikes, limit=limit)

    def _entered(self, fill: OrderFilled, now_ns: int) -> None:
        entering = self.entering
        if fill.client_order_id != entering["coid"]:
            return
        entering["filled"] = fill.cumulative_quantity
        entering["notional"] += fill.price * fill.quantity
        if fill.leaves_quantity:
            return                               # wait for the whole quantity (the entry is marketable)
        self.entering = None
        self._open(entering, now_ns, now_ns)

    def _open(self, entering: dict[str, Any], entry_ns: int, now_ns: int) -> None:
        """The fly `entering` filled (`filled` units at the average debit) is now the open position."""
        units, right = entering["filled"], entering["right"]
        legs = tuple(Leg(OptionType(right), float(k), self.expiration, Side.LONG if r > 0 else Side.SHORT,
                         units * abs(r), multiplier_of(self.symbol))
                     for k, r in zip(entering["strikes"], entering["ratios"]))
        debit = entering["notional"] / units
        position_id = entering["coid"].removesuffix(ENTRY_SUFFIX)
        self.position = ButterflyPosition(position_id, self.symbol, legs, float(debit), entry_ns)
        self.exit_attempt, self.next_exit_ns = 0, 0
        self.entry = {} if entering["spot"] is None else self._entry_marks(entering["spot"], now_ns)
        self.log.info("fly_opened", position_id=position_id, debit=round(debit, 4), units=units,
                      strikes=entering["strikes"])

    def _entry_marks(self, spot: float, now_ns: int) -> dict[str, float]:
        """Spot at entry and the daily ATR estimate (1.6 x ATM IV x spot / sqrt(252)) the ATR stop measures by."""
        return {"spot": spot, "atr": 1.6 * self._atm_iv(now_ns) * spot / math.sqrt(TRADING_DAYS_PER_YEAR)}

    # ------------------------------------------------------------------ exit

    def _check_exit(self, now_ns: int) -> None:
        position = self.position
        right = position.legs[0].option_type.value
        quotes = self._quotes(tuple(leg.strike for leg in position.legs), right)
        if quotes is None:
            return
        mid = quotes[0].mid + quotes[2].mid - 2 * quotes[1].mid
        if not self.entry:                      # taken up after a restart: the ATR stop counts from here
            self.entry = self._entry_marks(self.chain.underlying, now_ns)
        self.telemetry.gauge(
            "spreadwright_unrealized_pnl_usd",
            (mid - position.net_debit_per_share) * multiplier_of(self.symbol) * position.legs[0].quantity,
            symbol=self.symbol,
            expiration=self._expiry_iso(),
        )
        center = position.legs[1].strike
        reason = None
        if self.exiting:                        # its exit was running when this strategist restarted
            reason = "resumed_after_restart"
        elif mid >= position.net_debit_per_share * (1 + self.settings.profit_target_fraction):
            reason = "target"
        elif now_ns - position.entry_time_ns >= self.settings.max_hold_s * NS:
            reason = "time"
        elif (
            abs(self.chain.underlying - center)
            > abs(self.entry["spot"] - center) + self.settings.atr_exit_multiple * self.entry["atr"]
        ):
            reason = "atr_stop"
        if reason is None or now_ns < self.next_exit_ns:
            return
        market = MarketData(
            {(right, leg.strike): q for leg, q in zip(position.legs, quotes)},
            float(self.chain.underlying),
            **chain_ticks(self.chain.tick_below_3, self.chain.tick_from_3),
        )
        self.exiting, self.exit_sent_ns = True, now_ns
        self.entry["exit_signal"] = reason
        self.log.info("fly_exit_signal", position_id=position.position_id, reason=reason, mid=round(mid, 4))
        self.exit_attempt += 1
        self.exit_request = ExitButterfly(position, market, self.risk, self.name, attempt=self.exit_attempt)
        self.port.send(self.router, self.exit_request)
        self.port.schedule(int(self.settings.exit_resend_s * NS), ("exit_resend", position.position_id))

    def on_timer(self, tag, now_ns: int) -> None:
        """Re-send an exit still unanswered: the same request, so the router resumes rather than restarts it."""
        kind, position_id = tag
        if kind == "replay":
            if not self.replayed:
                self.log.warning("replay_unanswered", retry_after_s=REPLAY_RETRY_NS / NS)
                self._ask_replay()
            return
        request = self.exit_request
        if kind != "exit_resend" or not self.exiting or request is None or request.position.position_id != position_id:
            return
        self.log.info("fly_exit_resent", position_id=position_id, after_s=(now_ns - self.exit_sent_ns) / NS)
        self.port.send(self.router, request)
        self.port.schedule(int(self.settings.exit_resend_s * NS), tag)

    def _exited(self, result: ExitResult, now_ns: int) -> None:
        position = self.position
        if position is None or result.position_id != position.position_id:
            return
        if result.path == "missed":             # nothing closed: the fly is as it was, watched and tried again
            retry_s = min(self.settings.exit_resend_s * 2 ** (self.exit_attempt - 1), _MISSED_RETRY_CAP_S)
            self.next_exit_ns = now_ns + int(retry_s * NS)
            self.exiting, self.exit_request = False, None
            self.log.warning("fly_exit_missed", position_id=position.position_id, reason=result.reason,
                             attempt=self.exit_attempt, retry_after_s=retry_s)
            return
        self.round_trips.append({"position_id": position.position_id, "symbol": self.symbol,
                                 "expiration": self.expiration.isoformat(), "entry_time_ns": position.entry_time_ns,
                                 "exit_time_ns": now_ns, "exit_signal": self.entry.get("exit_signal"),
                                 "entry_debit": position.net_debit_per_share,
                                 "exit_credit": result.exit_credit_per_share, "pnl_usd": result.realized_pnl_usd,
                                 "path": result.path, "closed": result.closed,
                                 "slippage_vs_mid": result.slippage_vs_mid_per_share,
                                 "partial_exposure_ms": result.partial_exposure_ms, "reason": result.reason})
        self.telemetry.gauge("spreadwright_realized_pnl_usd", sum(r["pnl_usd"] for r in self.round_trips),
                             symbol=self.symbol, expiration=self._expiry_iso())
        self.telemetry.gauge("spreadwright_unrealized_pnl_usd", 0.0, symbol=self.symbol, expiration=self._expiry_iso())
        if not result.closed:      # the router closed every short leg; what is left is in its log and the ledger
            self.log.error("fly_not_fully_closed", position_id=position.position_id, reason=result.reason)
        self.position, self.exiting, self.exit_request = None, False, None

    def _expiry_iso(self) -> str:
        return self.expiration.isoformat()

    def snapshot(self) -> dict[str, Any]:
        return {"open": self.position is not None, "halted": self.halted_reason, "round_trips": len(self.round_trips),
                "pnl_usd": round(sum(r["pnl_usd"] for r in self.round_trips), 2)}
