"""Margin a structure ties up, per unit, by the rules a US options broker applies (stated here, since a sizing
decision and a credit/margin figure are only as honest as the formula behind them).

- **Defined risk** (iron condor, butterflies, verticals, a jade lizard whose credit covers its call spread): the
  structure's largest loss at expiry, `max_loss_per_share x multiplier`: for a credit spread its width minus the
  credit, for a debit structure the debit.
- **A naked short option** (CBOE's and FINRA's standard formula for equity options, Rule 4210): the premium plus
  the larger of 20% of the underlying less the amount the option is out of the money, and 10% of the underlying
  (a call) or of the strike (a put).
- **A short strangle**: the larger side's naked requirement plus the other side's premium (both sides cannot lose
  at once).
- **A jade lizard**: the larger of the put's naked requirement and the call spread's width (less nothing: its credit
  already covers the width when the structure has no upside risk).
- **A risk reversal**: the sold leg's naked requirement plus the debit, if any, paid for the bought leg.
"""

from __future__ import annotations

import numpy as np

NAKED_UNDERLYING_FRACTION = 0.20
NAKED_MINIMUM_FRACTION = 0.10


def naked_requirement_per_share(is_call, strike, spot, premium_per_share):
    """The standard requirement of one short option per share (numpy arrays or floats): the premium plus
    max(20% x spot - out-of-the-money amount, 10% x spot for a call / 10% x strike for a put)."""
    is_call = np.asarray(is_call, dtype=bool)
    strike = np.asarray(strike, dtype=np.float64)
    out_of_money = np.where(is_call, np.maximum(strike - spot, 0.0), np.maximum(spot - strike, 0.0))
    minimum = NAKED_MINIMUM_FRACTION * np.where(is_call, spot, strike)
    requirement = premium_per_share + np.maximum(NAKED_UNDERLYING_FRACTION * spot - out_of_money, minimum)
    return float(requirement) if requirement.ndim == 0 else requirement


def strangle_requirement_per_share(put_strike: float, call_strike: float, spot: float, put_premium: float,
                                   call_premium: float) -> float:
    """A short strangle: the larger side's naked requirement plus the other side's premium."""
    put = naked_requirement_per_share(False, put_strike, spot, put_premium)
    call = naked_requirement_per_share(True, call_strike, spot, call_premium)
    return max(put + call_premium, call + put_premium)


def jade_lizard_requirement_per_share(put_strike: float, spot: float, put_premium: float,
                                      call_width_per_share: float) -> float:
    """The larger of the short put's naked requirement and the short call spread's width."""
    return max(naked_requirement_per_share(False, put_strike, spot, put_premium), call_width_per_share)
