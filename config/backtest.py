"""Settings of an inline backtest day: which day, how often chains update, the simulated underlyings."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from config.base import FrozenModel


class BacktestConfig(FrozenModel):
    day: date = date(2026, 11, 20)
    quote_interval_s: float = Field(2.0, gt=0, le=600)
    start_prices: dict[str, float] = Field(default_factory=lambda: {"SPY": 600.0, "QQQ": 520.0, "IWM": 240.0})
    regime: Literal["low", "normal", "high"] = "normal"
    expirations_dte: tuple[int, ...] = (0, 7, 30)     # the listed expiries nearest these DTEs
    n_strikes: int = Field(60, ge=10, le=400)
    rate: float = 0.04
