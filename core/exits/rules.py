"""When an open structure exits (seed 003's dynamic exits and trailing profits, seed 002's event exits), pure and
vectorized over positions.

Every amount is USD for the whole position (P&L, targets, stops, locks); every price the underlying's. Seed 003's
own sketch compared a P&L in dollars with a price level (`current_pnl <= current_price - 0.5 * atr`) and its BBW
branch locked a profit but never exited; here each rule compares like with like:

- **profit target** (`targets_usd`): `target_fraction` of the max profit (SHORT_VOL 50%, DIRECTIONAL 60%), and at
  least the style's band times its base (SHORT_VOL 1.4-1.8% of margin, DIRECTIONAL 1.4-2.2% of max profit, of
  margin where the max profit is unbounded), the band's point set by the volatility (its high end at IV rank 0,
  its low end at 100: more in quiet markets, conservative in busy ones); a structure with unbounded max profit
  takes the band's point alone;
- **stop**: `stop_fraction` of the max loss (SHORT_VOL 35%, DIRECTIONAL 50%), or of the margin where that is less
  (a naked strangle's unbounded loss; a risk reversal whose max loss, the put's strike, would set a stop that never
  fires);
- **trailing** activates once the P&L reaches `trailing_threshold` (50%) of the target, then:
  - ATR (DIRECTIONAL): a stop on the underlying's price `atr_multiple` (0.5) x ATR behind its best price since
    activation (below it for a bullish position, above for a bearish one), ratcheting only in the position's
    favour; the position exits when the price crosses it;
  - BBW (SHORT_VOL): when the Bollinger width is above `bbw_trigger_ratio` (1.8) times its average and the P&L
    is positive, `bbw_lock_fraction` (60%) of the target is locked (of the P&L held, when that is less: a lock
    above the P&L would exit on the spot); once locked, the position exits when its P&L falls back to the lock
    (the seed's intent and its worked example: target 500, lock 300 at a 1.9x width, hold at 320, exit at 280);
- **time**: at `time_exit_dte` days to expiry (21) for a position opened further out; every position by
  `exit_before_expiry_s` before its expiry's close;
- **event**: inside a CPI/FOMC blackout window (seed 002's early exit before the release).

The first exit that holds, in the order stop, expiry, event, time, trailing, target, is the reason given.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

HOLD, STOP, EXPIRY, EVENT, TIME, TRAILING_ATR, TRAILING_BBW, TARGET = (
    "", "stop", "expiry", "event", "time", "trailing_atr", "trailing_bbw", "target")
EXIT_REASONS = (STOP, EXPIRY, EVENT, TIME, TRAILING_ATR, TRAILING_BBW, TARGET)


class ExitRule(NamedTuple):
    """One style's exits (seed 003's `_set_dynamic_targets`, with its trailing section)."""

    target_fraction: float
    stop_fraction: float
    band_low: float
    band_high: float
    band_base: str                     # "margin" or "max_profit"
    trailing_mode: str                 # "bbw", "atr" or "none"
    trailing_threshold: float = 0.5
    atr_multiple: float = 0.5
    bbw_trigger_ratio: float = 1.8
    bbw_lock_fraction: float = 0.6
    time_exit_dte: float = 21.0
    exit_before_expiry_s: float = 900.0


SEED_003_RULES = {
    "SHORT_VOL": ExitRule(0.50, 0.35, 0.014, 0.018, "margin", "bbw"),
    "DIRECTIONAL": ExitRule(0.60, 0.50, 0.014, 0.022, "max_profit", "atr"),
}


def targets_usd(max_profit_usd, max_loss_usd, margin_usd, iv_rank, rule: ExitRule) -> tuple[np.ndarray, np.ndarray]:
    """(profit target, stop as a positive loss) per position, USD (module docstring); `iv_rank` 0..100, NaN
    taken as 50."""
    max_profit, max_loss, margin = (np.asarray(x, np.float64) for x in (max_profit_usd, max_loss_usd, margin_usd))
    rank = np.clip(np.nan_to_num(np.asarray(iv_rank, np.float64), nan=50.0), 0.0, 100.0) / 100.0
    band = rule.band_high - (rule.band_high - rule.band_low) * rank
    finite_profit = np.isfinite(max_profit)
    base = margin if rule.band_base == "margin" else np.where(finite_profit, max_profit, margin)
    floor = band * base
    target = np.where(finite_profit, np.maximum(rule.target_fraction * np.where(finite_profit, max_profit, 0.0),
                                                floor), floor)
    stop = rule.stop_fraction * np.minimum(np.where(np.isfinite(max_loss), max_loss, margin), margin)
    return target, stop


class TrailState(NamedTuple):
    """Per position: trailing active, the ATR stop price (NaN: none yet), the BBW lock in USD (NaN: none)."""

    active: np.ndarray
    stop_price: np.ndarray
    locked_usd: np.ndarray

    @classmethod
    def empty(cls, positions: int) -> TrailState:
        return cls(np.zeros(positions, bool), np.full(positions, np.nan), np.full(positions, np.nan))


class Marks(NamedTuple):
    """What the exits read now, per position (arrays of one length; scalars broadcast)."""

    pnl_usd: np.ndarray
    target_usd: np.ndarray
    stop_usd: np.ndarray
    bullish: np.ndarray                # the position gains as the underlying rises (directional ones)
    price: np.ndarray                  # the underlying
    atr: np.ndarray                    # in price units; NaN: unknown (no ATR trailing then)
    bbw_ratio: np.ndarray              # Bollinger width over its average; NaN: unknown
    dte_days: np.ndarray
    entry_dte_days: np.ndarray
    seconds_to_expiry_close: np.ndarray
    in_blackout: np.ndarray


def evaluate_exits(state: TrailState, marks: Marks, rule: ExitRule) -> tuple[TrailState, np.ndarray]:
    """The trailing state after these marks, and each position's exit reason ("" holds)."""
    m = Marks(*(np.asarray(x) for x in marks))
    n = np.broadcast_shapes(*(np.shape(x) for x in m))
    m = Marks(*(np.broadcast_to(x, n) for x in m))
    state = _trail(state, m, rule)
    reason = np.full(n, HOLD, dtype=object)
    checks = (
        (TARGET, m.pnl_usd >= m.target_usd),
        (TRAILING_BBW, (rule.trailing_mode == "bbw") & np.isfinite(state.locked_usd)
         & (m.pnl_usd <= state.locked_usd)),
        (TRAILING_ATR, (rule.trailing_mode == "atr") & np.isfinite(state.stop_price)
         & np.where(m.bullish, m.price <= state.stop_price, m.price >= state.stop_price)),
        (TIME, (m.dte_days <= rule.time_exit_dte) & (m.entry_dte_days > rule.time_exit_dte)),
        (EVENT, m.in_blackout.astype(bool)),
        (EXPIRY, m.seconds_to_expiry_close <= rule.exit_before_expiry_s),
        (STOP, m.pnl_usd <= -m.stop_usd),
    )
    for name, holds in checks:                 # lowest priority first: a later one overwrites
        reason = np.where(holds, name, reason)
    return state, reason


def _trail(state: TrailState, m: Marks, rule: ExitRule) -> TrailState:
    """Activate at `trailing_threshold` of the target; ratchet the ATR stop; lock on a BBW expansion."""
    active = state.active | (m.pnl_usd >= rule.trailing_threshold * m.target_usd)
    stop_price, locked = state.stop_price.copy(), state.locked_usd.copy()
    if rule.trailing_mode == "atr":
        offset = rule.atr_multiple * m.atr
        candidate = np.where(m.bullish, m.price - offset, m.price + offset)
        better = np.where(m.bullish, ~(candidate <= stop_price), ~(candidate >= stop_price))   # NaN stop: take it
        stop_price = np.where(active & np.isfinite(candidate) & better, candidate, stop_price)
    elif rule.trailing_mode == "bbw":
        of_target = rule.bbw_lock_fraction * m.target_usd
        lock = np.where(m.pnl_usd > of_target, of_target, rule.bbw_lock_fraction * m.pnl_usd)
        expands = active & (m.bbw_ratio > rule.bbw_trigger_ratio) & (m.pnl_usd > 0)
        locked = np.where(expands & ~(lock <= locked), lock, locked)
    return TrailState(active, stop_price, locked)
