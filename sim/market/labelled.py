"""A labelled regime path for the strategy Monte Carlo: one path of `paths.market_regime_bars`, cut into a warm-up
history (the strategist's daily bars and VIX before the first traded session) and the traded sessions, each with
its open, close, realized vol, implied vol and the regime label that drew it.

A traded day is `DayFeed`'s market with the day set by the path: the intraday path has the label's vol and is
bridged from the day's open onto its close; the chains are priced at the day's VIX (1.15 x a 10-day EWMA of the
path's realized vol, `market_regime_bars`), so implied vol lags a regime change the way it does in a real market,
and carries the 15% premium over realized vol that the model's VIX holds. These are the model's assumptions, stated
wherever its results are reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd

from core.calendar import MarketCalendar
from core.strategy.regimes import Regime
from sim.market.paths import MarketRegimeModel, market_regime_bars

LABELS = tuple(regime.name for regime in Regime if regime >= 0)
"""`MarketRegimeModel`'s regimes in label order: `core.strategy.regimes.Regime`'s names (RANGE_BOUND, ...)."""


class DayBar(NamedTuple):
    """One traded session of a labelled path: prices per share of the underlying, vols annualized."""

    open: float
    close: float
    vol: float
    implied_vol: float             # the VIX known at the open (the day before's), / 100
    label: str


@dataclass(frozen=True)
class LabelledPath:
    """Warm-up history (dated sessions before `first_day`) and the traded sessions' bars, in order."""

    first_day: date
    history: pd.DataFrame          # open, high, low, close; DatetimeIndex named "date"
    vix: pd.Series                 # VIX points on the history's dates
    bars: tuple[DayBar, ...]

    def day(self, index: int) -> DayBar:
        return self.bars[index]


def labelled_path(seed: int, first_day: date, days: int, warmup_days: int = 300, s0: float = 100.0,
                  model: MarketRegimeModel = MarketRegimeModel()) -> LabelledPath:
    """Path `seed` of `model`: `warmup_days` sessions of history ending the session before `first_day`, then `days`
    traded sessions, scaled so the first traded session opens at `s0` (a listed chain's strikes are centred on the
    traded days, not on where the warm-up began). A day's chains are priced at the VIX of the day before (the
    model's VIX includes its day's own close, which the open cannot know). The same seed gives the same path to
    every variant of a Monte Carlo (paired comparison)."""
    if days < 1 or warmup_days < 1:
        raise ValueError(f"days and warmup_days must be at least 1, got {days} and {warmup_days}")
    bars = market_regime_bars(model, 1, warmup_days + days, np.random.default_rng(seed))
    scale = s0 / bars["open"][0, warmup_days]
    for key in ("open", "high", "low", "close"):
        bars[key] = bars[key] * scale
    dates = _sessions_before(first_day, warmup_days)
    history = pd.DataFrame({k: bars[k][0, :warmup_days] for k in ("open", "high", "low", "close")},
                           index=pd.DatetimeIndex(dates, name="date"))
    vix = pd.Series(bars["vix"][0, :warmup_days], index=history.index, name="vix")
    traded = slice(warmup_days, warmup_days + days)
    known_before = slice(warmup_days - 1, warmup_days + days - 1)      # a day's VIX includes its own close
    vols = np.asarray(model.vols)[bars["label"][0, traded]]
    day_bars = tuple(DayBar(float(o), float(c), float(v), float(x) / 100.0, LABELS[int(k)]) for o, c, v, x, k in
                     zip(bars["open"][0, traded], bars["close"][0, traded], vols, bars["vix"][0, known_before],
                         bars["label"][0, traded]))
    return LabelledPath(first_day, history, vix, day_bars)


def _sessions_before(day: date, count: int) -> list[pd.Timestamp]:
    sessions = MarketCalendar().sessions(day - timedelta(days=2 * count + 30), day - timedelta(days=1))
    if len(sessions) < count:
        raise ValueError(f"the calendar has {len(sessions)} sessions before {day}, {count} wanted")
    return [pd.Timestamp(d) for d in sessions[-count:]]
