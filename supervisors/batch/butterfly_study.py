"""The whole-fly vs split-vertical exit study: paired simulations of the same butterfly trades.

Each trade (seeded by (seed, trade_id), so results do not depend on how trades are split
across workers) is an OTM convexity fly on SPY, QQQ or IWM in one DTE bucket and one
volatility regime:

- entry at 10:00 on the trade's first day, bought at the natural; the fly's centre lies
  U(0.25, 0.75) expected moves out of the money (calls above, puts below), its wings about
  0.35 expected moves wide (whole strikes);
- the underlying then follows GBM at the regime's vol on a 5-minute grid; the exit signal is
  the first of: the fly's mid reaches (1 + profit_target_fraction) x the debit ("target"), spot
  moves `atr_exit_multiple` daily ATRs (1.6 sigma S / sqrt(252)) further from the centre than it
  was at entry ("atr_stop"), or the horizon ("time":
  15:30 for 0DTE, 15:00 the day before expiry otherwise, at most five days);
- at the signal both exits start from the same quotes, see the same quote path afterwards
  (20 quote updates a second by default, the underlying still moving) and face an exchange
  seeded the same way; the only difference is how they close: one complex order for the whole
  fly, or the ButterflyExitRouter's two verticals. Both use the same ladder, timeouts and
  cross-to-natural rules. Whatever is still open when the exit window ends is closed leg by
  leg at the natural and flagged (a missed exit, a forced poor fill).

Time is trading time: a trading day counts 365/252 calendar days in pricing and in the
spread model's DTE input, so a 0DTE fly carries the variance of the hours it has left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np

from actors import names
from actors.messages import ExitButterfly
from actors.runtime.inline import InlineRuntime
from config.exchange import ExchangeConfig
from config.runtime import LatencySpec, RuntimeConfig
from config.study import StudyAssumptions, StudyConfig
from core.exits.butterfly import (
    ButterflyPosition,
    ExitResult,
    LegQuote,
    MarketData,
    chain_ticks,
    plan_exit,
    whole_fly_order,
)
from core.legs import Leg, OptionType, Side
from core.quotes import ChainQuotes
from sim.market.chain import PRODUCTS, generate_chains
from sim.market.spread_model import load_spread_models
from supervisors.kernel import build_exit_study

DTE_BUCKETS = {"0DTE": (0, 0), "1-3": (1, 3), "5-15": (5, 15)}
REGIMES = ("low", "normal", "high")
METHODS = ("whole_fly", "split_verticals")
_MINUTE_NS = int(365 / 252 * 86_400 / 390 * 1e9)        # one trading minute in calendar-equivalent ns
_STEP_MIN = 5
_DAY_MIN = 390
_ENTRY_MIN = 30                                          # 10:00
_RATE = 0.04
_T0 = 1_800_000_000 * 10**9                              # the exit runtime's clock origin (any instant)
_MODELS: dict = {}


class TradeSpec(NamedTuple):
    trade_id: int
    symbol: str
    dte_bucket: str
    dte_days: int
    regime: str
    vol: float
    right: str
    spot: float
    center: float
    width: float


def make_trade(config: StudyConfig, trade_id: int) -> TradeSpec:
    rng = np.random.default_rng([config.seed, trade_id, 1])
    symbol = config.symbols[int(rng.integers(len(config.symbols)))]
    bucket = tuple(DTE_BUCKETS)[int(rng.integers(3))]
    low, high = DTE_BUCKETS[bucket]
    dte = int(rng.integers(low, high + 1))
    regime = REGIMES[int(rng.integers(3))]
    vol = config.regime_vols[regime]
    spot = config.start_prices[symbol] * float(np.exp(rng.normal(0.0, 0.05)))
    step = PRODUCTS[symbol].strike_step
    right = "C" if rng.random() < 0.5 else "P"
    minutes = dte * _DAY_MIN + _DAY_MIN - _ENTRY_MIN
    expected_move = spot * vol * math.sqrt(minutes / _DAY_MIN / 252)
    distance = rng.uniform(0.25, 0.75) * expected_move
    center = round((spot + distance if right == "C" else spot - distance) / step) * step
    width = max(step, round(0.35 * expected_move / step) * step)
    return TradeSpec(trade_id, symbol, bucket, dte, regime, vol, right, spot, center, width)


def _model(symbol: str):
    if not _MODELS:
        _MODELS.update(load_spread_models())
    return _MODELS[PRODUCTS[symbol].spread_class]


def widen(bid: np.ndarray, ask: np.ndarray, multiplier: float) -> tuple[np.ndarray, np.ndarray]:
    """Scale each quote's width around its mid by `multiplier`, to the cent, never crossed or negative."""
    if multiplier == 1.0:
        return bid, ask
    mid, half = 0.5 * (bid + ask), 0.5 * (ask - bid) * multiplier
    new_bid = np.maximum(np.floor((mid - half) * 100 + 1e-9) / 100, 0.0)
    return new_bid, np.maximum(np.ceil((mid + half) * 100 - 1e-9) / 100, new_bid + 0.01)


