"""CreditMaximizer: the credit spread that best offsets a debit spread's cost (seed 001).

Searches every (short, long) pair of the same right in the chain at once (numpy matrices):
a put credit spread sells the higher strike, a call credit spread the lower, and the option
sold is out of the money (a put below the underlying, a call above it: otherwise "most
credit" would pick deep in-the-money spreads whose credit is nearly all risk). A pair qualifies
when both quotes are tradable (short bid > 0, long ask > 0, not crossed), its width is at most
`max_spread_width`, it shares no contract with the debit spread, and the net of the whole
two-part position (credit received at the natural prices minus the debit paid) is at least
`min_credit_threshold` per share ("0.0 accepts break-even"). The best is the largest credit;
with `prefer_atm`, among pairs within `ATM_TOLERANCE` of that credit, the one whose short strike
is nearest the underlying (ATM contracts are the liquid ones).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from core.errors import InvalidFieldError

ATM_TOLERANCE = 0.10


class SpreadLeg(NamedTuple):
    """One option with its quote: `right` 'C'/'P', prices per share."""

    right: str
    strike: float
    bid: float
    ask: float


class OptionChain(NamedTuple):
    """Quotes of one expiry as arrays (one entry per contract)."""

    strikes: np.ndarray
    is_call: np.ndarray
    bid: np.ndarray
    ask: np.ndarray


def debit_cost(debit_opportunity: tuple[SpreadLeg, SpreadLeg]) -> float:
    """What the debit spread costs at the natural prices: long ask minus short bid."""
    long_leg, short_leg = debit_opportunity
    return long_leg.ask - short_leg.bid


class CreditMaximizer:
    def __init__(self, min_credit_threshold: float = 0.0, max_spread_width: float = 10.0, prefer_atm: bool = True) -> None:
        if min_credit_threshold < 0:
            raise InvalidFieldError("min_credit_threshold", f"must be >= 0, got {min_credit_threshold!r}")
        if max_spread_width <= 0:
            raise InvalidFieldError("max_spread_width", f"must be > 0, got {max_spread_width!r}")
        self.min_credit_threshold = min_credit_threshold
        self.max_spread_width = max_spread_width
        self.prefer_atm = prefer_atm

    def find_best_credit_spread(self, debit_opportunity: tuple[SpreadLeg, SpreadLeg], available_options: OptionChain,
                                underlying_price: float) -> tuple[SpreadLeg, SpreadLeg, float] | None:
        """(credit_long, credit_short, credit per share), or None when no pair qualifies."""
        used = {(leg.right, float(leg.strike)) for leg in debit_opportunity}
        return self.find_credit_spread(available_options, underlying_price,
                                       debit_cost(debit_opportunity) + self.min_credit_threshold, used)

    def find_credit_spread(self, available_options: OptionChain, underlying_price: float, needed_credit: float,
                           exclude: set[tuple[str, float]] = frozenset()) -> tuple[SpreadLeg, SpreadLeg, float] | None:
        """The best credit spread paying at least `needed_credit` per share, avoiding `exclude` contracts."""
        best = None
        for right in ("P", "C"):
            found = self._best_of_right(available_options, right, exclude, needed_credit, underlying_price)
            if found is not None and (best is None or self._better(found, best, underlying_price)):
                best = found
        return best

    def _best_of_right(self, chain: OptionChain, right: str, used: set, needed_credit: float, spot: float):
        mask = np.asarray(chain.is_call) == (right == "C")
        strikes, bid, ask = (np.asarray(a, dtype=np.float64)[mask] for a in (chain.strikes, chain.bid, chain.ask))
        with np.errstate(invalid="ignore"):
            quoted = np.isfinite(bid) & np.isfinite(ask) & (ask >= bid)
            free = ~np.isin(strikes, [k for r, k in used if r == right])
            out_of_money = strikes < spot if right == "P" else strikes > spot
            short_ok = quoted & free & (bid > 0) & out_of_money
            long_ok = quoted & free & (ask > 0)
            credit = bid[:, None] - ask[None, :]                       # rows: short, columns: long
            farther = strikes[None, :] < strikes[:, None] if right == "P" else strikes[None, :] > strikes[:, None]
            width = np.abs(strikes[:, None] - strikes[None, :])
            valid = (short_ok[:, None] & long_ok[None, :] & farther & (width <= self.max_spread_width + 1e-9)
                     & (credit >= needed_credit - 1e-12) & (credit > 0))
        if not valid.any():
            return None
        scores = np.where(valid, credit, -np.inf)
        if self.prefer_atm:
            top = scores.max()
            near_top = valid & (credit >= top - ATM_TOLERANCE * abs(top))
            distance = np.where(near_top, np.abs(strikes[:, None] - spot), np.inf)
            short_i, long_i = np.unravel_index(np.argmin(distance + 1e-9 * width), distance.shape)
        else:
            short_i, long_i = np.unravel_index(np.argmax(scores - 1e-9 * width), scores.shape)
        return (SpreadLeg(right, float(strikes[long_i]), float(bid[long_i]), float(ask[long_i])),
                SpreadLeg(right, float(strikes[short_i]), float(bid[short_i]), float(ask[short_i])),
                round(float(credit[short_i, long_i]), 10))

    def _better(self, a, b, spot: float) -> bool:
        if not self.prefer_atm:
            return a[2] > b[2]
        if abs(a[2] - b[2]) > ATM_TOLERANCE * max(abs(a[2]), abs(b[2])):
            return a[2] > b[2]
        return abs(a[1].strike - spot) < abs(b[1].strike - spot)
