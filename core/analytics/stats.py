"""Risk statistics over simulated outcomes: drawdown, VaR/CVaR, probability of loss, bootstrap CIs.

Pure numpy. Every function takes outcomes in a fixed order and returns the same floats for the
same input, so aggregates do not depend on how (or on how many workers) the outcomes were made.
VaR and CVaR are historical (empirical) and reported as positive losses in USD: VaR(95) is the
loss exceeded on 5% of paths, CVaR(95) the mean loss on those 5% of paths.
"""

from __future__ import annotations

import numpy as np


def max_drawdown_usd(equity_usd: np.ndarray) -> np.ndarray:
    """Largest fall from a running peak along the last axis (0 when equity never falls), per path.

    The peak starts at 0: equity curves start from a flat book, so an immediate loss is a drawdown.
    """
    equity = np.atleast_2d(np.asarray(equity_usd, dtype=np.float64))
    peaks = np.maximum.accumulate(np.maximum(equity, 0.0), axis=-1)
    return (peaks - equity).max(axis=-1)


def value_at_risk_usd(pnl_usd: np.ndarray, level: float) -> float:
    """Historical VaR at `level` (e.g. 0.95) as a positive loss: the k-th worst loss, k = ceil((1 - level) n)."""
    pnl = np.sort(_outcomes(pnl_usd))
    return float(-pnl[_tail_count(level, pnl.size) - 1]) if pnl.size else float("nan")


def conditional_value_at_risk_usd(pnl_usd: np.ndarray, level: float) -> float:
    """Historical CVaR (expected shortfall): the mean loss over the same k worst paths."""
    pnl = np.sort(_outcomes(pnl_usd))
    return float(-pnl[:_tail_count(level, pnl.size)].mean()) if pnl.size else float("nan")


def _tail_count(level: float, n: int) -> int:
    """Paths in the (1 - level) tail; rounded first so 0.05 * 100 is 5, not 6 from 1 - 0.95's binary error."""
    return max(1, int(np.ceil(round((1.0 - level) * n, 9))))


def probability_of_loss(pnl_usd: np.ndarray) -> float:
    pnl = _outcomes(pnl_usd)
    return float((pnl < 0).mean()) if pnl.size else float("nan")


def bootstrap_ci(values: np.ndarray, resamples: int, seed: int, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of the mean, by resampling outcomes with replacement (vectorized, in chunks)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // values.size)
    for start in range(0, resamples, chunk):
        stop = min(start + chunk, resamples)
        picks = rng.integers(0, values.size, size=(stop - start, values.size))
        means[start:stop] = values[picks].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(values.mean()), float(low), float(high)


def equity_quantiles_usd(equity_usd: np.ndarray, quantiles: tuple[float, ...]) -> np.ndarray:
    """Quantiles across paths at each mark (rows: quantiles, columns: marks): the fan chart's bands."""
    equity = np.atleast_2d(np.asarray(equity_usd, dtype=np.float64))
    return np.quantile(equity, quantiles, axis=0)


def _outcomes(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).ravel()
    if np.isnan(values).any():
        raise ValueError("pnl_usd: contains NaN; a path without a result must be dropped, not averaged")
    return values
