"""Implied vol for 1e5 options on one core, side by side with py_vollib_vectorized when it is installed.

Goal (issue 2): >= 2 million/s and >= 1.5x py_vollib_vectorized in the same run.
py_vollib_vectorized is installed only in the bench extra: `make bench` (see README) which pins
py_vollib==1.0.1 and py_lets_be_rational==1.0.1 (newer ones break its numba kernels).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import interleaved_medians, median_seconds, pin_one_core, random_options  # noqa: E402
from core.pricing.bsm import bsm_price  # noqa: E402
from core.pricing.implied_vol import IVFlag, implied_vol  # noqa: E402

N = 100_000


def main() -> dict[str, float]:
    where = pin_one_core()
    is_call, spot, strike, t, vol = random_options(N, seed=1, min_t_years=0.02)
    rate, div = 0.03, 0.01
    prices = bsm_price(is_call, spot, strike, t, rate, div, vol)
    ours = implied_vol(prices, is_call, spot, strike, t, rate, div)
    ok = ours.flag == IVFlag.OK
    mine_s = median_seconds(lambda: implied_vol(prices, is_call, spot, strike, t, rate, div))
    result = {"iv_per_s": N / mine_s, "max_abs_vol_error": float(np.max(np.abs(ours.vol[ok] - vol[ok]))),
              "solved_fraction": float(ok.mean())}
    print(f"[implied vol] {where}; N={N:,}")
    print(f"  spreadwright implied_vol : {result['iv_per_s'] / 1e6:6.2f} M/s "
          f"(solved {ok.mean():.2%}, max |vol error| {result['max_abs_vol_error']:.1e}) goal >= 2 M/s")
    try:
        from py_vollib_vectorized import vectorized_implied_volatility
    except ImportError:
        print("  py_vollib_vectorized     : not installed (pip install -e '.[bench]' to compare)")
        return result
    flags = np.where(is_call, "c", "p")

    def theirs():
        return vectorized_implied_volatility(prices, spot, strike, t, rate, flags, q=div,
                                             model="black_scholes_merton", return_as="numpy")

    import warnings

    warnings.filterwarnings("ignore", message="Found Below Intrinsic")   # its own flags, printed per call
    seconds = interleaved_medians({"ours": lambda: implied_vol(prices, is_call, spot, strike, t, rate, div),
                                   "theirs": theirs})
    mine_s, their_s = seconds["ours"], seconds["theirs"]
    result["iv_per_s"] = N / mine_s
    their_err = np.nanmax(np.abs(theirs() - vol))
    result.update(py_vollib_vectorized_per_s=N / their_s, speedup=their_s / mine_s)
    print(f"  interleaved with it, ours: {N / mine_s / 1e6:6.2f} M/s")
    print(f"  py_vollib_vectorized     : {N / their_s / 1e6:6.2f} M/s (max |vol error| {their_err:.1e})")
    print(f"  speedup                  : {result['speedup']:.2f}x (goal >= 1.5x)")
    return result


if __name__ == "__main__":
    main()
