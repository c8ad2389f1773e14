"""Underlying price paths, vectorized over paths: GBM, Merton jumps, regime-switching volatility.

All models step on a grid of `dt_years` (minute resolution over market hours uses
`MINUTE_YEARS`), return arrays of shape (n_paths, n_steps + 1) starting at `s0`, and
draw only from the generator passed in, so a seed reproduces a path exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.units import TRADING_DAYS_PER_YEAR, TRADING_MINUTES_PER_DAY

MINUTES_PER_SESSION = TRADING_MINUTES_PER_DAY
MINUTE_YEARS = 1.0 / (TRADING_DAYS_PER_YEAR * MINUTES_PER_SESSION)
REGIMES = ("low", "normal", "high")


def gbm_paths(s0: float, mu: float, sigma: float, n_paths: int, n_steps: int, dt_years: float,
              rng: np.random.Generator) -> np.ndarray:
    """Geometric Brownian motion: dS/S = mu dt + sigma dW (exact log-normal steps)."""
    shocks = rng.standard_normal((n_paths, n_steps))
    log_steps = (mu - 0.5 * sigma * sigma) * dt_years + sigma * np.sqrt(dt_years) * shocks
    return _accumulate(s0, log_steps)


def merton_jump_paths(s0: float, mu: float, sigma: float, jump_intensity_per_year: float, jump_mean: float,
                      jump_std: float, n_paths: int, n_steps: int, dt_years: float,
                      rng: np.random.Generator) -> np.ndarray:
    """GBM plus compound Poisson log-normal jumps; drift compensated so E[S_t] = s0 * exp(mu t)."""
    diffusion = rng.standard_normal((n_paths, n_steps))
    jump_counts = rng.poisson(jump_intensity_per_year * dt_years, (n_paths, n_steps))
    jump_sizes = jump_mean * jump_counts + jump_std * np.sqrt(jump_counts) * rng.standard_normal((n_paths, n_steps))
    compensator = jump_intensity_per_year * (np.exp(jump_mean + 0.5 * jump_std ** 2) - 1.0)
    drift = (mu - 0.5 * sigma * sigma - compensator) * dt_years
    return _accumulate(s0, drift + sigma * np.sqrt(dt_years) * diffusion + jump_sizes)


@dataclass(frozen=True)
class RegimeModel:
    """Three labelled volatility regimes and a Markov chain between them.

    `vols` are annualized (low, normal, high); `mean_duration_days` how long each lasts on
    average; on leaving a regime the next is drawn from `exit_probabilities` rows.
    """

    vols: tuple[float, float, float] = (0.11, 0.17, 0.32)
    mean_duration_days: tuple[float, float, float] = (20.0, 30.0, 8.0)
    exit_probabilities: tuple[tuple[float, float, float], ...] = ((0.0, 1.0, 0.0), (0.6, 0.0, 0.4), (0.1, 0.9, 0.0))

    def transition_matrix(self, dt_years: float) -> np.ndarray:
        """Per-step transition probabilities for a step of `dt_years`."""
        leave = 1.0 - np.exp(-dt_years * TRADING_DAYS_PER_YEAR / np.array(self.mean_duration_days))
        matrix = np.array(self.exit_probabilities, dtype=np.float64) * leave[:, None]
        matrix[np.diag_indices(3)] = 1.0 - leave
        return matrix


def regime_switching_paths(s0: float, mu: float, model: RegimeModel, n_paths: int, n_steps: int, dt_years: float,
                           rng: np.random.Generator, start_regime: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Prices (n_paths, n_steps + 1) and regime indices into REGIMES (n_paths, n_steps + 1)."""
    cumulative = np.cumsum(model.transition_matrix(dt_years), axis=1)
    uniforms = rng.random((n_paths, n_steps))
    regimes = np.empty((n_paths, n_steps + 1), dtype=np.int8)
    regimes[:, 0] = start_regime
    for step in range(n_steps):   # a Markov chain is sequential in time; vectorized over paths
        row = cumulative[regimes[:, step]]
        regimes[:, step + 1] = (uniforms[:, step, None] > row).sum(axis=1)
    sigma = np.asarray(model.vols)[regimes[:, :-1]]
    shocks = rng.standard_normal((n_paths, n_steps))
    log_steps = (mu - 0.5 * sigma * sigma) * dt_years + sigma * np.sqrt(dt_years) * shocks
    return _accumulate(s0, log_steps), regimes


def _accumulate(s0: float, log_steps: np.ndarray) -> np.ndarray:
    paths = np.empty((log_steps.shape[0], log_steps.shape[1] + 1))
    paths[:, 0] = 0.0
    np.cumsum(log_steps, axis=1, out=paths[:, 1:])
    np.exp(paths, out=paths)
    paths *= s0
    return paths


def realized_vol(paths: np.ndarray, dt_years: float) -> np.ndarray:
    """Annualized standard deviation of log returns, per path."""
    return np.diff(np.log(paths), axis=1).std(axis=1, ddof=1) / np.sqrt(dt_years)
