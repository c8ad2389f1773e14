"""Option chain quotes: listed strikes, theoretical mids from the surface, fitted bid/ask spreads.

A chain is a set of numpy arrays, one row per quote time and one column per contract (puts
then calls, each by ascending strike). `generate_chains` builds many snapshots of one
expiry at once (e.g. every minute of a day), so nothing loops per option or per minute.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from core.instruments import PRODUCTS, ProductSpec  # noqa: F401 - the products the market quotes
from core.pricing.bsm import bsm_greeks, bsm_price
from core.units import DAYS_PER_YEAR, NS_PER_YEAR
from sim.market.spread_model import SpreadModel, standardized_moneyness
from sim.market.surface import SurfaceParams, surface_vol


class ChainBatch(NamedTuple):
    """Snapshots of one expiry's chain. Prices per share; arrays (n_times, n_contracts) unless noted."""

    symbol: str
    expiry_ns: int
    times_ns: np.ndarray          # (n_times,)
    underlying: np.ndarray        # (n_times,)
    strikes: np.ndarray           # (n_contracts,)
    is_call: np.ndarray           # (n_contracts,)
    bid: np.ndarray
    ask: np.ndarray
    theo: np.ndarray
    iv: np.ndarray
    delta: np.ndarray | None      # the greeks are None from generate_chains(..., greeks=False)
    gamma: np.ndarray | None
    vega: np.ndarray | None
    theta: np.ndarray | None
    bid_size: np.ndarray
    ask_size: np.ndarray

    @property
    def mid(self) -> np.ndarray:
        return 0.5 * (self.bid + self.ask)

    def snapshot(self, row: int) -> ChainBatch:
        """One time's chain, keeping the 2-D shape (1, n_contracts)."""
        rows = slice(row, row + 1)
        return self._replace(times_ns=self.times_ns[rows], underlying=self.underlying[rows],
                             **{f: getattr(self, f)[rows] for f in _PER_QUOTE_FIELDS})


_PER_QUOTE_FIELDS = ("bid", "ask", "theo", "iv", "delta", "gamma", "vega", "theta", "bid_size", "ask_size")


def strike_grid(spec: ProductSpec, spot: float, n_strikes: int = 200) -> np.ndarray:
    """`n_strikes` listed strikes centred on the strike nearest `spot`."""
    centre = round(spot / spec.strike_step) * spec.strike_step
    offsets = np.arange(n_strikes) - n_strikes // 2
    strikes = centre + offsets * spec.strike_step
    return strikes[strikes > 0]


def generate_chains(spec: ProductSpec, spread_model: SpreadModel, strikes: np.ndarray, expiry_ns: int,
                    times_ns: np.ndarray, spots: np.ndarray, vol_levels: np.ndarray, rate: float,
                    rng: np.random.Generator, surface: SurfaceParams = SurfaceParams(),
                    high_regime: np.ndarray | bool = False, greeks: bool = True,
                    mid_offset_half_spreads: np.ndarray | None = None) -> ChainBatch:
    """Quotes of every contract at every time: theo from the surface, spread from the fitted model.

    With `greeks=False` delta, gamma, vega and theta are None (a feed that sends quotes only skips
    their cost, about a quarter of the generation's).

    bid/ask are centred on the theo (plus `mid_offset_half_spreads` x the half-spread, (n_times, n_contracts),
    when given: a market whose mid is off the model value) and snapped to the tick (bid down, ask = bid + spread, so a
    quote is never crossed); a bid below one tick is quoted as 0 (not tradable to sell into).
    Sizes are geometric with a mean falling with |standardized moneyness|.
    """
    times_ns = np.asarray(times_ns, dtype=np.int64)
    t_years = np.maximum((expiry_ns - times_ns) / NS_PER_YEAR, 0.0)[:, None]
    spot = np.asarray(spots, dtype=np.float64)[:, None]
    contract_strikes = np.concatenate([strikes, strikes])
    is_call = np.concatenate([np.zeros(strikes.size, bool), np.ones(strikes.size, bool)])
    forward = spot * np.exp((rate - spec.dividend_yield) * t_years)
    level = np.asarray(vol_levels, dtype=np.float64)[:, None]
    high = np.asarray(high_regime)[..., None] if np.ndim(high_regime) else high_regime
    vol = surface_vol(surface, level, contract_strikes, forward, t_years, high)
    if greeks:
        sensitivities = bsm_greeks(is_call, spot, contract_strikes, t_years, rate, spec.dividend_yield, vol)
        price = sensitivities.price
    else:
        price = bsm_price(is_call, spot, contract_strikes, t_years, rate, spec.dividend_yield, vol)
    dte_days = t_years * float(DAYS_PER_YEAR)
    z = standardized_moneyness(is_call, contract_strikes, spot, vol, dte_days)
    tick = spread_model.tick(price)
    theo = np.maximum(price, 1e-4)
    spread = spread_model.spread(is_call, theo, z, dte_days, vol)
    centre = theo if mid_offset_half_spreads is None else theo + 0.5 * spread * mid_offset_half_spreads
    bid = np.floor((centre - 0.5 * spread) / tick + 1e-9) * tick
    bid = np.where(bid >= tick, bid, 0.0)
    ask = np.maximum(bid + spread, tick)
    mean_size = np.maximum(spec.mean_quote_size * np.exp(-0.35 * np.abs(z)), 1.0)
    p = 1.0 / mean_size
    bid_size = np.where(bid > 0, rng.geometric(np.broadcast_to(p, bid.shape)), 0).astype(np.int32)
    ask_size = rng.geometric(np.broadcast_to(p, ask.shape)).astype(np.int32)
    return ChainBatch(spec.symbol, int(expiry_ns), times_ns, spot[:, 0], contract_strikes, is_call,
                      np.round(bid, 4), np.round(ask, 4), price, vol,
                      *((sensitivities.delta, sensitivities.gamma, sensitivities.vega, sensitivities.theta) if greeks
                        else (None,) * 4), bid_size, ask_size)


def mid_noise(rng: np.random.Generator, shape: tuple[int, int], half_spreads: float, persistence: float) -> np.ndarray:
    """A seeded deviation of each contract's mid from the model value, in half-spreads: an AR(1) in time per
    contract with standard deviation `half_spreads` and `persistence` from one row to the next, started in its
    stationary law (so a block of rows needs nothing from the block before it)."""
    shocks = rng.standard_normal(shape)
    noise = np.empty(shape)
    noise[0] = shocks[0]
    innovation = np.sqrt(1.0 - persistence**2)
    for row in range(1, shape[0]):                     # one step per snapshot, vectorized over the contracts
        noise[row] = persistence * noise[row - 1] + innovation * shocks[row]
    return half_spreads * noise
