"""Settings of a Monte Carlo run: the scenario grid, how many seeded paths each, and how they fan out.

A scenario is the profile's backtest with one underlying, one regime and one combination of the
`parameters` grid applied (dotted field paths of the session profile, e.g.
`butterflies.profit_target_fraction`). Each path is `days` consecutive backtest sessions on its own
seed; path i has the same seed in every scenario (common random numbers), so scenarios that differ
only in an exit parameter are compared on the same markets.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from config.base import FrozenModel

Regime = Literal["low", "normal", "high"]


class MonteCarloConfig(FrozenModel):
    paths: int = Field(100, ge=1, le=10_000_000)                 # per scenario
    days: int = Field(1, ge=1, le=60)                            # consecutive sessions per path
    seed: int = Field(2026, ge=0)
    underlyings: dict[str, float] = Field(default_factory=lambda: {"SPY": 600.0})   # symbol -> start price
    regimes: tuple[Regime, ...] = ("normal",)
    parameters: dict[str, tuple[float | int | bool | str, ...]] = Field(default_factory=dict)
    paths_per_task: int = Field(5, ge=1, le=10_000)
    max_in_flight: int | None = Field(None, ge=1)               # tasks; default 2 x the cluster's CPUs
    max_retries: int = Field(3, ge=0, le=20)                     # per task, after its worker dies
    mark_every_s: float = Field(1800.0, gt=0)                    # equity marks within each session
    bootstrap_resamples: int = Field(2000, ge=100)
    out_dir: str = "reports/out/montecarlo"

    @field_validator("underlyings")
    @classmethod
    def _prices_positive(cls, underlyings: dict[str, float]) -> dict[str, float]:
        if not underlyings:
            raise ValueError("name at least one underlying")
        bad = {s: p for s, p in underlyings.items() if not p > 0}
        if bad:
            raise ValueError(f"start prices must be > 0: {bad}")
        return underlyings

    @field_validator("regimes")
    @classmethod
    def _regimes_distinct(cls, regimes: tuple[str, ...]) -> tuple[str, ...]:
        if not regimes or len(set(regimes)) != len(regimes):
            raise ValueError("name each regime once, at least one")
        return regimes

    @field_validator("parameters")
    @classmethod
    def _grid_values(cls, parameters: dict[str, tuple]) -> dict[str, tuple]:
        for key, values in parameters.items():
            if key.split(".")[0] in ("montecarlo", "symbols", "mode", "runtime", "name"):
                raise ValueError(f"{key}: not a strategy or exit parameter (the grid cannot vary it)")
            if not values or len(set(map(repr, values))) != len(values):
                raise ValueError(f"{key}: give one or more distinct values")
        return parameters
