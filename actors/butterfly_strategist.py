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

from actors.component import Component
from actors.messages import ExitButterfly
from config.butterfly import ButterflyStrategyConfig
from config.router import RouterRiskConfig
from core.implied_vol import implied_vol
from core.orders import Contract, OrderCancelled, OrderFilled, OrderLeg, OrderRejected, SubmitOrder, TradingHalted
from core.quotes import ChainQuotes
from core.router import ButterflyPosition, ExitResult, LegQuote, MarketData, PositionLeg, chain_ticks

NS = 1_000_000_000
_YEAR_NS = 365 * 86_400 * NS


class ButterflyStrategist(Component):
    def __init__(self, symbol: str, expiration: date, settings: ButterflyStrategyConfig, risk: RouterRiskConfig,
                 session: str = "session", seed: int = 0, gateway: str = "broker", router: str = "router",
                 market_hours_ok=None) -> None:
        super().__init__(f"flies-{symbol}-{expiration.isoformat()}")
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
        self.round_trips: list[dict[str, Any]] = []
        self.halted_reason: str | None = None     # no new fly once halted; an open fly still exits

    def log_context(self) -> dict[str, Any]:
        return {**super().log_context(), "symbol": self.symbol, "expiration": self.expiration.isoformat()}

    def on_message(self, message: Any, now_ns: int) -> None:
        if isinstance(message, ChainQuotes):
            if message.symbol == self.symbol and message.expiry == self.expiration.isoformat():
                self.chain = message
                self._on_chain(now_ns)
        elif isinstance(message, ExitResult):
            self._exited(message, now_ns)
        elif isinstance(message, OrderFilled) and self.entering:
            self._entered(message, now_ns)
        elif isinstance(message, TradingHalted):
            self.halted_reason = message.reason
            self.log.warning("flies_halted", reason=message.reason, open_fly=self.position is not None)
        elif isinstance(message, (OrderCancelled, OrderRejected)) and self.entering:
            self.log.info("fly_entry_not_filled", client_order_id=message.client_order_id,
                          reason=getattr(message, "reason", "cancelled"))
            self.entering = None

    # ------------------------------------------------------------------ entry

    def _on_chain(self, now_ns: int) -> None:
        if self.position is not None:
            if not self.exiting:
                self._check_exit(now_ns)
            return
        if self.halted_reason or self.entering or now_ns - self.last_entry_ns < self.settings.entry_interval_s * NS:
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
        t_years = max((chain.expiry_ns - now_ns) / _YEAR_NS, 1e-4)
        calls = np.flatnonzero(chain.is_call)
        i = calls[np.argmin(np.abs(chain.strikes[calls] - spot))]
        mid = 0.5 * (chain.bid[i] + chain.ask[i])
        vol, _ = implied_vol(np.array([mid]), np.array([True]), spot, np.array([chain.strikes[i]]), t_years, 0.04, 0.0)
        value = float(vol[0])
        return value if math.isfinite(value) and value > 0 else 0.2

    def _pick_fly(self, now_ns: int):
        chain, spot = self.chain, self.chain.underlying
        if not math.isfinite(spot):
            return None
        t_years = max((chain.expiry_ns - now_ns) / _YEAR_NS, 1e-4)
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
        return right, (float(low), float(center), float(high)), round(math.ceil(natural * 100 - 1e-9) / 100, 2)

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
        coid = f"{self.session}:{self.name}:{self.sequence}:open"
        expiry = self.expiration.isoformat()
        legs = tuple(OrderLeg(Contract(self.symbol, expiry, k, right), r) for k, r in zip(strikes, (1, -2, 1)))
        self.entering = {"coid": coid, "right": right, "strikes": strikes, "spot": self.chain.underlying}
        self.last_entry_ns = now_ns
        self.port.send(self.gateway, SubmitOrder(coid, self.name, legs, "BUY", self.settings.quantity, limit))
        self.log.info("fly_entry_sent", client_order_id=coid, right=right, strikes=strikes, limit=limit)

    def _entered(self, fill: OrderFilled, now_ns: int) -> None:
        if fill.leaves_quantity:
            return                               # wait for the whole quantity (the entry is marketable)
        entering, self.entering = self.entering, None
        right, (low, center, high) = entering["right"], entering["strikes"]
        q = self.settings.quantity
        legs = (PositionLeg(right, low, q, "long", self.expiration), PositionLeg(right, center, 2 * q, "short", self.expiration),
                PositionLeg(right, high, q, "long", self.expiration))
        self.position = ButterflyPosition(f"{self.session}:{self.name}:{self.sequence}", self.symbol, legs,
                                          float(fill.price), now_ns)
        self.entry = {"spot": entering["spot"], "atr": 1.6 * self._atm_iv(now_ns) * entering["spot"] / math.sqrt(252)}
        self.log.info("fly_opened", position_id=self.position.position_id, debit=fill.price, strikes=entering["strikes"])

    # ------------------------------------------------------------------ exit

    def _check_exit(self, now_ns: int) -> None:
        position = self.position
        right = position.legs[0].right
        quotes = self._quotes(tuple(leg.strike for leg in position.legs), right)
        if quotes is None:
            return
        mid = quotes[0].mid + quotes[2].mid - 2 * quotes[1].mid
        self.telemetry.gauge("spreadwright_unrealized_pnl_usd",
                             (mid - position.net_debit_per_share) * 100 * position.legs[0].quantity,
                             symbol=self.symbol, expiration=self._expiry_iso())
        center = position.legs[1].strike
        reason = None
        if mid >= position.net_debit_per_share * (1 + self.settings.profit_target_fraction):
            reason = "target"
        elif now_ns - position.entry_time_ns >= self.settings.max_hold_s * NS:
            reason = "time"
        elif abs(self.chain.underlying - center) > abs(self.entry["spot"] - center) + self.settings.atr_exit_multiple * self.entry["atr"]:
            reason = "atr_stop"
        if reason is None:
            return
        market = MarketData({(right, leg.strike): q for leg, q in zip(position.legs, quotes)}, float(self.chain.underlying),
                            **chain_ticks(self.chain.tick_below_3, self.chain.tick_from_3))
        self.exiting, self.exit_sent_ns = True, now_ns
        self.entry["exit_signal"] = reason
        self.log.info("fly_exit_signal", position_id=position.position_id, reason=reason, mid=round(mid, 4))
        self.exit_request = ExitButterfly(position, market, self.risk, self.name)
        self.port.send(self.router, self.exit_request)
        self.port.schedule(int(self.settings.exit_resend_s * NS), ("exit_resend", position.position_id))

    def on_timer(self, tag, now_ns: int) -> None:
        """Re-send an exit still unanswered: the same request, so the router resumes rather than restarts it."""
        kind, position_id = tag
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
