"""Replay of real bars from the repository's data/: daily SPY/QQQ/IWM (split-adjusted), SPX/SPY minutes, VIX.

The raw daily files show splits (QQQ 2000-03-20, IWM 2005-06-09). They are found from the
data itself: an overnight close->open ratio within 4% of an integer 2..10 (or its inverse for
a reverse split) is a split, since no real overnight move is 50%. Prices before it are divided
by the ratio and volumes multiplied, so returns across the split are real returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.units import NEW_YORK

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "data"
DAILY_FILES = {"SPY": "spy_daily_raw_unadjusted_lean.csv", "QQQ": "qqq_daily_raw_unadjusted_lean.csv",
               "IWM": "iwm_daily_raw_unadjusted_lean.csv"}
DAILY_EXTENSIONS = {"SPY": "spy_daily_2021_tiingo_format_lambdaclass.csv"}
"""Raw daily bars that continue a symbol's file past its last day (SPY's Lean file ends 2021-03-31)."""
MINUTE_FILE = "spx_spy_underlying_minute_bars_lean.csv"
VIX_FILE = "vix_daily_cboe_via_datasets_finance-vix.csv"
_SPLIT_TOLERANCE = 0.04
MAX_GAP_DAYS = 10      # 2001-09-11 closed the market for 6 days; longer holes are missing data


@dataclass(frozen=True)
class Split:
    day: pd.Timestamp
    ratio: float          # new shares per old share (2.0 for a 2:1 split; 0.5 for a 1:2 reverse split)


class UnknownSymbolError(KeyError):
    """No replay file for the symbol."""


def detect_splits(bars: pd.DataFrame) -> list[Split]:
    """Days whose open is an integer fraction (or multiple) of the previous close."""
    ratio = (bars.close.shift(1) / bars.open).to_numpy()
    splits = []
    for i in np.flatnonzero(np.isfinite(ratio)):
        for candidate, reverse in ((ratio[i], False), (1.0 / ratio[i], True)):
            whole = round(candidate)
            if 2 <= whole <= 10 and abs(candidate / whole - 1.0) <= _SPLIT_TOLERANCE:
                splits.append(Split(bars.index[i], 1.0 / whole if reverse else float(whole)))
    return splits


def split_adjust(bars: pd.DataFrame, splits: list[Split]) -> pd.DataFrame:
    adjusted = bars.astype({"volume": np.float64})
    for split in splits:
        before = adjusted.index < split.day
        adjusted.loc[before, ["open", "high", "low", "close"]] /= split.ratio
        adjusted.loc[before, "volume"] *= split.ratio
    return adjusted


def load_daily(symbol: str, data_dir: Path = DEFAULT_DATA) -> pd.DataFrame:
    """Split-adjusted daily OHLCV indexed by date.

    `.attrs['splits']` lists the splits found; column `after_gap` is True on the first bar after
    a hole of more than `MAX_GAP_DAYS` calendar days (QQQ has none from 2004-12 to 2011-03, when
    it traded as QQQQ): a return across it is not a daily return.
    """
    if symbol not in DAILY_FILES:
        raise UnknownSymbolError(f"no daily replay file for {symbol!r}; have {sorted(DAILY_FILES)}")
    raw = pd.read_csv(data_dir / DAILY_FILES[symbol], parse_dates=["date"]).set_index("date").sort_index()
    raw = _extended(raw, symbol, data_dir)
    splits = detect_splits(raw)
    adjusted = split_adjust(raw, splits)
    adjusted["after_gap"] = adjusted.index.to_series().diff().dt.days.gt(MAX_GAP_DAYS).to_numpy()
    adjusted.attrs["splits"] = splits
    return adjusted


def _extended(raw: pd.DataFrame, symbol: str, data_dir: Path) -> pd.DataFrame:
    """`raw` with the extension file's days after its last one (the raw open/high/low/close/volume columns)."""
    name = DAILY_EXTENSIONS.get(symbol)
    if name is None or not (data_dir / name).is_file():
        return raw
    more = pd.read_csv(data_dir / name, parse_dates=["date"]).set_index("date").sort_index()
    more = more.loc[more.index > raw.index[-1], list(raw.columns)]
    return pd.concat([raw, more])


