"""RegimeStrategist: the signal half of seeds 002/003 for one symbol, on the kernel (it sends no orders).

At start it takes the symbol's daily history (bars and VIX up to the session before today: no look-ahead) and
computes the day's regime, confidence, bias and volatility gate (`core.strategy.verdict`). It builds minute bars
from the chains' underlying price as they arrive, and every `evaluate_every_s` of market time it publishes a
`RegimeVerdict`: the day's regime with the multi-timeframe consensus (5m/15m/60m from today's minutes, daily
from the history), the liquidity gate on the chain nearest `liquidity_dte_days`, and the event blackout. The
verdict goes to its subscribers (the structure generators of part 2), the log, the metrics, and the snapshot,
which counts every evaluation that would open nothing by its first reason: a run with no trades explains itself.

Across the sessions of a multi-day run a `StrategistCarry` takes the history on: the sessions traded so far join
the daily bars (with the day's implied vol as its VIX), and the last `slope_period + 2` hours of minutes stay, so
the 60-minute timeframe, which one session (seven bars) never fills with `slope_period` bars, counts once two
sessions are in (from the third session's first bar at the default 12); the shorter timeframes count from the
open instead of after an hour.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from actors import names
from actors.messages import RegimeVerdict, StructureProposal
from actors.runtime.component import Component
from config.strategist import StrategistConfig
from core.quotes import ChainQuotes
from core.strategy.consensus import consensus, resample, timeframe_signals
from core.strategy.events import EventCalendar, calendar, in_blackout
from core.strategy.generators import ChainView, NoProposal, Proposal, StructureSpec, chain_view, propose
from core.strategy.liquidity import check_liquidity
from core.strategy.regimes import Regime
from core.strategy.routing import Route, VerdictInputs, route
from core.strategy.verdict import SignalSettings, daily_verdicts

_MINUTE_NS = 60 * 10**9
_REGIMES = [regime.name for regime in Regime]
NO_TRADE_REASONS = ("no_signal", "consensus", "liquidity", "blackout", "no_route", "no_structure")
"""An evaluation's first reason to open nothing: the verdict's four, then routing (no structure routed for the
regime and bias) and the generators (none of the routed structures qualified on today's chains)."""
_NEW_YORK = "America/New_York"
_NO_MEASURES = {"atr": float("nan"), "bbw_ratio": float("nan"), "iv_rank": float("nan")}


class StrategistCarry(NamedTuple):
    """What one session's strategist hands the next one's: the daily history with the session appended, and the
    minute bars (start ns -> [open, high, low, close]) the longest timeframe still needs."""

    daily_bars: pd.DataFrame | None
    vix: pd.Series | None
    minutes: dict[int, list[float]]


class RegimeStrategist(Component):
    def __init__(self, symbol: str, config: StrategistConfig, daily_bars: pd.DataFrame | None,
                 vix: pd.Series | None, *, rate: float, events: EventCalendar | None = None,
                 subscribers: tuple[str, ...] = (), earlier_minutes: dict[int, list[float]] | None = None) -> None:
        super().__init__(names.regime_strategist_name(symbol))
        self.symbol, self.config, self.rate = symbol, config, rate
        self.daily_bars, self.vix = daily_bars, vix
        self.events = events if events is not None else calendar([], [])
        self.subscribers = subscribers
        self.blackouts = config.blackouts_by_kind()
        self.settings = SignalSettings(config.indicators.settings(), config.regime.settings(),
                                       config.vol_gate.settings(), config.confidence.settings())
        self.day: dict[str, Any] = {}
        self.daily_signal = None
        self.earlier_minutes = dict(earlier_minutes or {})  # earlier sessions': minute start (ns) -> OHLC
        self.minutes: dict[int, list[float]] = {}         # today's: minute start (ns) -> [open, high, low, close]
        self.chains: dict[str, ChainQuotes] = {}          # expiry -> its latest chain
        self.next_evaluation_ns = 0
        self.latest: RegimeVerdict | None = None
        self.no_trade = {reason: 0 for reason in NO_TRADE_REASONS}
        self.evaluations = 0
        self.routing_rule = config.routing_rule()
        self.specs = config.structure_specs()
        self.proposed: dict[str, int] = {}                 # structure -> evaluations it was the proposal
        self.refused: dict[str, int] = {}                  # structure -> evaluations it was routed but refused
        self.latest_proposal: StructureProposal | None = None
        self.latest_passed_over: tuple[str, ...] = ()

    def on_start(self, now_ns: int) -> None:
        self.day = self._day_verdict()
        if self.daily_bars is not None and len(self.daily_bars):
            self.daily_signal = timeframe_signals(self.daily_bars, "1d", self.config.consensus.settings())
        self.log.info("strategist_day", symbol=self.symbol, **{k: v for k, v in self.day.items() if k != "notes"})

    def _day_verdict(self) -> dict[str, Any]:
        """Today's regime from the daily history (its last session's verdict), or NO_SIGNAL with the reason."""
        if self.daily_bars is None or not len(self.daily_bars):
            return {"regime": "NO_SIGNAL", "regime_reason": "no daily history", "confidence": 0.0, "bias": 0,
                    "bias_score": 0.0, "short_vol": False, "vol_gate_reason": "no daily history", "notes": (),
                    "rsi": float("nan"), "naked_short_vol": False, **_NO_MEASURES}
        verdicts = daily_verdicts(self.daily_bars, self.vix, self.settings)
        if verdicts.empty:
            return {"regime": "NO_SIGNAL", "regime_reason": "no usable daily bars", "confidence": 0.0, "bias": 0,
                    "bias_score": 0.0, "short_vol": False, "vol_gate_reason": "no usable daily bars",
                    "notes": verdicts.attrs["notes"], "rsi": float("nan"), "naked_short_vol": False,
                    **_NO_MEASURES}
        last = verdicts.iloc[-1]
        return {"regime": str(last.regime), "regime_reason": str(last.regime_reason),
                "confidence": float(last.confidence), "bias": int(last.bias), "bias_score": float(last.bias_score),
                "short_vol": bool(last.short_vol), "vol_gate_reason": str(last.vol_gate_reason),
                "notes": verdicts.attrs["notes"], "rsi": float(last.rsi), "naked_short_vol": bool(last.naked_short_vol),
                "atr": float(last.atr), "bbw_ratio": float(last.bbw_ratio), "iv_rank": float(last.iv_rank)}

    def on_message(self, message: Any, now_ns: int) -> None:
        if not isinstance(message, ChainQuotes):
            raise TypeError(f"{self.name} takes ChainQuotes, got {type(message).__name__}")
        if message.symbol != self.symbol:
            return
        self.chains[message.expiry] = message
        price = float(message.underlying)
        if np.isfinite(price) and price > 0:
            self._add_price(message.time_ns, price)
        if now_ns >= self.next_evaluation_ns:
            self.next_evaluation_ns = now_ns + int(self.config.evaluate_every_s * 1e9)
            self._publish(self.evaluate(now_ns), now_ns)

    def _add_price(self, time_ns: int, price: float) -> None:
        minute = time_ns - time_ns % _MINUTE_NS
        bar = self.minutes.get(minute)
        if bar is None:
            self.minutes[minute] = [price, price, price, price]
        else:
            bar[1], bar[2], bar[3] = max(bar[1], price), min(bar[2], price), price

    def evaluate(self, now_ns: int) -> RegimeVerdict:
        """The verdict now (see the module docstring)."""
        day = self.day
        agreed = consensus(self._signals(), [now_ns], self.config.consensus.settings())
        reasons = tuple(str(r[0]) for r in agreed.reasons.values() if r[0])
        chain = self._liquidity_chain(now_ns)
        gate = (check_liquidity(chain, now_ns, self.rate, self.config.liquidity.settings()) if chain is not None
                else None)
        liquidity_code = "no_quotes" if gate is None else gate.code
        liquidity_reason = "no chain yet" if gate is None else gate.reason
        blackout = in_blackout(self.events, [now_ns], self.config.blackout_before_s, self.config.blackout_after_s,
                               self.blackouts)
        event = str(blackout.event[0]) if blackout.active[0] else ""
        no_trade = ("no_signal" if day["regime"] == "NO_SIGNAL" else "consensus" if not agreed.reached[0]
                    else "liquidity" if liquidity_code else "blackout" if event else "")
        return RegimeVerdict(self.symbol, now_ns, day["regime"], day["regime_reason"], day["confidence"], day["bias"],
                             day["bias_score"], day["short_vol"], day["vol_gate_reason"], float(agreed.score[0]),
                             bool(agreed.reached[0]), reasons, liquidity_code, liquidity_reason, event,
                             no_trade == "", no_trade, day["rsi"], day["naked_short_vol"], day["atr"],
                             day["bbw_ratio"], day["iv_rank"])

    def _signals(self) -> dict:
        """Each timeframe's signals: 5m/15m/60m from today's minutes, daily from the history."""
        signals = {}
        if self.minutes:
            bars = _minute_frame({**self.earlier_minutes, **self.minutes})
            settings = self.config.consensus.settings()
            for timeframe in ("5m", "15m", "60m"):
                signals[timeframe] = timeframe_signals(resample(bars, timeframe), timeframe, settings)
        if self.daily_signal is not None:
            signals["1d"] = self.daily_signal
        return signals

    def _liquidity_chain(self, now_ns: int) -> ChainQuotes | None:
        if not self.chains:
            return None
        target_ns = now_ns + int(self.config.liquidity_dte_days * 86_400e9)
        return min(self.chains.values(), key=lambda chain: abs(chain.expiry_ns - target_ns))

    def _publish(self, verdict: RegimeVerdict, now_ns: int) -> None:
        self.latest = verdict
        self.evaluations += 1
        if verdict.no_trade:
            self.no_trade[verdict.no_trade] += 1
            self.telemetry.count("spreadwright_strategist_no_trade_total", symbol=self.symbol,
                                 reason=verdict.no_trade)
        self.telemetry.gauge("spreadwright_strategist_confidence_ratio", verdict.confidence, symbol=self.symbol)
        for regime in _REGIMES:
            self.telemetry.gauge("spreadwright_strategist_regime_state", 1.0 if regime == verdict.regime else 0.0,
                                 symbol=self.symbol, regime=regime)
        self.log.info("regime_verdict", symbol=self.symbol, regime=verdict.regime, confidence=verdict.confidence,
                      bias=verdict.bias, consensus=verdict.consensus_score, liquidity=verdict.liquidity_code,
                      blackout=verdict.blackout, no_trade=verdict.no_trade)
        for subscriber in self.subscribers:
            self.port.send(subscriber, verdict)
        if verdict.tradable:
            self._propose(verdict, now_ns)

    def _propose(self, verdict: RegimeVerdict, now_ns: int) -> None:
        """Route the verdict (seed 003's table) and try each routed structure on the chain its DTE window picks,
        in priority order; the first proposal goes to the subscribers, and what came before it says why not."""
        routing = route(VerdictInputs(verdict.regime, verdict.rsi, verdict.bias, verdict.bias_score,
                                      verdict.confidence, verdict.short_vol, verdict.naked_short_vol),
                        self.routing_rule)
        passed_over = list(routing.skipped)
        if not routing.routes:
            self._no_structure("no_route", passed_over)
            return
        views: dict[str, ChainView | str] = {}
        for chosen in routing.routes:
            result = self._try(chosen, views, now_ns)
            if isinstance(result, Proposal):
                self._publish_proposal(result, chosen, verdict, tuple(passed_over), now_ns)
                return
            name = chosen.structure.value
            self.refused[name] = self.refused.get(name, 0) + 1
            passed_over.append(f"{name}: {'; '.join(result.reasons)}")
        self._no_structure("no_structure", passed_over)

    def _try(self, chosen: Route, views: dict[str, ChainView | str], now_ns: int) -> Proposal | NoProposal:
        spec = self.specs[chosen.structure]
        chain = self._chain_in_window(spec, now_ns)
        if chain is None:
            return NoProposal(chosen.structure, (f"no expiry {spec.dte_min_days:g}-{spec.dte_max_days:g} days "
                                                 "away is quoted",))
        if chain.expiry not in views:
            views[chain.expiry] = chain_view(chain, now_ns, self.rate)
        return propose(chosen.structure, views[chain.expiry], spec, bullish=chosen.bullish, skew=chosen.skew)

    def _chain_in_window(self, spec: StructureSpec, now_ns: int) -> ChainQuotes | None:
        """The quoted chain whose days to expiry fall in the spec's window, nearest its middle."""
        middle_days = 0.5 * (spec.dte_min_days + spec.dte_max_days)
        best, best_gap = None, float("inf")
        for chain in self.chains.values():
            days = (chain.expiry_ns - now_ns) / 86_400e9
            if spec.dte_min_days <= days <= spec.dte_max_days and abs(days - middle_days) < best_gap:
                best, best_gap = chain, abs(days - middle_days)
        return best

    def _publish_proposal(self, proposal: Proposal, chosen: Route, verdict: RegimeVerdict,
                          passed_over: tuple[str, ...], now_ns: int) -> None:
        legs = tuple((leg.strike, "C" if leg.is_call else "P", leg.signed_quantity)
                     for leg in proposal.structure.legs)
        message = StructureProposal(
            self.symbol, now_ns, proposal.structure.expiry.isoformat(), proposal.kind.value, chosen.style,
            chosen.bullish, chosen.size_fraction, legs, proposal.entry_cost_per_share,
            proposal.max_profit_per_share, proposal.max_loss_per_share, proposal.breakevens, proposal.margin_usd,
            proposal.width_per_share, proposal.delta, proposal.dte_days, verdict.regime, passed_over)
        self.latest_proposal, self.latest_passed_over = message, passed_over
        self.proposed[message.structure] = self.proposed.get(message.structure, 0) + 1
        self.telemetry.count("spreadwright_strategist_proposals_total", symbol=self.symbol,
                             structure=message.structure)
        self.log.info("structure_proposal", symbol=self.symbol, structure=message.structure, expiry=message.expiry,
                      legs=legs, entry_per_share=round(message.entry_cost_per_share, 4),
                      margin_usd=round(message.margin_usd, 2), passed_over=passed_over)
        for subscriber in self.subscribers:
            self.port.send(subscriber, message)

    def _no_structure(self, reason: str, passed_over: list[str]) -> None:
        self.no_trade[reason] += 1
        self.latest_passed_over = tuple(passed_over)
        self.telemetry.count("spreadwright_strategist_no_trade_total", symbol=self.symbol, reason=reason)
        self.log.info("no_structure", symbol=self.symbol, reason=reason, passed_over=passed_over)

    def carry(self, vix_close: float) -> StrategistCarry:
        """The history the next session's strategist starts from (module docstring); `vix_close`: the implied
        vol, in VIX points, the session ended at."""
        minutes = {**self.earlier_minutes, **self.minutes}
        keep = (self.config.consensus.slope_period + 2) * 60
        kept = dict(sorted(minutes.items())[-keep:])
        if not self.minutes or self.daily_bars is None:
            return StrategistCarry(self.daily_bars, self.vix, kept)
        today = _minute_frame(self.minutes)
        session = pd.Timestamp(today.index[-1].tz_convert(_NEW_YORK).date())
        bar = pd.DataFrame({"open": [today.open.iloc[0]], "high": [today.high.max()], "low": [today.low.min()],
                            "close": [today.close.iloc[-1]]}, index=pd.DatetimeIndex([session], name="date"))
        daily = pd.concat([self.daily_bars, bar]).iloc[-self.config.history_sessions:]
        vix = self.vix if self.vix is not None else pd.Series(np.nan, index=self.daily_bars.index)
        vix = pd.concat([vix, pd.Series([vix_close], index=bar.index)]).iloc[-self.config.history_sessions:]
        return StrategistCarry(daily, vix, kept)

    def snapshot(self) -> dict[str, Any]:
        return {"day": {k: v for k, v in self.day.items() if k != "notes"}, "notes": list(self.day.get("notes", ())),
                "evaluations": self.evaluations, "no_trade": dict(self.no_trade),
                "latest": self.latest._asdict() if self.latest is not None else None,
                "proposed": dict(self.proposed), "refused": dict(self.refused),
                "latest_proposal": self.latest_proposal._asdict() if self.latest_proposal is not None else None,
                "latest_passed_over": list(self.latest_passed_over)}


def _minute_frame(minutes: dict[int, list[float]]) -> pd.DataFrame:
    """Minute bars (start ns -> OHLC) as a frame on a UTC DatetimeIndex, in time order."""
    starts = np.fromiter(minutes, np.int64)
    order = np.argsort(starts, kind="stable")
    values = np.asarray(list(minutes.values()), np.float64)[order]
    return pd.DataFrame(values, columns=["open", "high", "low", "close"],
                        index=pd.DatetimeIndex(starts[order], tz="UTC"))
