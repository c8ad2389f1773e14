"""Settings of the whole-fly vs split-vertical exit study: the assumptions that decide its answer, named."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.base import FrozenModel
from config.exchange import FillModel
from config.router import RouterRiskConfig


class StudyAssumptions(FrozenModel):
    """What the two exits are compared under.

    combo_rate_factor / combo_extra_width: how much thinner a 3-leg butterfly book is than a 2-leg
    vertical book (per extra leg: fill-rate factor, extra effective width as a fraction of the
    legs' width). combo_penalty_scale scales both at once (rate factor ** scale, width x scale): 0 removes the
    fly's penalty (its book as thick as a vertical's), 1 is the baseline. leg_latency_ms: median one-way latency
    router <-> exchange (log-normal). spread_multiplier scales every quoted bid/ask width around its mid.
    """

    combo_rate_factor: float = Field(0.5, gt=0, le=1)
    combo_extra_width: float = Field(0.25, ge=0)
    combo_penalty_scale: float = Field(1.0, ge=0, le=10)
    leg_latency_ms: float = Field(1.0, gt=0, le=1000)
    spread_multiplier: float = Field(1.0, gt=0, le=10)


class StudyConfig(FrozenModel):
    trades: int = Field(10_000, ge=1)
    seed: int = 0
    symbols: tuple[str, ...] = ("SPY", "QQQ", "IWM")
    start_prices: dict[str, float] = Field(default_factory=lambda: {"SPY": 590.0, "QQQ": 510.0, "IWM": 225.0})
    regime_vols: dict[str, float] = Field(default_factory=lambda: {"low": 0.11, "normal": 0.17, "high": 0.32})
    profit_target_fraction: float = Field(1.0, gt=0)          # exit when the fly's mid is this much above the debit
    atr_exit_multiple: float = Field(1.0, gt=0)               # exit when spot moves this many daily ATRs further away
    whole_fly_pricing: Literal["mid_haircut", "natural"] = "mid_haircut"
    whole_fly_haircut_fraction: float = Field(0.25, ge=0, le=1)   # of the way from mid to the natural
    quote_interval_ms: int = Field(50, ge=1)
    exit_window_s: float = Field(10.0, gt=0)
    assumptions: StudyAssumptions = StudyAssumptions()
    fills: FillModel = FillModel()
    risk: RouterRiskConfig = RouterRiskConfig()
    bootstrap_resamples: int = Field(2000, ge=100)
    sweep_trades: int = Field(1000, ge=0)
    sweep_combo_penalty_scale: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)
    sweep_combo_rate_factor: tuple[float, ...] = (1.0, 0.5, 0.25)
    sweep_combo_extra_width: tuple[float, ...] = (0.0, 0.25, 0.5)
    sweep_leg_latency_ms: tuple[float, ...] = (1.0, 25.0, 150.0)
    sweep_spread_multiplier: tuple[float, ...] = (0.5, 1.0, 2.0)
