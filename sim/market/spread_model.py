"""Bid/ask spread model: median quoted spread as a function of moneyness, DTE, volatility and price.

For calls and puts separately (their books differ: skew, demand):

    log(spread) = surface(z, log1p(dte)) + slope_mid(z) * log(mid) + b_vol * log(vol)

z = phi * log(K/S) / (vol * sqrt(t)) is the standardized out-of-the-money distance (phi = +1 for
calls, -1 for puts, so z > 0 is OTM); `surface` is bilinear on a grid of knots (tensor product of
hat functions) and `slope_mid` piecewise linear in z, since how spreads scale with the premium
(the price level) differs between ITM and OTM. Coefficients are fitted by median (L1) regression
to real chains by `sim/calibrate/fit_spreads.py`. The quoted spread is a whole number of ticks,
at least one: floor(model / tick + rounding_threshold), the threshold fitted with the rest.

A bucket correction follows the smooth surface: a log shift per (OTM log-moneyness bucket, DTE
bucket) of the calibration report, zero except where the smooth model's median misses the data's
by more than the fit's tolerance (the shifts are listed in the report). Spreads are whole ticks, so
a bucket whose quotes sit half at 2 ticks and half at 3 can need this to get its median right.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_LOG_2 = float(np.log(2.0))
PARAMS_PATH = Path(__file__).resolve().parents[1] / "calibrate" / "spread_params.json"


def hat_basis(values, knots: np.ndarray) -> np.ndarray:
    """Piecewise-linear (hat) basis: column j is 1 at knots[j], 0 at its neighbours; values clipped to the knots."""
    position = np.interp(np.asarray(values, dtype=np.float64), knots, np.arange(knots.size, dtype=np.float64))
    return np.maximum(0.0, 1.0 - np.abs(position[..., None] - np.arange(knots.size)))


def _cell(values, knots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the knot interval holding each (clipped) value, and the weight of its upper knot."""
    position = np.interp(np.asarray(values, dtype=np.float64), knots, np.arange(knots.size, dtype=np.float64))
    index = np.minimum(position.astype(np.intp), max(knots.size - 2, 0))
    return index, position - index


def standardized_moneyness(is_call, strike, underlying, vol, dte_days) -> np.ndarray:
    """phi * log(K/S) / (vol * sqrt(t)); t floored at half a day so 0DTE stays finite."""
    phi = np.where(is_call, 1.0, -1.0)
    t_years = np.maximum(np.asarray(dte_days, dtype=np.float64), 0.5) / 365.0
    return phi * np.log(strike / underlying) / (vol * np.sqrt(t_years))


