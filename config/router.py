"""Risk config of the ButterflyExitRouter (seed 000): slippage guardrails, partial exposure, routing."""

from __future__ import annotations

from enum import Enum

from pydantic import Field, model_validator

from config.base import FrozenModel, rule_error


class FallbackAction(str, Enum):
    """What the router does when the second vertical cannot be closed within bounds."""

    REPRICE_AGGRESSIVE = "reprice_aggressive"
    CLOSE_SHORT_LEG = "close_short_leg"
    HEDGE_DELTA = "hedge_delta"


class RoutingPreferences(FrozenModel):
    """How exit orders are priced and re-priced. Prices are per share."""

    limit_offset_from_mid_per_share: float = Field(0.0, ge=0)
    reprice_ladder_per_share: tuple[float, ...] = (0.01, 0.02, 0.05)
    reprice_interval_ms: int = Field(25, ge=1)
    first_order_timeout_ms: int = Field(2000, ge=10)   # first vertical (or whole fly): then crossed to the natural
    fallbacks: tuple[FallbackAction, ...] = (FallbackAction.REPRICE_AGGRESSIVE, FallbackAction.CLOSE_SHORT_LEG)
    hedge_with_underlying: bool = False
    hedge_collar_fraction: float = Field(0.002, gt=0, le=0.05)   # a hedge's limit: the underlying +- this fraction
    hedge_rate: float = Field(0.04, ge=-0.05, le=0.5)            # annual rate in the hedge's Black-Scholes delta
    allow_whole_fly_complex_order: bool = False

    @model_validator(mode="after")
    def _ladder_rises(self) -> RoutingPreferences:
        ladder = self.reprice_ladder_per_share
        if any(step <= 0 for step in ladder) or list(ladder) != sorted(ladder):
            raise rule_error("reprice_ladder_per_share", "steps must be > 0 and increasing")
        if len(set(self.fallbacks)) != len(self.fallbacks):
            raise rule_error("fallbacks", "each fallback at most once")
        if FallbackAction.HEDGE_DELTA in self.fallbacks and not self.hedge_with_underlying:
            raise rule_error("fallbacks", "hedge_delta needs hedge_with_underlying: true")
        return self


class RouterRiskConfig(FrozenModel):
    """Guardrails: slippage vs mid per leg and per structure (per share), and partial-exposure time."""

    max_slippage_per_leg_per_share: float = Field(0.05, ge=0)
    max_slippage_per_structure_per_share: float = Field(0.15, ge=0)
    max_partial_exposure_ms: int = Field(250, ge=50, le=500)
    routing: RoutingPreferences = RoutingPreferences()

    @model_validator(mode="after")
    def _structure_covers_leg(self) -> RouterRiskConfig:
        if self.max_slippage_per_structure_per_share < self.max_slippage_per_leg_per_share:
            raise rule_error("max_slippage_per_structure_per_share", "must be >= max_slippage_per_leg_per_share")
        return self
