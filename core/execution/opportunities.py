"""Debit opportunities: the first part of the two-part spread (seed 001 `scan_opportunities`).

A debit opportunity is a vertical bought at the natural price: a call debit spread (buy K1
call, sell K2 > K1 call) or a put debit spread (buy K1 put, sell K2 < K1 put), with the long
strike within `max_distance_fraction` of the underlying, width at most `max_spread_width`,
both quotes tradable, and 0 < cost < width (it can still pay). They are ranked by
reward-to-risk at expiry, (width - cost) / cost, best first. Vectorized over strike pairs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from core.execution.credit import OptionChain, SpreadLeg


class DebitOpportunity(NamedTuple):
    long_leg: SpreadLeg
    short_leg: SpreadLeg
    cost: float                 # per share, at the natural prices
    reward_to_risk: float


def scan_opportunities(chain: OptionChain, underlying_price: float, max_spread_width: float = 10.0,
                       max_distance_fraction: float = 0.03, limit: int = 5) -> list[DebitOpportunity]:
    found: list[DebitOpportunity] = []
    for right in ("C", "P"):
        mask = np.asarray(chain.is_call) == (right == "C")
        strikes, bid, ask = (np.asarray(a, dtype=np.float64)[mask] for a in (chain.strikes, chain.bid, chain.ask))
        with np.errstate(invalid="ignore", divide="ignore"):
            quoted = np.isfinite(bid) & np.isfinite(ask) & (ask >= bid) & (ask > 0)
            near = np.abs(strikes - underlying_price) <= max_distance_fraction * underlying_price
            cost = ask[:, None] - bid[None, :]                       # rows: long, columns: short
            width = np.abs(strikes[None, :] - strikes[:, None])
            otm_short = strikes[None, :] > strikes[:, None] if right == "C" else strikes[None, :] < strikes[:, None]
            valid = ((quoted & near)[:, None] & (quoted & (bid > 0))[None, :] & otm_short
                     & (width <= max_spread_width + 1e-9) & (cost > 0) & (cost < width))
        rows, cols = np.nonzero(valid)
        ratio = (width[rows, cols] - cost[rows, cols]) / cost[rows, cols]
        for k in np.argsort(-ratio, kind="stable")[:limit]:
            i, j = rows[k], cols[k]
            found.append(DebitOpportunity(SpreadLeg(right, float(strikes[i]), float(bid[i]), float(ask[i])),
                                          SpreadLeg(right, float(strikes[j]), float(bid[j]), float(ask[j])),
                                          round(float(cost[i, j]), 10), float(ratio[k])))
    return sorted(found, key=lambda o: -o.reward_to_risk)[:limit]