@dataclass(frozen=True)
class SpreadModel:
    """Fitted parameters of one product class ('spx': $0.05 below $3, $0.10 above; 'penny': $0.01).

    Arrays indexed [0] for puts and [1] for calls.
    """

    product_class: str
    z_knots: np.ndarray
    dte_knots: np.ndarray           # in log1p(days)
    surface: np.ndarray             # (2, len(z_knots), len(dte_knots))
    slope_mid: np.ndarray           # (2, len(z_knots)): d log(spread) / d log(mid) at each z knot
    b_vol: float
    tick_below_3: float
    tick_from_3: float
    rounding_threshold: float = 0.5
    moneyness_edges: tuple[float, ...] = ()     # interior edges, right-closed, of phi * ln(K/S)
    dte_edges: tuple[float, ...] = ()           # interior edges, right-closed, in days
    bucket_log_shift: np.ndarray | None = None  # (len(moneyness_edges) + 1, len(dte_edges) + 1)

    def bucket_shift(self, z, dte_days, vol) -> np.ndarray | float:
        """Log shift of each quote's bucket (0.0 without corrections); log moneyness recovered from z. The DTE
        bucket is by whole days to expiry (floor): an intraday 0DTE quote, 0.1 days out, is in bucket "0" as the
        calibration report counts it, not in "1-3"."""
        if self.bucket_log_shift is None:
            return 0.0
        t_years = np.maximum(np.asarray(dte_days, dtype=np.float64), 0.5) / 365.0
        log_moneyness = np.asarray(z, dtype=np.float64) * vol * np.sqrt(t_years)
        row = np.searchsorted(np.asarray(self.moneyness_edges), log_moneyness, side="left")
        column = np.searchsorted(np.asarray(self.dte_edges), np.floor(dte_days), side="left")
        return self.bucket_log_shift[row, column]

    def features(self, is_call, mid, z, dte_days, vol) -> np.ndarray:
        """Design matrix: [put block | call block | log vol], each block tensor hats then z hats * log mid."""
        hz = hat_basis(z, self.z_knots)
        hd = hat_basis(np.log1p(dte_days), self.dte_knots)
        tensor = (hz[..., :, None] * hd[..., None, :]).reshape(hz.shape[:-1] + (-1,))
        log_mid = np.log(np.asarray(mid, dtype=np.float64))[..., None]
        block = np.concatenate([tensor, hz * log_mid], axis=-1)
        call = np.asarray(is_call, dtype=np.float64)[..., None]
        log_vol = np.log(np.asarray(vol, dtype=np.float64))[..., None]
        return np.concatenate([block * (1.0 - call), block * call, log_vol], axis=-1)

    def coefficients(self) -> np.ndarray:
        blocks = [np.concatenate([self.surface[i].ravel(), self.slope_mid[i]]) for i in (0, 1)]
        return np.concatenate(blocks + [[self.b_vol]])

    @classmethod
    def from_coefficients(cls, product_class: str, z_knots, dte_knots, beta, tick_below_3: float,
                          tick_from_3: float, rounding_threshold: float = 0.5) -> SpreadModel:
        n_surface = z_knots.size * dte_knots.size
        blocks = beta[:-1].reshape(2, n_surface + z_knots.size)
        return cls(product_class, z_knots, dte_knots, blocks[:, :n_surface].reshape(2, z_knots.size, dte_knots.size),
                   blocks[:, n_surface:], float(beta[-1]), tick_below_3, tick_from_3, rounding_threshold)

    def tick(self, price_per_share) -> np.ndarray:
        return np.where(np.asarray(price_per_share) < 3.0, self.tick_below_3, self.tick_from_3)

    def raw_spread(self, is_call, mid, z, dte_days, vol) -> np.ndarray:
        """Median spread per share before tick rounding, at most 2 * mid (a bid is never negative).

        Evaluates the same function as `features(...) @ coefficients()` by direct bilinear
        interpolation, without building the design matrix (the chain generator's hot path).
        """
        side = np.asarray(is_call, dtype=np.intp)
        zi, zw = _cell(z, self.z_knots)
        di, dw = _cell(np.log1p(dte_days), self.dte_knots)
        surface = self.surface
        if self.dte_knots.size == 1:
            level = surface[side, zi, 0] * (1 - zw) + surface[side, zi + 1, 0] * zw
        else:
            low = surface[side, zi, di] * (1 - dw) + surface[side, zi, di + 1] * dw
            high = surface[side, zi + 1, di] * (1 - dw) + surface[side, zi + 1, di + 1] * dw
            level = low * (1 - zw) + high * zw
        slope = self.slope_mid[side, zi] * (1 - zw) + self.slope_mid[side, zi + 1] * zw
        log_mid = np.log(mid)
        log_spread = level + slope * log_mid + self.b_vol * np.log(vol) + self.bucket_shift(z, dte_days, vol)
        return np.exp(np.minimum(log_spread, log_mid + _LOG_2))

    def spread(self, is_call, mid, z, dte_days, vol) -> np.ndarray:
        """Quoted spread per share: whole ticks, at least one."""
        tick = self.tick(mid)
        in_ticks = self.raw_spread(is_call, mid, z, dte_days, vol) / tick
        return np.maximum(np.floor(in_ticks + self.rounding_threshold), 1.0) * tick

    def to_json(self) -> dict:
        return {"product_class": self.product_class, "z_knots": self.z_knots.tolist(),
                "dte_knots_log1p_days": self.dte_knots.tolist(), "surface_put_call": self.surface.tolist(),
                "slope_mid_put_call": self.slope_mid.tolist(), "b_vol": self.b_vol,
                "tick_below_3": self.tick_below_3, "tick_from_3": self.tick_from_3,
                "rounding_threshold": self.rounding_threshold, "moneyness_edges": list(self.moneyness_edges),
                "dte_edges_days": list(self.dte_edges),
                "bucket_log_shift": None if self.bucket_log_shift is None else self.bucket_log_shift.tolist()}

    @classmethod
    def from_json(cls, data: dict) -> SpreadModel:
        return cls(data["product_class"], np.array(data["z_knots"]), np.array(data["dte_knots_log1p_days"]),
                   np.array(data["surface_put_call"]), np.array(data["slope_mid_put_call"]), data["b_vol"],
                   data["tick_below_3"], data["tick_from_3"], data["rounding_threshold"],
                   tuple(data.get("moneyness_edges", ())), tuple(data.get("dte_edges_days", ())),
                   None if data.get("bucket_log_shift") is None else np.array(data["bucket_log_shift"]))


def load_spread_models(path: Path = PARAMS_PATH) -> dict[str, SpreadModel]:
    """The shipped fitted models by product class."""
    return {name: SpreadModel.from_json(entry) for name, entry in json.loads(path.read_text()).items()}
