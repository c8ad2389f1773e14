"""A simulated crypto options market (BTC, ETH): 24/7 jump paths, a DVOL-like volatility index, and chains quoted
as Deribit quotes them (premium in the coin, its tick table, bid/ask sizes, the venue's greeks).

**Paths.** Every minute of every day carries variance (one year is 365 x 1,440 minutes: the ACT/365 year of
`core.units`, the same clock an option's time to expiry runs on). The volatility index `dvol` (annualised, in
percent, like Deribit's DVOL: the 30-day implied volatility) follows a mean-reverting process in its logarithm;
the coin's realised volatility is `realized_to_implied` times it (implied volatility trades above realised on
average: the variance risk premium); log returns add compound-Poisson jumps with a compensated drift, so the
coin's expected price stays flat (no drift is assumed). Spot and volatility shocks are correlated.

**Surface.** The 30-day at-the-money implied volatility is the index; `sim.market.surface.surface_vol` gives the
term structure, skew and smile in standardised moneyness.

**Quotes.** Black-Scholes (rate and yield 0: a coin pays nothing and the venue marks against its own index)
prices each contract in USD; the coin premium is that over the index (an inverse option). The half-spread is the
larger of one tick and `half_spread_fraction` of the premium plus `half_spread_vol_points` of vega; the bid is
snapped down and the ask up to the product's tick table; a premium under one tick has no bid.

**Parameters and their sources** (none is fitted here: this repository holds no crypto market data). DVOL's
level, mean and swings: Deribit's DVOL index (launched 2021; BTC's between about 35 and 120 since, mostly 45-65
in 2023-2025; ETH's about 10 points above BTC's). Jump intensity and sizes: in the range that jump-diffusion
studies of bitcoin report (roughly one to several jumps a month, of a few percent, with a negative mean). The
spot-volatility correlation: small and unstable in sign for BTC (a mild negative value here). Spreads: a few
percent of the premium near the money and one or two ticks far from it, as Deribit's screens show. Each is a
field of `CryptoMarketParams`; a user sets them in `crypto.market` (config/crypto.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
from scipy.signal import lfilter

from core.instruments import ProductSpec
from core.pricing.bsm import bsm_greeks
from core.quotes import ChainQuotes
from core.units import NS_PER_MINUTE, NS_PER_YEAR
from sim.market.surface import SurfaceParams, surface_vol

MINUTE_YEARS_24_7 = NS_PER_MINUTE / NS_PER_YEAR
"""One minute of a market that never closes, in ACT/365 years."""


@dataclass(frozen=True)
class CryptoMarketParams:
    """One coin's simulated market; see the module's docstring for what each field means and where it comes from."""

    start_price_usd: float = 90_000.0
    dvol_start: float = 50.0
    dvol_mean: float = 55.0
    dvol_half_life_days: float = 20.0
    dvol_vol_of_vol: float = 0.9
    """Annualised volatility of log DVOL."""
    spot_vol_correlation: float = -0.2
    realized_to_implied: float = 0.85
    jumps_per_year: float = 24.0
    jump_mean: float = -0.005
    jump_std: float = 0.03
    surface: SurfaceParams = field(default_factory=lambda: SurfaceParams(skew=-0.02, curvature=0.08,
                                                                         term_slope=0.04, vol_floor=0.10))
    half_spread_fraction: float = 0.015
    half_spread_vol_points: float = 0.25


BTC_MARKET = CryptoMarketParams()
ETH_MARKET = CryptoMarketParams(start_price_usd=3_200.0, dvol_start=62.0, dvol_mean=65.0, jump_std=0.035)
MARKETS = {"BTC": BTC_MARKET, "ETH": ETH_MARKET}


def market_params(symbol: str, overrides: dict[str, float | None]) -> CryptoMarketParams:
    """The coin's default market with every override that is set (a config's `crypto.market` as a dict)."""
    return replace(MARKETS[symbol], **{k: v for k, v in overrides.items() if v is not None})


class CryptoPaths(NamedTuple):
    """Paths on a minute grid: arrays (n_paths, n_steps + 1), column 0 the start."""

    price_usd: np.ndarray
    dvol: np.ndarray


def crypto_paths(params: CryptoMarketParams, n_paths: int, n_steps: int, rng: np.random.Generator,
                 dt_years: float = MINUTE_YEARS_24_7) -> CryptoPaths:
    """Coin price and volatility index paths, vectorized over paths (the index's recursion runs as a linear filter,
    not a Python loop per step)."""
    reversion = np.log(2.0) / (params.dvol_half_life_days / 365.0)
    keep = np.exp(-reversion * dt_years)
    vol_shocks = rng.standard_normal((n_paths, n_steps))
    innovation = params.dvol_vol_of_vol * np.sqrt((1.0 - keep * keep) / (2.0 * reversion))
    start_gap = np.log(params.dvol_start / params.dvol_mean)
    gap = lfilter([innovation], [1.0, -keep], vol_shocks, axis=1)
    gap = gap + start_gap * keep ** np.arange(1, n_steps + 1)
    log_dvol = np.concatenate([np.full((n_paths, 1), start_gap), gap], axis=1) + np.log(params.dvol_mean)
    dvol = np.exp(log_dvol)
    sigma = dvol[:, :-1] / 100.0 * params.realized_to_implied
    rho = params.spot_vol_correlation
    spot_shocks = rho * vol_shocks + np.sqrt(1.0 - rho * rho) * rng.standard_normal((n_paths, n_steps))
    counts = rng.poisson(params.jumps_per_year * dt_years, (n_paths, n_steps))
    jumps = params.jump_mean * counts + params.jump_std * np.sqrt(counts) * rng.standard_normal((n_paths, n_steps))
    compensator = params.jumps_per_year * (np.exp(params.jump_mean + 0.5 * params.jump_std ** 2) - 1.0)
    log_steps = (-0.5 * sigma * sigma - compensator) * dt_years + sigma * np.sqrt(dt_years) * spot_shocks + jumps
    log_price = np.concatenate([np.zeros((n_paths, 1)), np.cumsum(log_steps, axis=1)], axis=1)
    return CryptoPaths(params.start_price_usd * np.exp(log_price), dvol)


def crypto_strikes(spec: ProductSpec, index_usd: float, t_years: float, atm_vol: float,
                   max_strikes: int = 121) -> np.ndarray:
    """Listed strikes from four standard deviations of the expiry's log move below the index to four above (at
    least two strikes each side), on the finest of half, one, two, five and ten times the product's strike step
    that lists at most `max_strikes` (Deribit lists short expiries finer than long ones)."""
    reach = 4.0 * atm_vol * np.sqrt(max(t_years, 1.0 / 365.0 / 24.0))
    low_usd, high_usd = index_usd * np.exp(-reach), index_usd * np.exp(reach)
    steps = [spec.strike_step * factor for factor in (0.5, 1.0, 2.0, 5.0, 10.0)]
    step = next((s for s in steps if (high_usd - low_usd) / s + 1 <= max_strikes), steps[-1])
    centre = round(index_usd / step)
    first = min(int(np.floor(low_usd / step)), centre - 2)
    last = max(int(np.ceil(high_usd / step)), centre + 2)
    strikes = step * np.arange(first, last + 1, dtype=np.float64)
    return strikes[strikes > 0]


def crypto_chain(spec: ProductSpec, params: CryptoMarketParams, expiry: str, expiry_ns: int, now_ns: int,
                 index_usd: float, dvol: float, strikes: np.ndarray, rng: np.random.Generator) -> ChainQuotes:
    """One expiry's chain at `now_ns` as the venue quotes it (coin premiums for an inverse product), with the
    venue's Black-Scholes delta and mark implied volatility per contract."""
    t_years = max((expiry_ns - now_ns) / NS_PER_YEAR, 0.0)
    contract_strikes = np.concatenate([strikes, strikes])
    is_call = np.concatenate([np.zeros(strikes.size, bool), np.ones(strikes.size, bool)])
    vol = surface_vol(params.surface, dvol / 100.0, contract_strikes, index_usd, t_years)
    greeks = bsm_greeks(is_call, index_usd, contract_strikes, t_years, 0.0, 0.0, vol)
    to_premium = 1.0 / index_usd if spec.inverse else 1.0
    theo = greeks.price * to_premium
    half_spread = params.half_spread_fraction * theo + params.half_spread_vol_points / 100.0 * greeks.vega * to_premium
    ticks = spec.ticks
    tick = np.where(theo < ticks.threshold_per_share, ticks.below_per_share, ticks.from_per_share)
    half_spread = np.maximum(half_spread, tick)
    bid = np.floor((theo - half_spread) / tick + 1e-9) * tick
    bid = np.where(bid >= ticks.below_per_share, bid, 0.0)
    ask = np.maximum(np.ceil((theo + half_spread) / tick - 1e-9) * tick, ticks.below_per_share)
    moneyness = np.abs(np.log(contract_strikes / index_usd)) / max(np.mean(vol) * np.sqrt(max(t_years, 1e-6)), 1e-6)
    mean_size = np.maximum(spec.mean_quote_size * np.exp(-0.35 * moneyness), 1.0)
    bid_size = np.where(bid > 0, rng.geometric(1.0 / mean_size), 0).astype(np.int32)
    ask_size = rng.geometric(1.0 / mean_size).astype(np.int32)
    return ChainQuotes(spec.symbol, expiry, int(expiry_ns), int(now_ns), contract_strikes, is_call,
                       np.round(bid, 6), np.round(ask, 6), bid_size, ask_size, ticks.below_per_share,
                       ticks.from_per_share, float(index_usd), tick_threshold=ticks.threshold_per_share,
                       delta=greeks.delta, iv=vol)
