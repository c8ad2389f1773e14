"""Debit opportunities: the first part of the two-part spread (seed 001 `scan_opportunities`).

A debit opportunity is a vertical bought at the natural price: a call debit spread (buy K1
call, sell K2 > K1 call) or a put debit spread (buy K1 put, sell K2 < K1 put), with the long
strike within `max_distance_fraction` of the underlying, width at most `max_spread_width`,
both quotes tradable, and 0 < cost < width (it can still pay). They are ranked by
reward-to-risk at expiry, (width - cost) / cost, best first (ties: calls first, then by
position in the chain). Vectorized over the grid's strike pairs (`core.execution.pairs`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from core.execution.credit import OptionChain, SpreadLeg
from core.execution.pairs import debit_pairs


class DebitOpportunity(NamedTuple):
    long_leg: SpreadLeg
    short_leg: SpreadLeg
    cost: float                 # per share, at the natural prices
    reward_to_risk: float


def scan_opportunities(chain: OptionChain, underlying_price: float, max_spread_width: float = 10.0,
                       max_distance_fraction: float = 0.03, limit: int = 5) -> list[DebitOpportunity]:
    strikes, bid, ask = (np.asarray(a, dtype=np.float64) for a in (chain.strikes, chain.bid, chain.ask))
    is_call = np.asarray(chain.is_call, dtype=np.bool_)
    pairs = debit_pairs(strikes, is_call, max_spread_width)
    with np.errstate(invalid="ignore"):
        quoted = np.isfinite(bid) & np.isfinite(ask) & (ask >= bid) & (ask > 0)
        can_buy = quoted & (np.abs(strikes - underlying_price) <= max_distance_fraction * underlying_price)
        can_sell = quoted & (bid > 0)
        cost = ask[pairs.first] - bid[pairs.second]
        valid = can_buy[pairs.first] & can_sell[pairs.second] & (cost > 0) & (cost < pairs.width)
    found = np.flatnonzero(valid)
    ratio = (pairs.width[found] - cost[found]) / cost[found]
    best = np.argsort(-ratio, kind="stable")[:limit]
    return [DebitOpportunity(_leg(is_call, strikes, bid, ask, pairs.first[k]),
                             _leg(is_call, strikes, bid, ask, pairs.second[k]),
                             round(float(cost[k]), 10), float(r))
            for k, r in zip(found[best].tolist(), ratio[best].tolist())]


def _leg(is_call: np.ndarray, strikes: np.ndarray, bid: np.ndarray, ask: np.ndarray, i: int) -> SpreadLeg:
    return SpreadLeg("C" if is_call[i] else "P", float(strikes[i]), float(bid[i]), float(ask[i]))
