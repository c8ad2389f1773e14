"""Mark-to-model equity of an options book over time, vectorized over marks x contracts.

Equity at a mark = cash from every fill up to that mark + each contract held then, valued at the
simulated market's theoretical mid (the same surface the chains are quoted around). A contract
past its expiry is settled at intrinsic value against the last mark on or before its expiry and
stays at that value, so a multi-day path does not revalue expired options on later prices.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from core.instruments import US_EQUITY_MULTIPLIER
from core.pricing.bsm import bsm_price
from core.units import NS_PER_YEAR
from sim.market.surface import SurfaceParams, surface_vol


class FillTable(NamedTuple):
    """One row per (fill, leg): when, which contract (index into the book's contracts), signed
    contracts bought (+) or sold (-), and the cash it moved (USD, + received)."""

    time_ns: np.ndarray
    contract: np.ndarray
    contracts_delta: np.ndarray
    cash_usd: np.ndarray


class Book(NamedTuple):
    """Contracts traded on one underlying: strike per share, is_call, expiry instant (UTC ns)."""

    strikes: np.ndarray
    is_call: np.ndarray
    expiry_ns: np.ndarray


class MarketMarks(NamedTuple):
    """The underlying at each mark and the surface's level there (regime vol, high-regime flag)."""

    times_ns: np.ndarray
    spots: np.ndarray
    vol_levels: np.ndarray
    high_regime: np.ndarray


def equity_usd(book: Book, fills: FillTable, marks: MarketMarks, rate: float, dividend_yield: float,
               multiplier: int = US_EQUITY_MULTIPLIER, surface: SurfaceParams = SurfaceParams()) -> np.ndarray:
    """Equity at each mark (USD): cash to date + positions held at the theoretical mid."""
    n_marks, n_contracts = marks.times_ns.size, book.strikes.size
    filled_by = np.searchsorted(marks.times_ns, fills.time_ns, side="left")    # first mark that sees the fill
    deltas = np.zeros((n_marks + 1, max(n_contracts, 1)))
    np.add.at(deltas, (filled_by, fills.contract), fills.contracts_delta)
    cash = np.zeros(n_marks + 1)
    np.add.at(cash, filled_by, fills.cash_usd)
    held = np.cumsum(deltas, axis=0)[:n_marks, :n_contracts]
    cash_to_date = np.cumsum(cash)[:n_marks]
    if n_contracts == 0:
        return cash_to_date
    values = theo_per_share(book, marks, rate, dividend_yield, surface)
    return cash_to_date + (held * values).sum(axis=1) * multiplier


def theo_per_share(book: Book, marks: MarketMarks, rate: float, dividend_yield: float,
                   surface: SurfaceParams = SurfaceParams()) -> np.ndarray:
    """Theoretical value (marks x contracts); intrinsic at the settling mark from expiry on."""
    settle = np.searchsorted(marks.times_ns, book.expiry_ns, side="right") - 1        # last mark <= expiry
    rows = np.arange(marks.times_ns.size)[:, None]
    expired = rows > settle[None, :]
    at = np.where(expired, np.maximum(settle, 0)[None, :], rows)
    spot = marks.spots[at]
    t_years = np.where(expired, 0.0, np.maximum(book.expiry_ns[None, :] - marks.times_ns[at], 0) / NS_PER_YEAR)
    forward = spot * np.exp((rate - dividend_yield) * t_years)
    vol = surface_vol(surface, marks.vol_levels[at], book.strikes[None, :], forward, t_years,
                      marks.high_regime[at])           # surface_vol floors t itself; bsm_price takes t = 0
    return bsm_price(np.broadcast_to(book.is_call, spot.shape), spot, book.strikes[None, :], t_years, rate,
                     dividend_yield, vol)
