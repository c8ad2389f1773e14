"""The butterfly entry signal and its exit rules (OTM convexity flies on the traded chains)."""

from __future__ import annotations

from pydantic import Field

from config.base import FrozenModel


class ButterflyStrategyConfig(FrozenModel):
    """One fly at a time per chain, entered every `entry_interval_s` while none is open.

    Entry: a long fly of `quantity` on calls or puts (seeded coin), centred `distance_expected_moves`
    expected moves (ATM IV x spot x sqrt(T)) out of the money, wings `width_expected_moves` wide
    (at least one strike), bought at the natural. Exits (the first that fires): the fly's mid reaches
    (1 + profit_target_fraction) x the debit; `max_hold_s` has passed; or spot has moved
    `atr_exit_multiple` daily ATRs (1.6 x IV x spot / sqrt(252)) further from the centre than at entry.
    An exit the router has not answered is sent again every `exit_resend_s` (the router ignores a repeat
    of an exit it is running; after its restart the repeat is how it learns which flies to resume). An exit that
    closed nothing ("missed": the first vertical refused, or not filled even at the natural) leaves the fly
    open and watched: its exit is tried again when a signal fires after `exit_resend_s`, doubled after each
    miss up to 60 s.
    """

    enabled: bool = False
    entry_interval_s: float = Field(1800.0, gt=0)
    distance_expected_moves: float = Field(0.5, ge=0)
    width_expected_moves: float = Field(0.35, gt=0)
    quantity: int = Field(1, ge=1)
    profit_target_fraction: float = Field(1.0, gt=0)
    max_hold_s: float = Field(3600.0, gt=0)
    atr_exit_multiple: float = Field(1.0, gt=0)
    min_days_to_expiry: int = Field(1, ge=0)
    exit_resend_s: float = Field(2.0, gt=0)
