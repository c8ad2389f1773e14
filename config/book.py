"""Settings of the book: how often it marks, how it models what has no quote, and expiry."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.base import FrozenModel


class BookConfig(FrozenModel):
    """`enabled`: off, no book component runs (the benchmark of its cost). `mark_interval_s`: how often the book
    values itself (the equity curve's step, the metrics' refresh).
    `fallback_vol`: the model vol of a chain with no usable quote at all. `pin_distance_per_share`: a short
    strike this close to the settlement price gets a pin-risk line. `assigned_shares`: shares from an
    assignment or exercise are carried, or closed at the next session's open. `worst_case_range`: the price
    grid of the worst case at expiry is spot x [1 - range, 1 + range]."""

    enabled: bool = True
    mark_interval_s: float = Field(300.0, ge=1.0, le=3600.0)
    fallback_vol: float = Field(0.2, gt=0.0, le=5.0)
    pin_distance_per_share: float = Field(1.0, ge=0.0, le=1000.0)
    assigned_shares: Literal["carry", "close_next_open"] = "close_next_open"
    worst_case_range: float = Field(0.5, gt=0.0, lt=1.0)