def daily_log_returns(bars: pd.DataFrame) -> pd.Series:
    """Close-to-close log returns, without the ones across a data gap."""
    returns = np.log(bars.close).diff()
    return returns[~bars.after_gap].dropna()


def load_minutes(symbol: str, data_dir: Path = DEFAULT_DATA) -> pd.DataFrame:
    """Regular-hours minute bars (09:30-15:59 New York) of SPX or SPY, indexed by New York time."""
    bars = pd.read_csv(data_dir / MINUTE_FILE, parse_dates=["time_et"])
    bars = bars[bars.symbol == symbol]
    if bars.empty:
        raise UnknownSymbolError(f"no minute replay bars for {symbol!r}")
    minute_of_day = bars.time_et.dt.hour * 60 + bars.time_et.dt.minute
    regular = bars[(minute_of_day >= 9 * 60 + 30) & (minute_of_day < 16 * 60)]
    return regular.set_index(regular.time_et.dt.tz_localize(NEW_YORK)).drop(columns="time_et")


def load_vix(data_dir: Path = DEFAULT_DATA) -> pd.Series:
    """VIX close by date, in vol points (divide by 100 for a decimal vol)."""
    vix = pd.read_csv(data_dir / VIX_FILE, parse_dates=["DATE"]).set_index("DATE").sort_index()
    return vix.CLOSE.rename("vix")


def history_before(symbol: str, day, sessions: int, start_price: float | None = None,
                   data_dir: Path = DEFAULT_DATA) -> tuple[pd.DataFrame | None, pd.Series | None]:
    """A daily history for a strategist whose market has no past of its own (a simulated day, a paper session):
    the last `sessions` real sessions of `symbol`'s daily file and of VIX, re-dated onto the exchange calendar's
    sessions ending the session before `day`, prices scaled so the last close is `start_price` (when given).
    (None, None) for a symbol without a daily file. An assumption, stated where it is used: the real history's
    shape with today's dates."""
    from core.calendar import MarketCalendar

    if symbol not in DAILY_FILES:
        return None, None
    bars = load_daily(symbol, data_dir)[["open", "high", "low", "close"]].iloc[-sessions:]
    vix = load_vix(data_dir).reindex(bars.index)
    days = MarketCalendar().sessions(day - pd.Timedelta(days=2 * sessions + 10), day - pd.Timedelta(days=1))
    dates = pd.DatetimeIndex([pd.Timestamp(d) for d in days[-len(bars):]], name="date")
    scale = start_price / float(bars.close.iloc[-1]) if start_price else 1.0
    bars = bars.set_axis(dates[-len(bars):]) * scale
    return bars, vix.set_axis(dates[-len(bars):])


def real_history_before(symbol: str, day, sessions: int, scale_to: float | None = None,
                        data_dir: Path = DEFAULT_DATA) -> tuple[pd.DataFrame | None, pd.Series | None]:
    """A replay of a real past day's history: the last `sessions` real sessions of `symbol`'s daily file before
    `day` (its own dates: no look-ahead) and VIX on those dates, prices scaled so the last close is `scale_to`
    (when given: the SPX replay reads SPY's history at SPX's price, since the data has no SPX daily file; RSI,
    the trend slope and the Bollinger ratio do not change with the scale, the ATR scales with the price). (None,
    None) for a symbol without a daily file or without sessions before `day`."""
    if symbol not in DAILY_FILES:
        return None, None
    bars = load_daily(symbol, data_dir)[["open", "high", "low", "close"]]
    bars = bars[bars.index < pd.Timestamp(day)].iloc[-sessions:]
    if bars.empty:
        return None, None
    scale = scale_to / float(bars.close.iloc[-1]) if scale_to else 1.0
    return bars * scale, load_vix(data_dir).reindex(bars.index)


EVENTS_FILE = "us_macro_events.csv"


def load_events(data_dir: Path = DEFAULT_DATA):
    """The scheduled CPI and FOMC releases in `data/us_macro_events.csv` (date, time_et, event, note, source) as an
    `EventCalendar` of UTC instants; an empty calendar when the file is absent."""
    from core.strategy.events import calendar

    path = data_dir / EVENTS_FILE
    if not path.exists():
        return calendar([], [])
    table = pd.read_csv(path, dtype=str)
    local = pd.to_datetime(table.date + " " + table.time_et).dt.tz_localize(NEW_YORK)
    return calendar(local.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy(), table.event.to_numpy())
