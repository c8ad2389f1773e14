"""The liquidity gate (seed 002's `liquidity_gate.py`, with reasons): may a chain be traded at all?

Checks, in order, the first failure refusing with its code (`LIQUIDITY_CODES`):

- `no_quotes`: fewer than `min_two_sided` contracts quoted on both sides;
- `no_iv`: the chain's at-the-money implied vol cannot be found (no two-sided quote near the money, or no
  solution): nothing can be placed by delta without it;
- `incomplete_chain`: for some target delta (`target_deltas`, calls and puts alike) no two-sided contract lies
  within `delta_tolerance` of it (deltas from Black-Scholes at the ATM vol);
- `wide_spread`: at a target delta, the nearest contract's bid/ask width is more than `max_width_fraction` of its
  mid;
- `low_volume`, `low_open_interest`: where the data has them (arrays per contract), the target contracts trade
  fewer than `min_volume` contracts or hold less than `min_open_interest`; without the data the check says so in
  `skipped` and passes.

A pure function of the chain and the time; seed 002's gate blocked every trade because its thresholds assumed
data the backtest did not have: here a missing input is named, never silently fatal or silently ignored.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from core.pricing.bsm import bsm_price_delta
from core.pricing.implied_vol import implied_vol
from core.quotes import ChainQuotes
from core.units import years_between_ns

LIQUIDITY_CODES = ("no_quotes", "no_iv", "incomplete_chain", "wide_spread", "low_volume", "low_open_interest")


class LiquidityRule(NamedTuple):
    max_width_fraction: float = 0.10
    target_deltas: tuple[float, ...] = (0.16, 0.30)
    delta_tolerance: float = 0.05
    min_two_sided: int = 6
    min_volume: int = 0
    min_open_interest: int = 0


class LiquidityVerdict(NamedTuple):
    """`code` "" when the chain passes; `atm_iv` NaN when unknown; `skipped`: checks without their data."""

    code: str
    reason: str
    atm_iv: float
    skipped: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.code == ""


def atm_iv(quotes: ChainQuotes, now_ns: int, rate: float) -> float:
    """Implied vol of the two-sided contract nearest the money at its mid (NaN when none solves)."""
    bid, ask = np.asarray(quotes.bid, float), np.asarray(quotes.ask, float)
    two_sided = (bid > 0) & (ask > bid)
    if not two_sided.any() or not np.isfinite(quotes.underlying):
        return float("nan")
    strikes = np.asarray(quotes.strikes, float)
    distance = np.where(two_sided, np.abs(strikes - quotes.underlying), np.inf)
    nearest = np.flatnonzero(distance == distance.min())
    t_years = years_between_ns(now_ns, quotes.expiry_ns)
    vols = implied_vol(0.5 * (bid[nearest] + ask[nearest]), np.asarray(quotes.is_call)[nearest], quotes.underlying,
                       strikes[nearest], t_years, rate, 0.0).vol
    return float(np.nanmean(vols)) if np.isfinite(vols).any() else float("nan")


def check_liquidity(quotes: ChainQuotes, now_ns: int, rate: float, rule: LiquidityRule = LiquidityRule(),
                    volume=None, open_interest=None) -> LiquidityVerdict:
    """The gate's verdict on one chain (see the module docstring)."""
    bid, ask = np.asarray(quotes.bid, float), np.asarray(quotes.ask, float)
    two_sided = (bid > 0) & (ask > bid)
    if two_sided.sum() < rule.min_two_sided:
        return LiquidityVerdict("no_quotes", f"{int(two_sided.sum())} contracts quoted on both sides, need "
                                             f"{rule.min_two_sided}", float("nan"))
    vol = atm_iv(quotes, now_ns, rate)
    if not np.isfinite(vol):
        return LiquidityVerdict("no_iv", "no implied vol at the money (no two-sided quote there solves)", vol)
    is_call = np.asarray(quotes.is_call, bool)
    t_years = max(years_between_ns(now_ns, quotes.expiry_ns), 1e-9)
    _, delta = bsm_price_delta(is_call, quotes.underlying, np.asarray(quotes.strikes, float), t_years, rate, 0.0, vol)
    targets = _target_contracts(np.abs(delta), is_call, two_sided, rule)
    if isinstance(targets, str):
        return LiquidityVerdict("incomplete_chain", targets, vol)
    mid = 0.5 * (bid[targets] + ask[targets])
    width_fraction = (ask[targets] - bid[targets]) / mid
    if (width_fraction > rule.max_width_fraction).any():
        worst = int(np.argmax(width_fraction))
        return LiquidityVerdict("wide_spread", f"bid/ask {width_fraction[worst]:.0%} of the mid at strike "
                                               f"{quotes.strikes[targets[worst]]:g}, above "
                                               f"{rule.max_width_fraction:.0%}", vol)
    return _activity(targets, rule, volume, open_interest, vol)


def _target_contracts(abs_delta: np.ndarray, is_call: np.ndarray, two_sided: np.ndarray,
                      rule: LiquidityRule) -> np.ndarray | str:
    """The two-sided contract nearest each target delta, calls then puts, or why one is missing."""
    chosen = []
    for calls in (True, False):
        side = two_sided & (is_call == calls)
        for target in rule.target_deltas:
            gap = np.where(side, np.abs(abs_delta - target), np.inf)
            nearest = int(np.argmin(gap))
            if gap[nearest] > rule.delta_tolerance:
                return (f"no two-sided {'call' if calls else 'put'} within {rule.delta_tolerance:g} of delta "
                        f"{target:g}")
            chosen.append(nearest)
    return np.asarray(chosen)


def _activity(targets: np.ndarray, rule: LiquidityRule, volume, open_interest, vol: float) -> LiquidityVerdict:
    skipped = []
    for name, values, minimum, code in (("volume", volume, rule.min_volume, "low_volume"),
                                        ("open interest", open_interest, rule.min_open_interest, "low_open_interest")):
        if values is None:
            skipped.append(name)
            continue
        least = np.asarray(values)[targets].min()
        if least < minimum:
            return LiquidityVerdict(code, f"{name} {least:g} at a target contract, need {minimum}", vol)
    return LiquidityVerdict("", "", vol, tuple(skipped))
