"""Settings of an inline backtest day: which day, how often chains update, the simulated underlyings."""

from __future__ import annotations

import math
from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from config.base import FrozenModel, rule_error

MAX_SESSIONS = 1000


class BacktestConfig(FrozenModel):
    """`day`: the first session (or `start`, its other name); `end`: the last session of a multi-day run (None:
    one day). Each session's traders pick their expirations anew from what is listed that day."""

    day: date = date(2026, 11, 20)
    start: date | None = None
    end: date | None = None
    quote_interval_s: float = Field(2.0, gt=0, le=600)
    start_prices: dict[str, float] = Field(default_factory=lambda: {"SPY": 600.0, "QQQ": 520.0, "IWM": 240.0})
    regime: Literal["low", "normal", "high"] = "normal"
    expirations_dte: tuple[int, ...] = (0, 7, 30)     # the listed expiries nearest these DTEs
    n_strikes: int = Field(60, ge=10, le=400)
    mid_noise_half_spreads: float = Field(0.5, ge=0, le=10)
    """The simulated chain's mid is off the model value by a seeded AR(1) per contract with this standard deviation
    in half-spreads, so quoting at the model's fair value is not free edge; 0 is the neutral setting (every mid is
    the model value, the first wave's market). The calibration report says why 0.5."""
    mid_noise_half_life_s: float = Field(30.0, gt=0, le=86_400)
    """How long a mid's deviation from the model value takes to halve (the AR(1)'s persistence per snapshot is
    0.5 ** (quote_interval_s / mid_noise_half_life_s))."""
    rate: float = 0.04
    capital_usd: float = Field(1_000_000.0, gt=0)      # the equity the report's returns and ratios are on
    market: Literal["simulated", "cboe_spx_2019", "spy_2021"] = "simulated"
    """simulated, or a real chain file in data/ replayed one snapshot a day (`sim.market.chain_file`):
    cboe_spx_2019 (the CBOE SPX chain, 2019-04-25 to 2019-07-22) or spy_2021 (SPY's end-of-day file of 2021,
    20 contracts a day)."""

    @property
    def first_day(self) -> date:
        return self.start or self.day

    @model_validator(mode="after")
    def _range(self) -> BacktestConfig:
        for symbol, price in self.start_prices.items():
            if not (math.isfinite(price) and price > 0):
                raise rule_error(f"start_prices.{symbol}", f"must be a finite price above 0, got {price}")
        if not self.expirations_dte or any(not 0 <= dte <= 1000 for dte in self.expirations_dte):
            raise rule_error("expirations_dte", f"need at least one days-to-expiry within 0..1000, got "
                             f"{list(self.expirations_dte)}")
        if self.end is not None and self.end < self.first_day:
            raise rule_error("end", f"{self.end} is before the first session {self.first_day}")
        if self.end is not None and (self.end - self.first_day).days > MAX_SESSIONS * 7 // 5 + 10:
            raise rule_error("end", f"at most {MAX_SESSIONS} sessions in one backtest")
        return self
