"""Round-trip statistics (pure): trades, P&L, win rate, profit factor, max drawdown and expectancy, in all and per
group (a structure, a regime).

`pnl_usd` is each closed round trip's realized P&L in trade order. Win rate: trades with P&L > 0 over all trades.
Profit factor: gross profit over gross loss (inf with no loss, NaN with neither). Max drawdown: the largest fall of
the running P&L from its high, starting from zero (a first losing trade is a drawdown). Expectancy: the mean P&L a
trade.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from core.analytics.stats import max_drawdown_usd


def trade_stats(pnl_usd: Iterable[float]) -> dict[str, float]:
    pnl = np.asarray(list(pnl_usd), dtype=np.float64)
    if pnl.size == 0:
        return {"trades": 0, "pnl_usd": 0.0, "win_rate": math.nan, "profit_factor": math.nan,
                "max_drawdown_usd": 0.0, "expectancy_usd": math.nan}
    gains, losses = float(pnl[pnl > 0].sum()), float(-pnl[pnl < 0].sum())
    factor = gains / losses if losses > 0 else (math.inf if gains > 0 else math.nan)
    equity = np.concatenate(([0.0], np.cumsum(pnl)))
    return {"trades": int(pnl.size), "pnl_usd": round(float(pnl.sum()), 2),
            "win_rate": round(float((pnl > 0).mean()), 4), "profit_factor": round(factor, 4),
            "max_drawdown_usd": round(float(max_drawdown_usd(equity[None, :])[0]), 2),
            "expectancy_usd": round(float(pnl.mean()), 2)}


def stats_by(trips: list[dict], key: str) -> dict[str, dict[str, float]]:
    """`trade_stats` of the trips grouped by `trips[i][key]`, in first-seen order."""
    groups: dict[str, list[float]] = {}
    for trip in trips:
        groups.setdefault(str(trip[key]), []).append(float(trip["pnl_usd"]))
    return {name: trade_stats(pnl) for name, pnl in groups.items()}
