"""Same-right strike pairs of a chain grid, found once per grid instead of once per snapshot.

The debit scan and the credit search both look at every (strike, strike) pair of one right
within a width limit. Which pairs exist depends only on the strike grid, which stays the same
for a whole session, so the pairs are computed once (memoized on the grid's bytes) and each
quote snapshot only gathers prices at those indices: a few hundred pairs instead of two
n x n matrices per right. The order of the pairs is the order a row-major scan of the n x n
matrix gives, so rankings that break ties by position are unchanged.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np


class GridPairs(NamedTuple):
    """Pairs as chain indices: `first` is the row of the scan (the long leg of a debit, the short
    leg of a credit), `second` the column; `width` is |strike difference|."""

    first: np.ndarray
    second: np.ndarray
    width: np.ndarray


def debit_pairs(strikes: np.ndarray, is_call: np.ndarray, max_width: float) -> GridPairs:
    """Debit verticals (calls first): long K1 and short K2 farther out of the money (K2 > K1 for
    calls, K2 < K1 for puts), width at most `max_width`."""
    return _grid_pairs(strikes, is_call, max_width, "debit")


def credit_pairs(strikes: np.ndarray, is_call: np.ndarray, max_width: float) -> GridPairs:
    """Credit verticals (puts first): short K1 and long K2 farther out of the money, width at most
    `max_width`."""
    return _grid_pairs(strikes, is_call, max_width, "credit")


def _grid_pairs(strikes: np.ndarray, is_call: np.ndarray, max_width: float, kind: str) -> GridPairs:
    return _cached(np.ascontiguousarray(strikes, np.float64).tobytes(),
                   np.ascontiguousarray(is_call, np.bool_).tobytes(), float(max_width), kind)


@lru_cache(maxsize=256)
def _cached(strikes_bytes: bytes, is_call_bytes: bytes, max_width: float, kind: str) -> GridPairs:
    strikes = np.frombuffer(strikes_bytes, dtype=np.float64)
    is_call = np.frombuffer(is_call_bytes, dtype=np.bool_)
    rights = ("C", "P") if kind == "debit" else ("P", "C")
    parts = [_pairs_of_right(strikes, is_call, right, max_width) for right in rights]
    pairs = GridPairs(*(np.concatenate([part[i] for part in parts]) for i in range(3)))
    for array in pairs:
        array.setflags(write=False)
    return pairs


def _pairs_of_right(strikes: np.ndarray, is_call: np.ndarray, right: str, max_width: float):
    index = np.flatnonzero(is_call == (right == "C"))
    own = strikes[index]
    farther = own[None, :] > own[:, None] if right == "C" else own[None, :] < own[:, None]
    width = np.abs(own[None, :] - own[:, None])
    rows, cols = np.nonzero(farther & (width <= max_width + 1e-9))
    return index[rows], index[cols], width[rows, cols]
