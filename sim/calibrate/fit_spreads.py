"""Fit the bid/ask spread model to the real chains in the repository's data/ (pure fitting: no files written).

    python -m supervisors.batch.calibrate [--data DIR] [--report-dir reports/calibration]   (fits, writes both)

- 'spx' class ($0.05 below $3, $0.10 from $3): the CBOE 2019 SPX/SPXW chain (56 days, DTE 0-120).
- 'penny' class ($0.01; SPY, QQQ, IWM): the 2021 SPY file (DTE 20-120, K/S 0.93-1.07); outside
  that range the model is held flat (the DTE knots are the data's own range).
- Short-dated intraday quotes (`load_minute_quotes`): the Lean minute quote bars, SPX/SPXW in January 2021
  (0-11 DTE; spx class) and SPY on 2023-08-03 (29 DTE only; penny class), each bar's closing bid/ask with the
  time to its expiry instant to the minute. For the spx class a 0-7 DTE bucket whose intraday quotes suffice
  takes its correction from them (a backtest trades intraday; the 2019 file's snapshot time is unknown); the
  penny class has no quote under 20 DTE anywhere in the data, so its 0-7 DTE spreads are an extrapolation.
Cleaning: quotes with bid <= 0 or ask <= bid are dropped, and so are AM-settled SPX monthlies on
their expiry day (stale). Implied vols are recomputed from the mid with `core.pricing.implied_vol`
(rates and dividend yields below), never taken from the vendor columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from core.pricing.implied_vol import IVFlag, implied_vol
from sim.market.spread_model import SpreadModel, standardized_moneyness

SPX_FILE = "spx_chain_cboe_delayed_2019-04-25_2019-07-22_dte0-120_m80-120.csv.gz"
SPY_FILE = "spy_options_eod_2021_selected20perday_lambdaclass.csv"
MINUTE_FILE = "spx_spxw_spy_option_minute_quotebars_lean.csv"
RATE_2023, DIV_2023 = 0.053, 0.015      # SPY, August 2023
SHORT_DTE_LABELS = ("0", "1-3", "4-7")
RATE_2019, DIV_2019 = 0.022, 0.018      # ~3m T-bill and SPX dividend yield, spring 2019
RATE_2021, DIV_2021 = 0.001, 0.013      # 2021
MONEYNESS_EDGES = [-np.inf, -0.05, -0.015, 0.015, 0.05, 0.10, np.inf]
MONEYNESS_LABELS = ["deep ITM", "ITM", "ATM", "OTM", "far OTM", "deep OTM"]
DTE_EDGES = [-1, 0, 3, 7, 21, 45, 90, 130]
DTE_LABELS = ["0", "1-3", "4-7", "8-21", "22-45", "46-90", "91-120"]
MIN_BUCKET_QUOTES = 200
SMOOTHNESS = 1.0            # weight of the second-difference penalty on the surface and the mid slopes
CORRECTION_TOLERANCE = 0.10 # a checked bucket the smooth model misses by more than this gets a log shift
CORRECTION_SHIFTS = np.round(np.arange(-1.5, 1.501, 0.01), 2)
JITTER_SEED = 20190425


@dataclass(frozen=True)
class ClassSpec:
    name: str
    z_knots: tuple[float, ...]
    dte_knots_days: tuple[float, ...]
    tick_below_3: float
    tick_from_3: float


SPX_SPEC = ClassSpec("spx", (-4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4),
                     (0, 1, 2, 4, 7, 14, 21, 45, 90, 120), 0.05, 0.10)
PENNY_SPEC = ClassSpec("penny", (-2, -1, -0.3, 0, 0.3, 1, 2), (20, 120), 0.01, 0.01)


def load_spx_2019(data_dir: Path) -> pd.DataFrame:
    raw = pd.read_csv(data_dir / SPX_FILE)
    stale_am_monthly = (raw.root == "SPX") & (raw.dte == 0)
    return _prepare(raw[~stale_am_monthly], raw.dte, RATE_2019, DIV_2019)


def load_spy_2021(data_dir: Path) -> pd.DataFrame:
    raw = pd.read_csv(data_dir / SPY_FILE)
    dte = (pd.to_datetime(raw.expiration) - pd.to_datetime(raw.quotedate)).dt.days
    return _prepare(raw.assign(dte=dte), dte, RATE_2021, DIV_2021)


def load_minute_quotes(data_dir: Path) -> dict[str, pd.DataFrame]:
    """Per class ('spx': SPX and SPXW, 'penny': SPY), the minute bars' closing quotes, prepared like the daily
    files: `dte` in fractional days to the expiry instant (the close; the open of an AM-settled SPX monthly),
    buckets by whole days of it (a quote less than a day before its expiry instant is in bucket "0")."""
    from core.instruments import is_am_settled

    raw = pd.read_csv(data_dir / MINUTE_FILE)
    raw = raw.rename(columns={"bid_close": "bid", "ask_close": "ask", "underlying_close": "underlying_last"})
    raw = raw[raw.underlying_last.notna()]
    time = pd.to_datetime(raw.time_et)
    expiry_day = pd.to_datetime(raw.expiration)
    am = [root == "SPX" and is_am_settled("SPX", day.date()) for root, day in zip(raw.root, expiry_day)]
    expiry_at = expiry_day + pd.to_timedelta(np.where(am, 9.5, 16.0), unit="h")
    days = ((expiry_at - time).dt.total_seconds() / 86_400).clip(lower=1 / 1440)
    whole_days = np.floor(days)          # the bucket, as the model looks its correction up (SpreadModel.bucket_shift)
    out = {}
    for name, roots, rate, div in (("spx", ("SPX", "SPXW"), RATE_2021, DIV_2021), ("penny", ("SPY",), RATE_2023,
                                                                                      DIV_2023)):
        chosen = raw.root.isin(roots)
        out[name] = _prepare(raw[chosen].assign(dte=days[chosen]), days[chosen], rate, div,
                             bucket_days=whole_days[chosen])
    return out


def _prepare(raw: pd.DataFrame, dte: pd.Series, rate: float, div: float,
             bucket_days: pd.Series | None = None) -> pd.DataFrame:
    """Tradable quotes with spread, mid, OTM-signed log moneyness, recomputed IV and z. `dte` (days) prices the
    quote; `bucket_days` (default `dte`) puts it in its DTE bucket."""
    quotes = raw[(raw.bid > 0) & (raw.ask > raw.bid)].copy()
    quotes["bucket_days"] = (dte if bucket_days is None else bucket_days).loc[quotes.index]
    quotes["spread"] = (quotes.ask - quotes.bid).round(6)    # 0.0199999 and 0.0200001 are one spread
    quotes["mid"] = 0.5 * (quotes.ask + quotes.bid)
    quotes["is_call"] = quotes["type"].str.lower().str.startswith("c")
    phi = np.where(quotes.is_call, 1.0, -1.0)
    quotes["otm_log_moneyness"] = phi * np.log(quotes.strike / quotes.underlying_last)
    t_years = (np.maximum(quotes.dte.to_numpy(), 0.5) if bucket_days is None else quotes.dte.to_numpy()) / 365.0
    iv = implied_vol(quotes.mid.to_numpy(), quotes.is_call.to_numpy(), quotes.underlying_last.to_numpy(),
                     quotes.strike.to_numpy(), t_years, rate, div)
    quotes["iv"] = iv.vol
    quotes = quotes[(iv.flag == IVFlag.OK) & (quotes.iv > 0.02) & (quotes.iv < 3.0)].copy()
    quotes["z"] = standardized_moneyness(quotes.is_call.to_numpy(), quotes.strike.to_numpy(),
                                         quotes.underlying_last.to_numpy(), quotes.iv.to_numpy(), quotes.dte.to_numpy())
    quotes["moneyness_bucket"] = pd.cut(quotes.otm_log_moneyness, MONEYNESS_EDGES, labels=MONEYNESS_LABELS)
    quotes["dte_bucket"] = pd.cut(quotes.bucket_days, DTE_EDGES, labels=DTE_LABELS)
    return quotes


def median_regression(design: np.ndarray, target: np.ndarray, penalty: np.ndarray | None = None,
                      iterations: int = 15) -> np.ndarray:
    """L1 (median) regression by iteratively reweighted least squares: the report compares medians.

    `penalty` rows (fixed weight, target 0) keep coefficients the data barely reaches smooth instead of
    letting them take any value (unpenalized, knots beyond the data came out in the thousands).
    """
    penalty = np.zeros((0, design.shape[1])) if penalty is None else penalty
    weights = np.ones(target.size)
    for _ in range(iterations):
        root = np.sqrt(weights)
        stacked = np.vstack([design * root[:, None], penalty])
        beta, *_ = np.linalg.lstsq(stacked, np.concatenate([target * root, np.zeros(len(penalty))]), rcond=None)
        weights = 1.0 / np.maximum(np.abs(target - design @ beta), 1e-3)
    return beta


def _second_differences(n: int) -> np.ndarray:
    return np.diff(np.eye(n), n=2, axis=0)


def smoothness_penalty(n_z: int, n_dte: int, weight: float = SMOOTHNESS) -> np.ndarray:
    """Second differences of each side's surface along z and along DTE, and of its mid slopes along z."""
    block = n_z * n_dte + n_z
    rows = []
    for side in (0, 1):
        surface = np.arange(n_z * n_dte).reshape(n_z, n_dte) + side * block
        slopes = np.arange(n_z) + side * block + n_z * n_dte
        for columns in [*surface.T, *surface, slopes]:
            for difference in _second_differences(len(columns)):
                row = np.zeros(2 * block + 1)
                row[columns] = difference
                rows.append(row)
    return weight * np.array(rows)


