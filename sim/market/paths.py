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


def bridge_to(path: np.ndarray, target: float) -> np.ndarray:
    """`path` (one path, its first value kept) bent in log space so its last value is `target`: each step's
    share of the correction grows linearly with time (a Brownian bridge's pinning of a drawn path)."""
    weights = np.linspace(0.0, 1.0, path.size)
    return path * np.exp(weights * (np.log(target) - np.log(path[-1])))


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


@dataclass(frozen=True)
class MarketRegimeModel:
    """Daily bars whose dynamics switch between the strategist's four regimes, each bar labelled with the regime
    that drew it (the truth the detector is scored against). Per regime (in `core.strategy.regimes.Regime` order:
    RANGE_BOUND, MEAN_REVERSION, TREND, CAUTION): annualized vol, drift per day (its sign drawn per episode), and
    the pull per day of the log price back to where the episode began (an Ornstein-Uhlenbeck term). Episodes last
    a geometric number of days with mean `mean_duration_days`; the next regime is drawn uniformly among the
    others. `substeps` intraday steps make each bar's high and low. The VIX the detector sees is derived from the
    path alone (1.15 x an exponentially weighted realized vol with `vix_half_life_days`), never from the label."""

    vols: tuple[float, float, float, float] = (0.10, 0.20, 0.15, 0.45)
    drift_per_day: tuple[float, float, float, float] = (0.0, 0.0, 0.003, 0.0)
    pull_per_day: tuple[float, float, float, float] = (0.05, 0.25, 0.0, 0.0)
    mean_duration_days: tuple[float, float, float, float] = (60.0, 25.0, 60.0, 20.0)
    substeps: int = 8
    vix_half_life_days: float = 10.0


def market_regime_bars(model: MarketRegimeModel, n_paths: int, n_days: int, rng: np.random.Generator,
                       s0: float = 100.0) -> dict[str, np.ndarray]:
    """Arrays (n_paths, n_days): open, high, low, close, vix (vol points) and label (regime index). Sequential in
    time (the pull depends on the price), vectorized over paths."""
    labels = _episode_labels(model, n_paths, n_days, rng)
    vols, drifts, pulls = (np.asarray(x)[labels] for x in (model.vols, model.drift_per_day, model.pull_per_day))
    signs = _episode_signs(labels, rng)
    dt = 1.0 / model.substeps
    shocks = rng.standard_normal((n_paths, n_days, model.substeps))
    log_price = np.full(n_paths, np.log(s0))
    anchor = log_price.copy()
    bars = {name: np.empty((n_paths, n_days)) for name in ("open", "high", "low", "close")}
    for day in range(n_days):
        new_episode = (labels[:, day] != labels[:, day - 1]) if day else np.ones(n_paths, bool)
        anchor = np.where(new_episode, log_price, anchor)
        sigma_day = vols[:, day] / np.sqrt(TRADING_DAYS_PER_YEAR)
        steps = np.empty((n_paths, model.substeps))
        for k in range(model.substeps):
            pull = -pulls[:, day] * (log_price - anchor) * dt
            drift = signs[:, day] * drifts[:, day] * dt
            log_price = log_price + drift + pull + sigma_day * np.sqrt(dt) * shocks[:, day, k]
            steps[:, k] = log_price
        prices = np.exp(steps)
        bars["open"][:, day] = np.exp(steps[:, 0])
        bars["high"][:, day], bars["low"][:, day] = prices.max(axis=1), prices.min(axis=1)
        bars["close"][:, day] = prices[:, -1]
    bars["vix"] = _vix_from_path(bars["close"], model.vix_half_life_days)
    bars["label"] = labels
    return bars


def _episode_labels(model: MarketRegimeModel, n_paths: int, n_days: int, rng: np.random.Generator) -> np.ndarray:
    n_regimes = len(model.vols)
    leave = 1.0 / np.asarray(model.mean_duration_days)
    labels = np.empty((n_paths, n_days), np.int8)
    labels[:, 0] = rng.integers(0, n_regimes, n_paths)
    switch_draws, next_draws = rng.random((n_paths, n_days)), rng.integers(1, n_regimes, (n_paths, n_days))
    for day in range(1, n_days):
        current = labels[:, day - 1]
        switch = switch_draws[:, day] < leave[current]
        labels[:, day] = np.where(switch, (current + next_draws[:, day]) % n_regimes, current)
    return labels


def _episode_signs(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """+1 or -1 per episode (a trend's direction), constant within it."""
    starts = np.ones(labels.shape, bool)
    starts[:, 1:] = labels[:, 1:] != labels[:, :-1]
    episode = np.cumsum(starts, axis=1)
    draws = rng.choice([-1.0, 1.0], size=(labels.shape[0], labels.shape[1] + 1))
    return np.take_along_axis(draws, episode, axis=1)


def _vix_from_path(close: np.ndarray, half_life_days: float) -> np.ndarray:
    returns = np.diff(np.log(close), axis=1, prepend=np.log(close[:, :1]))
    alpha = 1.0 - 0.5 ** (1.0 / half_life_days)
    variance = np.empty_like(returns)
    level = np.full(close.shape[0], 0.16 ** 2 / TRADING_DAYS_PER_YEAR)
    for day in range(returns.shape[1]):
        level = (1 - alpha) * level + alpha * returns[:, day] ** 2
        variance[:, day] = level
    return 100 * 1.15 * np.sqrt(variance * TRADING_DAYS_PER_YEAR)