def _quotes(trade: TradeSpec, config: StudyConfig, times_ns: np.ndarray, spots: np.ndarray, expiry_ns: int,
            rng: np.random.Generator, multiplier: float):
    """(bid, ask, theo, bid_size, ask_size) of the fly's three strikes of its right, one row per time."""
    strikes = np.array([trade.center - trade.width, trade.center, trade.center + trade.width])
    batch = generate_chains(PRODUCTS[trade.symbol], _model(trade.symbol), strikes, expiry_ns, times_ns, spots,
                            np.full(len(times_ns), trade.vol), _RATE, rng, high_regime=trade.regime == "high")
    cols = slice(3, 6) if trade.right == "C" else slice(0, 3)
    bid, ask = widen(batch.bid[:, cols], batch.ask[:, cols], multiplier)
    return bid, ask, batch.theo[:, cols], batch.bid_size[:, cols], batch.ask_size[:, cols]


class Signal(NamedTuple):
    trade: TradeSpec
    entry_debit_per_share: float
    exit_step: int
    exit_reason: str
    spot: float
    minutes_left: float
    bid: np.ndarray
    ask: np.ndarray
    theo_per_share: float


def entry_and_signal(trade: TradeSpec, config: StudyConfig) -> Signal:
    """Buy the fly at the natural at 10:00, follow it on a 5-minute grid, return where the exit fires."""
    rng = np.random.default_rng([config.seed, trade.trade_id, 2])
    total_min = trade.dte_days * _DAY_MIN + _DAY_MIN - _ENTRY_MIN
    horizon_min = (total_min - 30 if trade.dte_days == 0
                   else min(total_min - _DAY_MIN - 60, 5 * _DAY_MIN) if trade.dte_days > 1 else total_min - 60)
    steps = max(int(horizon_min // _STEP_MIN), 1)
    dt_years = _STEP_MIN / _DAY_MIN / 252
    shocks = rng.standard_normal(steps) * trade.vol * math.sqrt(dt_years) - 0.5 * trade.vol ** 2 * dt_years
    spots = trade.spot * np.exp(np.concatenate([[0.0], np.cumsum(shocks)]))
    minutes = np.arange(steps + 1) * _STEP_MIN
    times_ns = minutes.astype(np.int64) * _MINUTE_NS
    expiry_ns = int(total_min * _MINUTE_NS)
    bid, ask, theo, _, _ = _quotes(trade, config, times_ns, spots, expiry_ns, rng, config.assumptions.spread_multiplier)
    ratios = np.array([1.0, -2.0, 1.0])
    debit = float(ask[0, 0] + ask[0, 2] - 2 * bid[0, 1])
    fly_mid = (0.5 * (bid + ask)) @ ratios
    atr_day = 1.6 * trade.vol * spots / math.sqrt(252)
    beyond = np.abs(spots - trade.center) > abs(trade.spot - trade.center) + config.atr_exit_multiple * atr_day
    target = fly_mid >= max(debit, 0.01) * (1 + config.profit_target_fraction)
    fired = np.flatnonzero((target | beyond)[1:])
    k = int(fired[0]) + 1 if fired.size else steps
    reason = "time" if not fired.size else ("target" if target[k] else "atr_stop")
    return Signal(trade, round(debit, 4), k, reason, float(spots[k]), float(total_min - minutes[k]), bid[k], ask[k],
                  float(theo[k] @ ratios))


# ---------------------------------------------------------------------------------------------- the exit


@dataclass
class ExitOutcome:
    result: ExitResult
    forced_credit_per_share: float          # what closing the remainder at the natural brought (0 when none)
    forced: bool


def exit_quotes(signal: Signal, config: StudyConfig, assumptions: StudyAssumptions) -> list[ChainQuotes]:
    """The quotes both exits see after the signal, one chain per quote interval (the underlying moving on)."""
    trade = signal.trade
    rng = np.random.default_rng([config.seed, trade.trade_id, 3])
    ticks = max(int(config.exit_window_s * 1000 / config.quote_interval_ms), 2)
    dt_years = config.quote_interval_ms / 1000 / 60 / _DAY_MIN / 252
    shocks = rng.standard_normal(ticks - 1) * trade.vol * math.sqrt(dt_years)
    spots = signal.spot * np.exp(np.concatenate([[0.0], np.cumsum(shocks)]))
    expiry_ns = int(signal.minutes_left * _MINUTE_NS)
    bid, ask, _, bid_size, ask_size = _quotes(trade, config, np.zeros(ticks, np.int64), spots, expiry_ns, rng,
                                              assumptions.spread_multiplier)
    bid[0], ask[0] = signal.bid, signal.ask                      # the signal's quotes are the first published
    strikes = np.array([trade.center - trade.width, trade.center, trade.center + trade.width])
    is_call = np.full(3, trade.right == "C")
    return [ChainQuotes(trade.symbol, "2099-01-01", _T0 + 10**15, _T0, strikes, is_call, bid[j], ask[j],
                        bid_size[j], ask_size[j], 0.01, 0.01, float(spots[j])) for j in range(ticks)]


def simulate_exit(signal: Signal, config: StudyConfig, method: str, assumptions: StudyAssumptions,
                  chains: list[ChainQuotes]) -> ExitOutcome:
    trade = signal.trade
    interval_ns = config.quote_interval_ms * 1_000_000
    ticks = len(chains)
    strikes = chains[0].strikes
    position = _position(signal)
    market = MarketData(
        {(trade.right, float(k)): LegQuote(float(b), float(a)) for k, b, a in zip(strikes, signal.bid, signal.ask)},
        signal.spot,
        signal.theo_per_share,
        **chain_ticks(chains[0].tick_below_3, chains[0].tick_from_3),
    )
    haircut = 0.0
    if method == "whole_fly":
        order = whole_fly_order(position, market)
        haircut = (config.whole_fly_haircut_fraction if config.whole_fly_pricing == "mid_haircut" else 1.0) * abs(
            order.mid_per_share - order.natural_per_share)
    latency = LatencySpec(distribution="lognormal", base_us=assumptions.leg_latency_ms * 1000, sigma=0.5)
    runtime = InlineRuntime(RuntimeConfig(seed=trade.trade_id, check_serializable=False,
                                          route_latency={f"{names.ROUTER}->{names.EXCHANGE}": latency,
                                                         f"{names.EXCHANGE}->{names.ROUTER}": latency}),
                            start_ns=_T0)
    scale = assumptions.combo_penalty_scale
    fills = config.fills.model_copy(update={"extra_leg_rate_factor": assumptions.combo_rate_factor ** scale,
                                            "extra_leg_width_fraction": assumptions.combo_extra_width * scale})
    exchange_config = ExchangeConfig(seed=config.seed * 1_000_003 + trade.trade_id, fills=fills,
                                     complex_price_tick=chains[0].tick_below_3)
    study = build_exit_study(runtime, exchange_config, chains, interval_ns,
                             ExitButterfly(position, market, config.risk, names.DESK, method, haircut))
    runtime.run(until_ns=_T0 + ticks * interval_ns + 10**9)
    feed, result = study.feed, study.desk.result
    if result is None:
        raise RuntimeError(f"trade {trade.trade_id} {method}: the router never answered")
    remaining = _remaining_legs(position, market, result)
    last = feed.last()
    forced_credit = sum(q * (last.bid[i] if q > 0 else last.ask[i]) for i, q in enumerate(remaining))
    return ExitOutcome(result, float(forced_credit), any(q != 0 for q in remaining))


def _position(signal: Signal) -> ButterflyPosition:
    t = signal.trade
    expiry = date(2099, 1, 1)
    right = OptionType(t.right)
    legs = (Leg(right, t.center - t.width, expiry, Side.LONG, 1), Leg(right, t.center, expiry, Side.SHORT, 2),
            Leg(right, t.center + t.width, expiry, Side.LONG, 1))
    return ButterflyPosition(f"t{t.trade_id}", t.symbol, legs, signal.entry_debit_per_share, _T0)


def _remaining_legs(position: ButterflyPosition, market: MarketData, result: ExitResult) -> list[int]:
    """Signed contracts per strike (low, body, high) still held after the exit's fills."""
    held = {leg.strike: (leg.quantity if leg.side == "long" else -leg.quantity) for leg in position.legs}
    first, second = plan_exit(position, market)
    orders = {"vertical_1": first, "vertical_2": second, "whole_fly": whole_fly_order(position, market)}
    for fill in result.fills:
        if fill.part in orders:
            plan = orders[fill.part]
            sign = -1 if plan.side == "SELL" else 1
            for _, strike, ratio in plan.legs:
                held[strike] += sign * ratio * fill.quantity
        else:
            right_strike = second.short_leg if fill.part == "short_leg" else second.long_leg
            held[right_strike[1]] += fill.quantity if fill.part == "short_leg" else -fill.quantity
    return [held[k] for k in sorted(held)]


# ---------------------------------------------------------------------------------------------- rows

ROW_COLUMNS = ("trade_id", "symbol", "entry_time", "exit_time", "exit_method", "dte_bucket", "dte_days", "regime",
               "right", "center", "width", "exit_signal", "entry_debit", "exit_credit", "pnl", "max_loss",
               "realized_rr", "slippage_vs_mid", "slippage_vs_theo", "latency_ms", "path", "forced", "missed",
               "partial_exposure_ms")


def trade_rows(config: StudyConfig, trade_id: int, assumptions: StudyAssumptions | None = None) -> list[dict]:
    """Both methods' rows for one trade (the pair the comparison is made on)."""
    assumptions = assumptions or config.assumptions
    signal = entry_and_signal(make_trade(config, trade_id), config)
    trade = signal.trade
    chains = exit_quotes(signal, config, assumptions)
    rows = []
    for method in METHODS:
        outcome = simulate_exit(signal, config, method, assumptions, chains)
        result = outcome.result
        credit = result.exit_credit_per_share + outcome.forced_credit_per_share
        pnl = (credit - signal.entry_debit_per_share) * 100
        max_loss = max(signal.entry_debit_per_share, 0.01) * 100
        exit_min = _ENTRY_MIN + signal.exit_step * _STEP_MIN
        rows.append({
            "trade_id": trade.trade_id, "symbol": trade.symbol, "entry_time": f"d0 {_clock(_ENTRY_MIN)}",
            "exit_time": f"d{exit_min // _DAY_MIN} {_clock(exit_min % _DAY_MIN)}",
            "exit_method": method, "dte_bucket": trade.dte_bucket, "dte_days": trade.dte_days, "regime": trade.regime,
            "right": trade.right, "center": trade.center, "width": trade.width, "exit_signal": signal.exit_reason,
            "entry_debit": signal.entry_debit_per_share, "exit_credit": round(credit, 4), "pnl": round(pnl, 2),
            "max_loss": round(max_loss, 2), "realized_rr": round(pnl / max_loss, 4),
            "slippage_vs_mid": round(result.mid_at_signal_per_share - credit, 4),
            "slippage_vs_theo": round(result.theo_at_signal_per_share - credit, 4),
            "latency_ms": result.signal_to_close_ms, "path": "missed" if outcome.forced and not result.fills
            else result.path, "forced": outcome.forced or result.path == "fallback",
            "missed": outcome.forced, "partial_exposure_ms": result.partial_exposure_ms})
    return rows


def _clock(minute_of_day: int) -> str:
    hours, minutes = divmod(9 * 60 + 30 + minute_of_day, 60)
    return f"{hours:02d}:{minutes:02d}"


def run_trades(config: StudyConfig, trade_ids: range, assumptions: StudyAssumptions | None = None) -> list[dict]:
    rows: list[dict] = []
    for trade_id in trade_ids:
        rows.extend(trade_rows(config, trade_id, assumptions))
    return rows
