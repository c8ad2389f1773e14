"""Black-Scholes-Merton with continuous dividend yield, vectorized over numpy arrays.

Every function broadcasts its inputs and returns arrays (floats for all-scalar input).
Units: `spot`, `strike` and prices per share; `t_years` in years; `rate`, `div_yield`
and `vol` annualized decimals. Greeks follow QuantLib's conventions: theta per year,
vega and rho per 1.00 change in vol / rate.

Degenerate inputs never leak NaN: where vol*sqrt(t) is zero (expiry now, or zero vol)
the price is the discounted forward intrinsic and gamma/vega are zero.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit
from scipy.special import ndtr

_INV_SQRT_2PI = 0.3989422804014327
_SQRT_2 = math.sqrt(2.0)


class Greeks(NamedTuple):
    """Arrays of equal shape. theta per year; vega, rho and dividend_rho per 1.00 (not per 1%)."""

    price: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    vega: np.ndarray
    theta: np.ndarray
    rho: np.ndarray
    dividend_rho: np.ndarray


def call_sign(is_call):
    """+1 for calls, -1 for puts; a float when the flag is scalar so no array is built."""
    if np.ndim(is_call) == 0:
        return 1.0 if is_call else -1.0
    return np.where(is_call, 1.0, -1.0)


class _Terms(NamedTuple):
    """Shared intermediates, every array at the full broadcast shape (at least 1-d)."""

    t: np.ndarray
    std_dev: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    div_discount: np.ndarray
    rate_discount: np.ndarray


def _terms(spot, strike, t_years, rate, div_yield, vol, shape) -> _Terms:
    """d1, d2 and discount factors, computed in place (page faults on fresh 8 MB temporaries cost
    more than the arithmetic). Where std_dev is 0, d1 = log(F/K)/0 is already +-inf by IEEE
    division; only the at-the-money-forward case 0/0 needs fixing (to 0)."""
    t = np.maximum(t_years, 0.0, out=np.empty(shape))
    std_dev = np.sqrt(t)
    std_dev *= vol
    div_discount = np.exp(np.multiply(t, -div_yield))
    rate_discount = np.exp(np.multiply(t, -rate))
    scratch = np.multiply(t, np.subtract(rate, div_yield))
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = np.log(np.divide(spot, strike, out=np.empty(shape)))
        d1 += scratch
        d1 /= std_dev
    d1 += np.multiply(std_dev, 0.5, out=scratch)
    if np.min(std_dev) <= 0.0:
        d1[np.isnan(d1) & (std_dev <= 0.0)] = 0.0
    return _Terms(t, std_dev, d1, np.subtract(d1, std_dev, out=scratch), div_discount, rate_discount)


def _shape(inputs) -> tuple[int, ...]:
    return np.broadcast_shapes((1,), *(np.shape(x) for x in inputs))


def bsm_price_delta(is_call, spot, strike, t_years, rate, div_yield, vol):
    """(price, delta) in one pass: the hot path of chain generation."""
    inputs = (is_call, spot, strike, t_years, rate, div_yield, vol)
    terms = _terms(spot, strike, t_years, rate, div_yield, vol, _shape(inputs))
    phi = call_sign(is_call)
    d1, d2 = terms.d1, terms.d2
    d1 *= phi
    d2 *= phi
    dq_nd1 = ndtr(d1, out=d1)
    dq_nd1 *= terms.div_discount
    strike_dr_nd2 = ndtr(d2, out=d2)
    strike_dr_nd2 *= strike
    strike_dr_nd2 *= terms.rate_discount
    price = np.multiply(spot, dq_nd1)
    price -= strike_dr_nd2
    price *= phi
    np.maximum(price, 0.0, out=price)
    dq_nd1 *= phi
    if _all_scalar(*inputs):
        return float(price[0]), float(dq_nd1[0])
    return price, dq_nd1


def _all_scalar(*values) -> bool:
    return all(np.ndim(v) == 0 for v in values)


def bsm_price(is_call, spot, strike, t_years, rate, div_yield, vol):
    """Option premium per share."""
    return bsm_price_delta(is_call, spot, strike, t_years, rate, div_yield, vol)[0]


def bsm_greeks(is_call, spot, strike, t_years, rate, div_yield, vol) -> Greeks:
    """Price, delta, gamma, vega, theta, rho and dividend rho."""
    inputs = (is_call, spot, strike, t_years, rate, div_yield, vol)
    terms = _terms(spot, strike, t_years, rate, div_yield, vol, _shape(inputs))
    phi, t = call_sign(is_call), terms.t
    dq_nd1 = terms.div_discount * ndtr(phi * terms.d1)
    strike_dr_nd2 = strike * terms.rate_discount * ndtr(phi * terms.d2)
    spot_dq_pdf = spot * terms.div_discount * _INV_SQRT_2PI * np.exp(-0.5 * terms.d1 * terms.d1)
    live = terms.std_dev > 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = np.where(live, spot_dq_pdf / (spot * spot * terms.std_dev), 0.0)
        time_decay = np.where(live, spot_dq_pdf * vol / (2.0 * np.sqrt(t)), 0.0)
    greeks = Greeks(
        np.maximum(phi * (spot * dq_nd1 - strike_dr_nd2), 0.0),
        phi * dq_nd1,
        gamma,
        spot_dq_pdf * np.sqrt(t),
        -time_decay - phi * rate * strike_dr_nd2 + phi * div_yield * spot * dq_nd1,
        phi * t * strike_dr_nd2,
        -t * spot * dq_nd1 * phi,
    )
    if _all_scalar(*inputs):
        return Greeks(*(float(g[0]) for g in greeks))
    return greeks


@njit(cache=True, nogil=True, error_model="numpy")
def bsm_scalar(is_call: bool, spot: float, strike: float, t_years: float, rate: float, div_yield: float,
               vol: float) -> tuple[float, float, float, float]:
    """(price, delta, gamma, vega) of one option in plain floats: the same model as `bsm_greeks`, for a path that
    values an order's few legs (numpy's per-call cost is most of the work at that size). Compiled: a call from
    Python costs about a tenth of the interpreted version."""
    t = max(t_years, 0.0)
    std_dev = vol * math.sqrt(t)
    div_discount, rate_discount = math.exp(-div_yield * t), math.exp(-rate * t)
    phi = 1.0 if is_call else -1.0
    if std_dev <= 0.0 or spot <= 0.0 or strike <= 0.0:
        moneyness = phi * (spot * div_discount - strike * rate_discount)
        share = 1.0 if moneyness > 0.0 else (0.5 if moneyness == 0.0 else 0.0)      # d1 = +inf, 0 or -inf
        return max(moneyness, 0.0), phi * div_discount * share, 0.0, 0.0
    d1 = (math.log(spot / strike) + (rate - div_yield) * t) / std_dev + 0.5 * std_dev
    d2 = d1 - std_dev
    dq_nd1 = div_discount * _norm_cdf(phi * d1)
    price = max(phi * (spot * dq_nd1 - strike * rate_discount * _norm_cdf(phi * d2)), 0.0)
    spot_dq_pdf = spot * div_discount * _INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)
    return price, phi * dq_nd1, spot_dq_pdf / (spot * spot * std_dev), spot_dq_pdf * math.sqrt(t)


@njit(cache=True, nogil=True, error_model="numpy")
def legs_value(is_call: np.ndarray, strikes: np.ndarray, ratios: np.ndarray, spot: float, t_years: float,
               rate: float, div_yield: float, vol: float) -> tuple[float, float, float, float, float]:
    """A structure of option legs at one vol, per share of one unit: (value, sum of |ratio| x leg value, delta,
    gamma, vega), each the ratio-weighted sum over the legs (`ratios` > 0 bought). One compiled call per
    structure: what a pre-trade check needs of an order's model value and greeks."""
    value = scale = delta = gamma = vega = 0.0
    for i in range(strikes.shape[0]):
        price, leg_delta, leg_gamma, leg_vega = bsm_scalar(is_call[i], spot, strikes[i], t_years, rate, div_yield,
                                                           vol)
        ratio = ratios[i]
        value += ratio * price
        scale += abs(ratio) * price
        delta += ratio * leg_delta
        gamma += ratio * leg_gamma
        vega += ratio * leg_vega
    return value, scale, delta, gamma, vega


@njit(cache=True, nogil=True, error_model="numpy")
def _norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / _SQRT_2)
