"""Quote validation at the boundary: every quote gets a flag, and only OK quotes are tradable.

Vectorized over a chain. Flags (QuoteFlag): NaN or infinite prices, negative prices, crossed
(bid > ask), zero bid (nothing to sell into), stale (older than the allowed age), missing
(no quote where the grid lists a strike). A locked quote (bid == ask) is allowed.
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import NamedTuple

import numpy as np


class QuoteFlag(IntEnum):
    OK = 0
    NOT_FINITE = 1
    NEGATIVE = 2
    CROSSED = 3
    ZERO_BID = 4
    STALE = 5
    MISSING = 6


QUOTE_REASONS = {QuoteFlag.NOT_FINITE: "quote is NaN or infinite", QuoteFlag.NEGATIVE: "negative quote",
                 QuoteFlag.CROSSED: "crossed quote (bid > ask)", QuoteFlag.ZERO_BID: "zero bid",
                 QuoteFlag.STALE: "stale quote", QuoteFlag.MISSING: "no quote for the contract"}
QUOTE_CODES = {flag: "no_quote" if flag == QuoteFlag.MISSING else "bad_quote" for flag in QUOTE_REASONS}
"""The reject code (core.orders.REJECT_CODES) of each quote problem."""


def quote_flags(bid, ask, quote_time_ns, now_ns: int, max_age_ns: int) -> np.ndarray:
    """One QuoteFlag per quote (int8); the first problem found wins, in the order of QuoteFlag."""
    bid = np.asarray(bid, dtype=np.float64)
    ask = np.asarray(ask, dtype=np.float64)
    flags = np.zeros(np.broadcast_shapes(bid.shape, ask.shape), dtype=np.int8)
    age_ns = now_ns - np.asarray(quote_time_ns, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        checks = ((age_ns > max_age_ns, QuoteFlag.STALE), (bid == 0.0, QuoteFlag.ZERO_BID),
                  (bid > ask, QuoteFlag.CROSSED), ((bid < 0) | (ask < 0), QuoteFlag.NEGATIVE),
                  (~(np.isfinite(bid) & np.isfinite(ask)), QuoteFlag.NOT_FINITE))
    for condition, flag in checks:   # later checks overwrite earlier ones: the most basic problem wins
        np.copyto(flags, np.int8(flag), where=condition)
    return flags


def quote_flag(bid: float, ask: float) -> int:
    """The QuoteFlag of one fresh quote, as `quote_flags` gives it: the scalar form, for an order's few legs."""
    if not (math.isfinite(bid) and math.isfinite(ask)):
        return QuoteFlag.NOT_FINITE
    if bid < 0 or ask < 0:
        return QuoteFlag.NEGATIVE
    if bid > ask:
        return QuoteFlag.CROSSED
    if bid == 0.0:
        return QuoteFlag.ZERO_BID
    return QuoteFlag.OK


class ChainQuotes(NamedTuple):
    """One expiry's quotes at `time_ns`: arrays per contract (puts and calls mixed, any order). Prices per unit of
    the underlying in the product's premium currency; a single leg moves in `tick_below_3` under
    `tick_threshold` (US: $3.00) and in `tick_from_3` from it. `delta` and `iv` are the venue's, where it quotes
    greeks (crypto venues do), else None."""

    symbol: str
    expiry: str                 # ISO date
    expiry_ns: int              # when the contracts stop trading
    time_ns: int
    strikes: np.ndarray
    is_call: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray
    tick_below_3: float
    tick_from_3: float
    underlying: float = float("nan")     # the underlying's price when the chain was quoted
    tick_threshold: float = 3.0
    delta: np.ndarray | None = None
    iv: np.ndarray | None = None

    def tick(self, price: float) -> float:
        """The increment a single leg priced `price` moves in."""
        return self.tick_below_3 if abs(price) < self.tick_threshold else self.tick_from_3