def latent_log_spread(quotes: pd.DataFrame, tick_below_3: float, tick_from_3: float) -> np.ndarray:
    """Log of a continuous spread that rounds to the quoted whole ticks (uniform within the tick, seeded).

    A median regression on whole-tick spreads pins the fit to tick values; the latent target lets it
    land between them, so the fitted rounding decides, not the regression's ties."""
    tick = np.where(quotes.mid.to_numpy() < 3.0, tick_below_3, tick_from_3)
    ticks = np.round(quotes.spread.to_numpy() / tick)
    jitter = np.random.default_rng(JITTER_SEED).uniform(-0.5, 0.5, ticks.size)
    return np.log(np.maximum(ticks + jitter, 0.5) * tick)


def fit_class(spec: ClassSpec, quotes: pd.DataFrame, intraday: pd.DataFrame | None = None) -> SpreadModel:
    """Penalized median regression of the latent log spread, the rounding threshold that best matches
    bucket medians, then the bucket corrections (0-7 DTE ones from `intraday` quotes where they suffice)."""
    z_knots = np.array(spec.z_knots, dtype=float)
    dte_knots = np.log1p(np.array(spec.dte_knots_days, dtype=float))
    blank = SpreadModel.from_coefficients(spec.name, z_knots, dte_knots,
                                          np.zeros(2 * (z_knots.size * (dte_knots.size + 1)) + 1),
                                          spec.tick_below_3, spec.tick_from_3)
    columns = _columns(quotes)
    beta = median_regression(blank.features(*columns), latent_log_spread(quotes, spec.tick_below_3, spec.tick_from_3),
                             smoothness_penalty(z_knots.size, dte_knots.size))
    model = SpreadModel.from_coefficients(spec.name, z_knots, dte_knots, beta, spec.tick_below_3, spec.tick_from_3)
    errors = {threshold: _worst_bucket_error(replace(model, rounding_threshold=threshold), quotes)
              for threshold in np.round(np.arange(0.20, 0.81, 0.05), 2)}
    best = min(errors, key=lambda threshold: (errors[threshold], abs(threshold - 0.5)))
    return bucket_corrections(replace(model, rounding_threshold=float(best)), quotes, intraday)


