"""Settings of the two-part spread executor (seed 001: TimingParameters, SizingParameters, ...)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.base import FrozenModel, rule_error


class TimingParameters(FrozenModel):
    """Delays and cancels of the trade loop, in seconds. Multipliers scale the delay by trading phase."""

    cancel_after_seconds: float = Field(2.5, gt=0, le=300)
    min_delay_between_attempts: float = Field(3.0, ge=0)
    max_delay_between_attempts: float = Field(15.0, ge=0)
    random_delay_factor: float = Field(0.2, ge=0, le=1)
    open_auction_delay_multiplier: float = Field(2.0, ge=1)
    close_auction_delay_multiplier: float = Field(1.5, ge=1)
    low_fill_rate_pause_seconds: float = Field(60.0, ge=0)

    @model_validator(mode="after")
    def _delays_ordered(self) -> TimingParameters:
        if self.min_delay_between_attempts > self.max_delay_between_attempts:
            raise rule_error("min_delay_between_attempts", "must be <= max_delay_between_attempts")
        return self


class SizingParameters(FrozenModel):
    """Contracts per order, adapted to the fill rate between the two thresholds."""

    min_contracts: int = Field(1, ge=1, le=10_000)
    max_contracts: int = Field(10, ge=1, le=10_000)
    current_contracts: int = Field(1, ge=1, le=10_000)
    target_fill_rate: float = Field(0.5, gt=0, le=1)
    size_increase_threshold: float = Field(0.7, gt=0, le=1)
    size_decrease_threshold: float = Field(0.3, ge=0, lt=1)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> SizingParameters:
        if self.min_contracts > self.max_contracts:
            raise rule_error("min_contracts", "must be <= max_contracts")
        if not self.min_contracts <= self.current_contracts <= self.max_contracts:
            raise rule_error("current_contracts", "must lie within [min_contracts, max_contracts]")
        if self.size_decrease_threshold >= self.size_increase_threshold:
            raise rule_error("size_decrease_threshold", "must be < size_increase_threshold")
        return self


class BalancerConfig(FrozenModel):
    """PositionBalancer: largest allowed |debit - credit| contracts per chain."""

    max_imbalance: int = Field(5, ge=0, le=100_000)
    force_balance_at_close: bool = True


class CreditMaximizerConfig(FrozenModel):
    """CreditMaximizer: net credit floor (per share), widest strike gap, ATM preference."""

    min_credit_threshold: float = Field(0.0, ge=0)
    max_spread_width: float = Field(10.0, gt=0)
    prefer_atm: bool = True


class ExecutorConfig(FrozenModel):
    """Executor-wide rules: the fill-rate floor and the DTE window that counts as optimal. `two_part`: the
    ExpirationTraders run (seeds 000/001's two-part credit spreads); off, a session trades only what the other
    strategies send (the strategist's structures, the butterflies), with the same market, gate and book."""

    two_part: bool = True
    min_fill_rate: float = Field(0.25, ge=0, le=1)
    optimal_expiry_range: tuple[int, int] = (30, 180)
    limit_rounding: Literal["passive", "toward_natural"] = "passive"
    """How a limit goes onto the tick grid: `passive` rounds away from crossing (a buy down, a sell up), so
    rounding never turns a resting order into a take; `toward_natural` (a buy up, a sell down) is the first
    wave's rule, which put penny-wide 0DTE orders on the far touch; kept to measure the difference."""

    @model_validator(mode="after")
    def _range_ordered(self) -> ExecutorConfig:
        low, high = self.optimal_expiry_range
        if low < 0 or low > high:
            raise rule_error("optimal_expiry_range", "must be (low, high) with 0 <= low <= high days")
        return self
