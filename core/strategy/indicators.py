"""Technical and volatility indicators over bar arrays, vectorized (seeds 002 and 003).

The moving-average indicators come from TA-Lib (the `ta-lib` package, its C library bundled in the wheel):
RSI and ATR with Wilder's smoothing (alpha = 1/period, seeded with the simple mean of the first `period`
values), Bollinger bands with the population standard deviation (ddof 0) over `period` closes, simple moving
averages and the least-squares slope. Realized volatility and the IV rank and percentile are numpy/pandas
here (TA-Lib has neither): realized volatility is the sample standard deviation (ddof 1) of close-to-close log
returns, annualized by sqrt(252). Every output has the input's length, NaN until its window is full; a NaN in an
input stays local to the windows that include it (a NaN close is not carried into later values by a recursion:
see `_by_stretch`).

Units: prices as given; `atr` in price units; `bollinger_width` as a fraction of the middle band; volatilities
as decimals a year (0.20 = 20%); `iv_rank` and `iv_percentile` in percent (0..100), the seeds' scale.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import talib

TRADING_DAYS_PER_YEAR = 252


def _floats(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)


def _by_stretch(function, timeperiod: int, *series: np.ndarray, **settings) -> np.ndarray | tuple[np.ndarray, ...]:
    """Run a TA-Lib function on each stretch of finite inputs apart: TA-Lib carries a NaN into every later value
    (its running sums and recursions never forget it), where a gap in the bars should only cost the windows that
    include it. Returns what the function returns (one array, or a tuple), NaN outside the stretches."""
    finite = np.all([np.isfinite(s) for s in series], axis=0)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
    outputs: list[np.ndarray] | None = None
    for start, stop in zip(edges[::2], edges[1::2]):           # one call per stretch of finite bars
        if stop - start < timeperiod:
            continue                                            # too short for one value
        result = function(*(s[start:stop] for s in series), timeperiod=timeperiod, **settings)
        parts = result if isinstance(result, tuple) else (result,)
        if outputs is None:
            outputs = [np.full(series[0].size, np.nan) for _ in parts]
        for out, part in zip(outputs, parts):
            out[start:stop] = part
    if outputs is None:
        return np.full(series[0].size, np.nan)
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def rsi(close, period: int = 14) -> np.ndarray:
    """Relative strength index (0..100), Wilder's smoothing of gains and losses."""
    return _by_stretch(talib.RSI, period, _floats(close))


def atr(high, low, close, period: int = 14) -> np.ndarray:
    """Average true range in price units, Wilder's smoothing of the true range."""
    return _by_stretch(talib.ATR, period, _floats(high), _floats(low), _floats(close))


def bollinger_width(close, period: int = 20, num_std: float = 2.0) -> np.ndarray:
    """(upper - lower) / middle band: 2 x num_std x the population standard deviation over the SMA."""
    bands = _by_stretch(talib.BBANDS, period, _floats(close), nbdevup=num_std, nbdevdn=num_std,
                        matype=talib.MA_Type.SMA)
    if not isinstance(bands, tuple):
        return bands
    upper, middle, lower = bands
    return (upper - lower) / middle


def ratio_to_average(values, period: int = 50) -> np.ndarray:
    """Each value over the simple mean of the last `period` values (seed 003's BBW ratio, its trailing stop
    trigger at 1.8): above 1 when the value is above its own average."""
    values = _floats(values)
    return values / pd.Series(values).rolling(period).mean().to_numpy()


def sma(close, period: int) -> np.ndarray:
    return _by_stretch(talib.SMA, period, _floats(close))


def trend_slope(close, period: int = 20) -> np.ndarray:
    """Least-squares slope of the last `period` closes, as a fraction of the latest close per bar (0.001: the
    fitted line rises 0.1% of the price a bar)."""
    close = _floats(close)
    return _by_stretch(talib.LINEARREG_SLOPE, period, close) / close