def bucket_corrections(model: SpreadModel, quotes: pd.DataFrame, intraday: pd.DataFrame | None = None) -> SpreadModel:
    """`model` with a log shift for each checked bucket whose median it misses by more than
    CORRECTION_TOLERANCE: the smallest shift that brings the bucket's median to the data's (or, if none
    does, closest). A 0-7 DTE bucket with enough `intraday` quotes is matched to those instead."""
    m_edges, d_edges = tuple(MONEYNESS_EDGES[1:-1]), tuple(DTE_EDGES[1:-1])
    shifts = np.zeros((len(m_edges) + 1, len(d_edges) + 1))
    rows = {label: i for i, label in enumerate(MONEYNESS_LABELS)}
    columns = {label: i for i, label in enumerate(DTE_LABELS)}
    targets = {(b.moneyness_bucket, b.dte_bucket): (quotes, b) for b in bucket_table(model, quotes).itertuples()
               if b.checked}
    if intraday is not None and len(intraday):
        targets.update({(b.moneyness_bucket, b.dte_bucket): (intraday, b)
                        for b in bucket_table(model, intraday).itertuples()
                        if b.checked and b.dte_bucket in SHORT_DTE_LABELS})
    for (moneyness, dte), (source, bucket) in targets.items():
        if abs(bucket.relative_error) <= CORRECTION_TOLERANCE:
            continue
        inside = source[(source.moneyness_bucket == moneyness) & (source.dte_bucket == dte)]
        shifts[rows[moneyness], columns[dte]] = _best_shift(model, inside)
    return replace(model, moneyness_edges=m_edges, dte_edges=d_edges, bucket_log_shift=shifts)


