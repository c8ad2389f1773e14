"""Payoff at expiry, max profit, max loss and breakevens of any structure.

Values are per share, summed over the legs' signed quantities (multiply by the
structure's contract multiplier for money). `entry_cost_per_share` is what was
paid to open it: positive for a debit, negative for a credit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.structures import Structure


@dataclass(frozen=True, slots=True)
class PayoffProfile:
    """Risk figures at expiry, per share. `max_loss_per_share` is a positive loss; inf when unbounded."""

    max_profit_per_share: float
    max_loss_per_share: float
    breakevens: tuple[float, ...]


def _leg_arrays(structure: Structure) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    strikes = np.array([leg.strike for leg in structure.legs], dtype=np.float64)
    signed_qty = np.array([leg.signed_quantity for leg in structure.legs], dtype=np.float64)
    is_call = np.array([leg.is_call for leg in structure.legs], dtype=bool)
    return strikes, signed_qty, is_call


def expiry_value_per_share(structure: Structure, underlying_prices) -> np.ndarray:
    """Intrinsic value of the whole structure at expiry for each underlying price."""
    return legs_expiry_value_per_share(*_leg_arrays(structure), underlying_prices)


def legs_expiry_value_per_share(strikes, signed_qty, is_call, underlying_prices) -> np.ndarray:
    """Intrinsic value at expiry of legs given as arrays (strike, signed contracts, call or not), for each
    underlying price: what `expiry_value_per_share` computes, for legs not (yet) validated as a Structure."""
    strikes, signed_qty = np.asarray(strikes, np.float64), np.asarray(signed_qty, np.float64)
    prices = np.asarray(underlying_prices, dtype=np.float64)[..., None]
    calls = np.asarray(is_call, bool)
    intrinsic = np.where(calls, np.maximum(prices - strikes, 0.0), np.maximum(strikes - prices, 0.0))
    return intrinsic @ signed_qty


def pnl_at_expiry_per_share(structure: Structure, underlying_prices, entry_cost_per_share: float) -> np.ndarray:
    return expiry_value_per_share(structure, underlying_prices) - entry_cost_per_share


def payoff_profile(structure: Structure, entry_cost_per_share: float) -> PayoffProfile:
    """Exact figures from the piecewise-linear payoff: values at 0 and every strike, and the slope past the last."""
    strikes, signed_qty, is_call = _leg_arrays(structure)
    knots = np.unique(np.concatenate(([0.0], strikes)))
    pnl = pnl_at_expiry_per_share(structure, knots, entry_cost_per_share)
    right_slope = float(signed_qty[is_call].sum())
    max_profit = np.inf if right_slope > 0 else float(pnl.max())
    max_loss = np.inf if right_slope < 0 else float(-pnl.min())
    return PayoffProfile(max_profit, max(max_loss, 0.0) if np.isfinite(max_loss) else max_loss,
                         _breakevens(knots, pnl, right_slope))


def _breakevens(knots: np.ndarray, pnl: np.ndarray, right_slope: float) -> tuple[float, ...]:
    """Prices where PnL crosses zero: interpolated inside segments, plus the right tail."""
    roots: list[float] = []
    for x0, x1, y0, y1 in zip(knots[:-1], knots[1:], pnl[:-1], pnl[1:]):
        if y0 == 0.0 and x0 > 0.0:
            roots.append(float(x0))
        elif y0 * y1 < 0.0:
            roots.append(float(x0 - y0 * (x1 - x0) / (y1 - y0)))
    y_last = pnl[-1]
    if y_last == 0.0 and right_slope != 0.0:
        roots.append(float(knots[-1]))
    elif right_slope != 0.0 and y_last * right_slope < 0.0:
        roots.append(float(knots[-1] - y_last / right_slope))
    return tuple(roots)
