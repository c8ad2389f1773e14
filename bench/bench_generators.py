"""Structure proposals per second (issue 27's figure): the six generators (`core.strategy.generators`) on a
400-contract Black-Scholes chain (200 strikes, calls and puts, 30 days, a skewed vol), one pinned core. Printed:
the chain's view (implied vols and deltas of all 400 contracts, once per snapshot), each generator alone, and a
snapshot's whole round (the view plus all six), as medians of repeats. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import median_seconds, pin_one_core  # noqa: E402
from core.pricing.bsm import bsm_price_delta  # noqa: E402
from core.quotes import ChainQuotes  # noqa: E402
from core.strategy.generators import GENERATED_KINDS, Proposal, chain_view, propose  # noqa: E402

NOW_NS = 1_700_000_000 * 10**9
NS_PER_DAY = 86_400 * 10**9
RATE = 0.04


def chain_400(spot: float = 600.0) -> ChainQuotes:
    strikes = spot * 0.75 + np.arange(200) * spot * 0.0025
    all_strikes = np.concatenate([strikes, strikes])
    is_call = np.array([True] * 200 + [False] * 200)
    vol = 0.18 + 0.25 * np.maximum(1.0 - all_strikes / spot, 0.0)           # a put skew
    mid, _ = bsm_price_delta(is_call, spot, all_strikes, 30 / 365, RATE, 0.0, vol)
    bid, ask = np.round(np.maximum(mid - 0.03, 0.0), 2), np.round(mid + 0.03, 2)
    size = np.full(400, 10)
    return ChainQuotes("SPY", "2027-01-15", NOW_NS + 30 * NS_PER_DAY, NOW_NS, all_strikes, is_call, bid, ask, size,
                       size, 0.05, 0.10, spot)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200, help="calls a timed sample")
    args = parser.parse_args(argv if argv is not None else [])
    print(pin_one_core())
    chain = chain_400()
    view = chain_view(chain, NOW_NS, RATE)
    repeats = args.repeats
    per_view = median_seconds(lambda: [chain_view(chain, NOW_NS, RATE) for _ in range(repeats)]) / repeats
    print(f"chain view (IV and delta of 400 contracts): {per_view * 1e6:.0f} us a snapshot")
    total = 0.0
    for kind in GENERATED_KINDS:
        result = propose(kind, view)
        seconds = median_seconds(lambda: [propose(kind, view) for _ in range(repeats)]) / repeats
        total += seconds
        outcome = "proposed" if isinstance(result, Proposal) else f"none: {result.reasons[0]}"
        print(f"  {kind.value:<22} {seconds * 1e6:7.0f} us  {1 / seconds:9,.0f} proposals/s  ({outcome})")
    print(f"six structures on one view: {total * 1e6:.0f} us = {6 / total:,.0f} proposals/s; a snapshot's round "
          f"(view + six): {(total + per_view) * 1e6:.0f} us = {6 / (total + per_view):,.0f} proposals/s")


if __name__ == "__main__":
    main(sys.argv[1:])
