"""Vectorized BSM price+delta: options/s on one core, against a bare numpy expression in the same run.

Goal (issue 2): >= 8 million options/s for N = 1e6, and >= 80% of the bare expression.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.special import ndtr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import interleaved_medians, pin_one_core, random_options  # noqa: E402
from core.pricing.bsm import bsm_price_delta  # noqa: E402

N = 1_000_000


def bare_numpy_calls(spot, strike, t, rate, div, vol):
    """The textbook expression, calls only, no edge handling: the ceiling to compare against."""
    std_dev = vol * np.sqrt(t)
    d1 = (np.log(spot / strike) + (rate - div + 0.5 * vol * vol) * t) / std_dev
    d2 = d1 - std_dev
    dq_nd1 = np.exp(-div * t) * ndtr(d1)
    return spot * dq_nd1 - strike * np.exp(-rate * t) * ndtr(d2), dq_nd1


def bare_numpy_mixed(is_call, spot, strike, t, rate, div, vol):
    """The textbook expression for a mix of calls and puts (sign phi), no edge handling."""
    phi = np.where(is_call, 1.0, -1.0)
    std_dev = vol * np.sqrt(t)
    d1 = (np.log(spot / strike) + (rate - div + 0.5 * vol * vol) * t) / std_dev
    d2 = d1 - std_dev
    dq_nd1 = np.exp(-div * t) * ndtr(phi * d1)
    return phi * (spot * dq_nd1 - strike * np.exp(-rate * t) * ndtr(phi * d2)), phi * dq_nd1


def main() -> dict[str, float]:
    where = pin_one_core()
    is_call, spot, strike, t, vol = random_options(N, seed=0, min_t_years=0.01)
    seconds = interleaved_medians({
        "bare_calls": lambda: bare_numpy_calls(spot, strike, t, 0.04, 0.01, vol),
        "bare_mixed": lambda: bare_numpy_mixed(is_call, spot, strike, t, 0.04, 0.01, vol),
        "ours_calls": lambda: bsm_price_delta(True, spot, strike, t, 0.04, 0.01, vol),
        "ours_mixed": lambda: bsm_price_delta(is_call, spot, strike, t, 0.04, 0.01, vol),
    })
    rate = {name: N / s for name, s in seconds.items()}
    result = {"options_per_s": rate["ours_mixed"], "calls_per_s": rate["ours_calls"],
              "calls_ratio_to_bare": rate["ours_calls"] / rate["bare_calls"],
              "mixed_ratio_to_bare_mixed": rate["ours_mixed"] / rate["bare_mixed"],
              "mixed_ratio_to_bare_calls": rate["ours_mixed"] / rate["bare_calls"]}
    print(f"[pricing] {where}; N={N:,}; price+delta; medians of interleaved runs")
    print(f"  bare numpy, calls        : {rate['bare_calls'] / 1e6:6.2f} M options/s")
    print(f"  bare numpy, calls+puts   : {rate['bare_mixed'] / 1e6:6.2f} M options/s")
    print(f"  bsm_price_delta, calls   : {rate['ours_calls'] / 1e6:6.2f} M options/s "
          f"= {result['calls_ratio_to_bare']:.0%} of bare calls (goal >= 80%)")
    print(f"  bsm_price_delta, mixed   : {rate['ours_mixed'] / 1e6:6.2f} M options/s "
          f"= {result['mixed_ratio_to_bare_mixed']:.0%} of bare calls+puts, "
          f"{result['mixed_ratio_to_bare_calls']:.0%} of bare calls (goal >= 8 M/s)")
    return result


if __name__ == "__main__":
    main()
