"""Vectorized implied volatility for Black-Scholes-Merton prices.

Never raises inside a batch: each element gets a volatility (NaN when there is
none) and an `IVFlag` saying why. The solver works on the out-of-the-money
equivalent (put-call parity on the forward) so that deep in-the-money prices do
not lose their time value to cancellation, and runs a bracketed Halley iteration
on log(price) in total standard deviation s = vol*sqrt(t): log(price) is concave
in s for an OTM option, so Newton steps do not overshoot and converge in a few
iterations even where vega is tiny. Only unconverged elements are iterated.
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import NamedTuple

import numpy as np
from numba import njit

from core.pricing.bsm import bsm_scalar

_INV_SQRT_2PI = 0.3989422804014327
_INV_SQRT_2 = 0.7071067811865476
_MAX_STD_DEV = 20.0
_MAX_ITERATIONS = 60
# A Newton step this small (relative) leaves an error of order its square: accept it.
_REL_STEP_TOL = 1e-7


class IVFlag(IntEnum):
    OK = 0
    AT_INTRINSIC = 1       # price equals intrinsic: vol is 0
    BELOW_INTRINSIC = 2    # no vol can produce the price
    ABOVE_BOUND = 3        # price at or above the no-arbitrage upper bound
    EXPIRED = 4            # t <= 0: vol is undefined
    INVALID_INPUT = 5      # NaN, non-positive spot/strike, negative price
    NO_CONVERGENCE = 6


class IVResult(NamedTuple):
    """`vol` (annualized, NaN where undefined) and `flag` (IVFlag codes, int8) of equal shape."""

    vol: np.ndarray
    flag: np.ndarray

    def reasons(self) -> list[str]:
        """The flag of each element as its name, for logs and reports."""
        return [IVFlag(int(f)).name for f in np.ravel(self.flag)]


def _initial_std_dev(otm_price, forward, strike, log_moneyness):
    """Corrado-Miller start (accurate near the money), floored for far out-of-the-money calls."""
    half_gap = 0.5 * (forward - strike)
    centred = otm_price - half_gap
    radicand = np.maximum(centred * centred - half_gap * half_gap * (4.0 / np.pi), 0.0)
    guess = np.sqrt(2.0 * np.pi) / (forward + strike) * (centred + np.sqrt(radicand))
    return np.clip(np.maximum(guess, np.sqrt(2.0 * np.abs(log_moneyness)) * 0.5), 1e-4, 5.0)


def _solve_std_dev(log_moneyness, forward, strike, otm_price):
    """Bracketed Halley on log(call price) with forward <= strike (puts arrive swapped), from the Corrado-Miller
    start. Returns (std_dev, converged)."""
    n = otm_price.shape[0]
    std_dev, converged = np.full(n, np.nan), np.zeros(n, dtype=np.bool_)
    if n:
        start = _initial_std_dev(otm_price, forward, strike, log_moneyness)
        _halley(np.ascontiguousarray(log_moneyness, np.float64), np.ascontiguousarray(forward, np.float64),
                np.ascontiguousarray(strike, np.float64), np.ascontiguousarray(otm_price, np.float64),
                np.ascontiguousarray(start, np.float64), std_dev, converged)
    return std_dev, converged


@njit(cache=True, nogil=True, error_model="numpy")
def _halley(log_moneyness, forward, strike, otm_price, start, std_dev, converged):
    """The iteration per element, compiled: one option's steps are a handful of scalar operations, which numpy
    pays ~1 us each for on a book-sized array. IEEE semantics (error_model numpy): a zero price gives -inf, not an
    exception, and a step outside the bracket is replaced by bisection."""
    for i in range(otm_price.shape[0]):
        x, f, k = log_moneyness[i], forward[i], strike[i]
        log_target = math.log(otm_price[i])
        low, high, s = 0.0, _MAX_STD_DEV, start[i]
        for _ in range(_MAX_ITERATIONS):
            d1 = x / s + 0.5 * s
            price = f * 0.5 * math.erfc(-d1 * _INV_SQRT_2) - k * 0.5 * math.erfc(-(d1 - s) * _INV_SQRT_2)
            gap = math.log(price) - log_target
            if gap > 0:
                high = s
            else:
                low = s
            slope = f * _INV_SQRT_2PI * math.exp(-0.5 * d1 * d1) / price
            newton = gap / slope
            curvature = d1 * (d1 - s) / s - slope
            s_new = s - newton / (1.0 - 0.5 * newton * curvature)
            inside = s_new >= low and s_new <= high
            if not inside:
                s_new = 0.5 * (low + high)
            if inside and abs(s_new - s) <= _REL_STEP_TOL * s_new:
                std_dev[i], converged[i] = s_new, True
                break
            s = s_new


def implied_vol(price, is_call, spot, strike, t_years, rate, div_yield) -> IVResult:
    """Implied vol of each premium (per share); see IVFlag for elements that have none."""
    arrays = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in
                                   (price, is_call, spot, strike, t_years, rate, div_yield)))
    shape = arrays[0].shape
    price, is_call, spot, strike, t, rate, div_yield = (a.ravel() for a in arrays)
    vol = np.full(price.shape, np.nan)
    flag = np.full(price.shape, IVFlag.OK, dtype=np.int8)

    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        invalid = ~(np.isfinite(price) & np.isfinite(spot) & np.isfinite(strike) & np.isfinite(t)
                    & np.isfinite(rate) & np.isfinite(div_yield)) | (spot <= 0) | (strike <= 0) | (price < 0)
        rate_discount = np.exp(-rate * t)
        forward = spot * np.exp((rate - div_yield) * t)
        undiscounted = price / rate_discount
        phi = np.where(is_call != 0, 1.0, -1.0)
        intrinsic = np.maximum(phi * (forward - strike), 0.0)
        upper = np.where(phi > 0, forward, strike)
        time_value = undiscounted - intrinsic
        tol = 1e-14 * np.maximum(forward, strike)
    flag[~invalid & (t <= 0)] = IVFlag.EXPIRED
    pending = flag == IVFlag.OK
    pending &= ~invalid
    flag[invalid] = IVFlag.INVALID_INPUT
    below = pending & (time_value < -tol)
    above = pending & ~below & (undiscounted >= upper)
    at_intrinsic = pending & ~below & ~above & (time_value <= tol)
    flag[below], flag[above], flag[at_intrinsic] = IVFlag.BELOW_INTRINSIC, IVFlag.ABOVE_BOUND, IVFlag.AT_INTRINSIC
    vol[at_intrinsic] = 0.0
    solve = np.flatnonzero(pending & ~below & ~above & ~at_intrinsic)
    if solve.size:
        f, k = forward[solve], strike[solve]
        # Black's put-call symmetry: an OTM put on (f, k) is priced as a call on (k, f).
        otm_put = f > k
        f, k = np.where(otm_put, k, f), np.where(otm_put, f, k)
        std_dev, converged = _solve_std_dev(np.log(f / k), f, k, time_value[solve])
        vol[solve] = np.where(converged, std_dev / np.sqrt(t[solve]), np.nan)
        flag[solve[~converged]] = IVFlag.NO_CONVERGENCE
    if shape == ():
        return IVResult(float(vol[0]), int(flag[0]))
    return IVResult(vol.reshape(shape), flag.reshape(shape))


def implied_vol_scalar(price: float, is_call: bool, spot: float, strike: float, t_years: float, rate: float,
                       div_yield: float = 0.0, tolerance: float = 1e-6, max_iterations: int = 50) -> float:
    """The implied vol of one option in plain floats (NaN where none fits): Newton steps on `bsm_scalar` from the
    Brenner-Subrahmanyam guess, bisection where a step leaves the bracket. For a path that needs one or two vols
    (numpy's per-call cost is most of `implied_vol`'s work at that size); `implied_vol` is the one for chains.
    Compiled, as `bsm_scalar` is; every argument is passed on (numba's dispatch of omitted defaults costs fifty
    times the solve)."""
    return _implied_vol_scalar(float(price), bool(is_call), float(spot), float(strike), float(t_years), float(rate),
                               float(div_yield), float(tolerance), int(max_iterations))


def atm_implied_vol(strikes: np.ndarray, is_call: np.ndarray, bid: np.ndarray, ask: np.ndarray, spot: float,
                    t_years: float, rate: float) -> float:
    """The mean implied vol of the mids of the call and the put nearest `spot` (of those that solve; NaN when
    neither does): one number for a chain's level, as a pre-trade check values an order at. One compiled pass
    over the chain's arrays (a numpy expression per step cost ten times as much at a chain's size)."""
    return _atm_implied_vol(strikes, is_call, bid, ask, float(spot), float(t_years), float(rate))


@njit(cache=True, nogil=True, error_model="numpy")
def _atm_implied_vol(strikes, is_call, bid, ask, spot, t_years, rate):
    total, solved = 0.0, 0
    for want_call in (True, False):
        nearest, nearest_distance = -1, math.inf
        for i in range(strikes.shape[0]):
            if bool(is_call[i]) == want_call:
                distance = abs(strikes[i] - spot)
                if distance < nearest_distance:
                    nearest, nearest_distance = i, distance
        if nearest < 0:
            continue
        vol = _implied_vol_scalar(0.5 * (bid[nearest] + ask[nearest]), want_call, spot, strikes[nearest], t_years,
                                  rate, 0.0, 1e-6, 50)
        if math.isfinite(vol):
            total += vol
            solved += 1
    return total / solved if solved else math.nan


@njit(cache=True, nogil=True, error_model="numpy")
def _implied_vol_scalar(price: float, is_call: bool, spot: float, strike: float, t_years: float, rate: float,
                        div_yield: float, tolerance: float, max_iterations: int) -> float:
    if not (math.isfinite(price) and math.isfinite(spot) and math.isfinite(strike) and math.isfinite(t_years)) \
            or t_years <= 0 or spot <= 0 or strike <= 0:
        return math.nan
    low, high = 1e-4, 10.0
    if not bsm_scalar(is_call, spot, strike, t_years, rate, div_yield, low)[0] < price < \
            bsm_scalar(is_call, spot, strike, t_years, rate, div_yield, high)[0]:
        return math.nan
    vol = min(max(price / (0.4 * spot * math.sqrt(t_years)), low), high)
    for _ in range(max_iterations):
        value, _, _, vega = bsm_scalar(is_call, spot, strike, t_years, rate, div_yield, vol)
        error = value - price
        if abs(error) < tolerance:
            return vol
        if error > 0:
            high = vol
        else:
            low = vol
        step = vol - error / vega if vega > 1e-12 else math.nan
        vol = step if low < step < high else 0.5 * (low + high)
    return vol
