"""Performance statistics of a backtest's daily P&L, from empyrical-reloaded (a maintained implementation of
the standard ratios; its definitions are the ones below) plus the trade-count figures it does not have.

Returns are daily: r_t = P&L of session t / equity at its start, equity starting at `capital_usd` and moving
with the P&L. Annualized over 252 sessions; the risk-free rate is 0. A figure that needs more sessions than
the run has is NaN (a Sharpe ratio needs two).
"""

from __future__ import annotations

import math

import empyrical
import numpy as np

DEFINITIONS = {
    "sharpe": "annualized Sharpe ratio: mean daily return / its standard deviation (ddof 1) x sqrt(252)",
    "sortino": "annualized Sortino ratio: mean daily return / downside deviation (returns below 0) x sqrt(252)",
    "cagr": "compound annual growth rate of equity over the run's sessions (252 a year)",
    "max_drawdown": "largest fall of equity from a running peak, as a fraction of that peak (daily closes)",
    "calmar": "annual return / |max drawdown|",
    "win_rate": "share of sessions with a positive P&L",
    "profit_factor": "sum of winning sessions' P&L / |sum of losing sessions' P&L| (inf with no losing session)",
    "expectancy_usd": "mean P&L per session, USD",
    "var_95": "historical value at risk at 95%: the 5th percentile of daily returns (a negative return)",
    "cvar_95": "conditional VaR at 95%: the mean of daily returns at or below the 5th percentile",
}


def daily_returns(daily_pnl_usd, capital_usd: float) -> np.ndarray:
    """Each session's P&L over the equity it started with (capital plus the P&L before it)."""
    pnl = np.asarray(daily_pnl_usd, dtype=np.float64)
    start_equity = capital_usd + np.concatenate([[0.0], np.cumsum(pnl)[:-1]])
    return pnl / start_equity


def performance(daily_pnl_usd, capital_usd: float) -> dict[str, float]:
    """The figures of DEFINITIONS for a run's daily P&L (USD) on `capital_usd`."""
    pnl = np.asarray(daily_pnl_usd, dtype=np.float64)
    returns = daily_returns(pnl, capital_usd)
    wins, losses = pnl[pnl > 0].sum(), pnl[pnl < 0].sum()
    return {
        "sharpe": float(empyrical.sharpe_ratio(returns)),
        "sortino": float(empyrical.sortino_ratio(returns)) if returns.size >= 2 else math.nan,
        "cagr": float(empyrical.cagr(returns)) if returns.size else math.nan,
        "max_drawdown": float(empyrical.max_drawdown(returns)) if returns.size else math.nan,
        "calmar": float(empyrical.calmar_ratio(returns)) if returns.size >= 2 else math.nan,
        "win_rate": float((pnl > 0).mean()) if pnl.size else math.nan,
        "profit_factor": float(wins / -losses) if losses < 0 else (math.inf if wins > 0 else math.nan),
        "expectancy_usd": float(pnl.mean()) if pnl.size else math.nan,
        "var_95": float(empyrical.value_at_risk(returns, cutoff=0.05)) if returns.size else math.nan,
        "cvar_95": float(empyrical.conditional_value_at_risk(returns, cutoff=0.05)) if returns.size else math.nan,
    }