def _best_shift(model: SpreadModel, quotes: pd.DataFrame) -> float:
    """The smallest log shift (of CORRECTION_SHIFTS) giving `quotes`, all of one bucket, the data's median
    spread, or the closest; evaluated by the model itself with that shift on every bucket."""
    columns = _columns(quotes)
    data_median = float(np.median(quotes.spread.to_numpy()))
    by_size = sorted(CORRECTION_SHIFTS, key=abs)
    shape = (len(MONEYNESS_EDGES) - 1, len(DTE_EDGES) - 1)
    errors = [abs(float(np.median(replace(model, moneyness_edges=tuple(MONEYNESS_EDGES[1:-1]),
                                          dte_edges=tuple(DTE_EDGES[1:-1]),
                                          bucket_log_shift=np.full(shape, shift)).spread(*columns))) / data_median - 1)
              for shift in by_size]
    return float(by_size[int(np.argmin(errors))])        # argmin: the first, so the smallest shift, of the best


def _columns(quotes: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return (quotes.is_call.to_numpy(), quotes.mid.to_numpy(), quotes.z.to_numpy(), quotes.dte.to_numpy(),
            quotes.iv.to_numpy())


def _worst_bucket_error(model: SpreadModel, quotes: pd.DataFrame) -> float:
    table = bucket_table(model, quotes)
    return float(table[table.checked].relative_error.abs().max())


def bucket_table(model: SpreadModel, quotes: pd.DataFrame) -> pd.DataFrame:
    """Per moneyness x DTE bucket: quotes, data median, model median, relative error."""
    quotes = quotes.assign(model_spread=model.spread(*_columns(quotes)))
    grouped = quotes.groupby(["moneyness_bucket", "dte_bucket"], observed=True)
    table = grouped.agg(quotes=("spread", "size"), data_median=("spread", "median"),
                        model_median=("model_spread", "median")).reset_index()
    table["relative_error"] = table.model_median / table.data_median - 1.0
    table["checked"] = table.quotes >= MIN_BUCKET_QUOTES
    return table
