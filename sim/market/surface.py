"""Implied volatility surface: ATM level by regime (or from VIX in replay), put skew, term structure.

    vol(K, T) = max(floor, atm(T) + skew * k + curvature * k^2),   k = ln(K / F) / sqrt(T)
    atm(T)    = level * (1 + term_slope * ln(T / 30 days))

Defaults: skew -0.163 and curvature 0.219 were fitted to OTM SPX quotes of the 2019 CBOE chain
(IVs recomputed from mids, DTE >= 2, |k| < 0.6); term_slope +0.031 to the same chain's ATM
term structure (a calm, upward-sloping period). In the high regime the term structure inverts
(term_slope_high). ATM levels per regime are those of `sim.market.paths.RegimeModel`; in replay the
level is VIX / 100 times `vix_to_atm` (index ATM vol sits below VIX, which prices the skew).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THIRTY_DAYS_YEARS = 30.0 / 365.0


@dataclass(frozen=True)
class SurfaceParams:
    skew: float = -0.163
    curvature: float = 0.219
    term_slope: float = 0.031
    term_slope_high: float = -0.08
    vol_floor: float = 0.03
    vix_to_atm: float = 0.85


def atm_vol(level, t_years, term_slope) -> np.ndarray:
    """ATM vol of each maturity given the 30-day level."""
    t = np.maximum(np.asarray(t_years, dtype=np.float64), 0.5 / 365.0)
    return level * np.maximum(1.0 + term_slope * np.log(t / THIRTY_DAYS_YEARS), 0.2)


def surface_vol(params: SurfaceParams, level, strike, forward, t_years, high_regime=False) -> np.ndarray:
    """Implied vol at each (strike, maturity); `level` is the 30-day ATM vol (scalar or per row)."""
    t = np.maximum(np.asarray(t_years, dtype=np.float64), 0.5 / 365.0)
    slope = np.where(high_regime, params.term_slope_high, params.term_slope)
    k = np.log(strike / forward) / np.sqrt(t)
    vol = atm_vol(level, t, slope) + params.skew * k + params.curvature * k * k
    return np.maximum(vol, params.vol_floor)


def level_from_vix(params: SurfaceParams, vix_points) -> np.ndarray:
    return np.asarray(vix_points, dtype=np.float64) / 100.0 * params.vix_to_atm