def realized_vol(close, period: int = 20, periods_per_year: int = TRADING_DAYS_PER_YEAR) -> np.ndarray:
    """Annualized sample standard deviation (ddof 1) of the last `period` close-to-close log returns."""
    returns = np.diff(np.log(_floats(close)), prepend=np.nan)
    return pd.Series(returns).rolling(period).std(ddof=1).to_numpy() * np.sqrt(periods_per_year)


def iv_rank(iv, window: int = TRADING_DAYS_PER_YEAR) -> np.ndarray:
    """100 x (iv - min) / (max - min) over the last `window` values, today's included (seed 002's IVR); NaN
    until a window is full and where the window's range is zero."""
    series = pd.Series(_floats(iv))
    low, high = series.rolling(window).min(), series.rolling(window).max()
    span = (high - low).where(lambda s: s > 0)
    return (100.0 * (series - low) / span).to_numpy()


def iv_percentile(iv, window: int = TRADING_DAYS_PER_YEAR) -> np.ndarray:
    """100 x the share of the previous `window` values strictly below today's (seed 003's IV percentile): NaN
    until `window` earlier values exist."""
    values = _floats(iv)
    out = np.full(values.size, np.nan)
    if values.size <= window:
        return out
    earlier = np.lib.stride_tricks.sliding_window_view(values[:-1], window)     # rows: the window before each day
    today = values[window:]
    below = (earlier < today[:, None]).sum(axis=1)
    valid = np.isfinite(today) & np.isfinite(earlier).all(axis=1)
    out[window:] = np.where(valid, 100.0 * below / window, np.nan)
    return out


class IndicatorSettings(NamedTuple):
    """Windows of the indicators (bars of the series they run on)."""

    rsi_period: int = 14
    atr_period: int = 14
    bollinger_period: int = 20
    bollinger_std: float = 2.0
    bbw_average_period: int = 50
    trend_period: int = 20
    fast_ma: int = 20
    slow_ma: int = 50
    realized_period: int = 20
    iv_window: int = TRADING_DAYS_PER_YEAR


class Indicators(NamedTuple):
    """Every indicator over one series of bars, arrays of the bars' length."""

    rsi: np.ndarray
    atr: np.ndarray
    atr_fraction: np.ndarray        # ATR / close
    bollinger_width: np.ndarray
    bbw_ratio: np.ndarray
    trend_slope: np.ndarray
    ma_state: np.ndarray            # +1 fast SMA above slow, -1 below, 0 equal or unknown
    realized_vol: np.ndarray
    iv: np.ndarray                  # the implied vol used (decimal), NaN where none
    iv_rank: np.ndarray
    iv_percentile: np.ndarray
    iv_minus_rv: np.ndarray


def compute(high, low, close, iv=None, settings: IndicatorSettings = IndicatorSettings(),
            periods_per_year: int = TRADING_DAYS_PER_YEAR) -> Indicators:
    """Every indicator for one series of bars; `iv`: an implied vol per bar (decimal: the chain's ATM IV, or VIX /
    100), or None (the IV indicators are NaN)."""
    close = _floats(close)
    width = bollinger_width(close, settings.bollinger_period, settings.bollinger_std)
    average_true_range = atr(high, low, close, settings.atr_period)
    fast, slow = sma(close, settings.fast_ma), sma(close, settings.slow_ma)
    realized = realized_vol(close, settings.realized_period, periods_per_year)
    implied = np.full(close.size, np.nan) if iv is None else _floats(iv)
    return Indicators(
        rsi=rsi(close, settings.rsi_period), atr=average_true_range, atr_fraction=average_true_range / close,
        bollinger_width=width, bbw_ratio=ratio_to_average(width, settings.bbw_average_period),
        trend_slope=trend_slope(close, settings.trend_period),
        ma_state=np.nan_to_num(np.sign(fast - slow)), realized_vol=realized, iv=implied,
        iv_rank=iv_rank(implied, settings.iv_window), iv_percentile=iv_percentile(implied, settings.iv_window),
        iv_minus_rv=implied - realized)
