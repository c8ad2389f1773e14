"""Debit opportunities: the first part of the two-part spread (seed 001 `scan_opportunities`).

A debit opportunity is a vertical bought at the natural price: a call debit spread (buy K1
call, sell K2 > K1 call) or a put debit spread (buy K1 put, sell K2 < K1 put), with the long
strike within `max_distance_fraction` of the underlying, width at most `max_spread_width`,
both quotes tradable, and 0 < cost < width (it can still pay). They are ranked by
reward-to-risk at expiry, (width - cost) / cost, best first (ties: calls first, then by
position in the chain). One compiled pass over the grid's strike pairs (`core.execution.pairs`,
`core.execution.kernels`).
"""

from __future__ import annotations

from itertools import islice
from typing import Iterator, NamedTuple

import numpy as np

from core.execution.credit import OptionChain, SpreadLeg, chain_arrays, chain_leg
from core.execution.kernels import debit_ratios
from core.execution.pairs import debit_pairs


class DebitOpportunity(NamedTuple):
    long_leg: SpreadLeg
    short_leg: SpreadLeg
    cost: float                 # per share, at the natural prices
    reward_to_risk: float


def scan_opportunities(chain: OptionChain, underlying_price: float, max_spread_width: float = 10.0,
                       max_distance_fraction: float = 0.03, limit: int = 5) -> list[DebitOpportunity]:
    return list(islice(ranked_debits(chain, underlying_price, max_spread_width, max_distance_fraction), limit))


def ranked_debits(chain: OptionChain, underlying_price: float, max_spread_width: float = 10.0,
                  max_distance_fraction: float = 0.03) -> Iterator[DebitOpportunity]:
    """The opportunities of `scan_opportunities`, best first, made one at a time as they are asked
    for: a trader usually takes the first, so ranking the rest would be wasted. Each next one is
    the first maximum of the ratios left (what a stable sort by descending ratio gives)."""
    strikes, is_call, bid, ask = chain_arrays(chain)
    pairs = debit_pairs(strikes, is_call, max_spread_width)
    ratio, cost = debit_ratios(strikes, bid, ask, pairs.first, pairs.second, pairs.width, float(underlying_price),
                               float(max_distance_fraction))
    for _ in range(ratio.size):
        k = int(ratio.argmax())
        best = float(ratio[k])
        if best == -np.inf:
            return                                               # none payable left
        ratio[k] = -np.inf
        yield DebitOpportunity(
            chain_leg(strikes, is_call, bid, ask, int(pairs.first[k])),
            chain_leg(strikes, is_call, bid, ask, int(pairs.second[k])),
            round(float(cost[k]), 10),
            best,
        )
