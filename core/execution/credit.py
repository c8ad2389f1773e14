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


class CreditTable(NamedTuple):
    """Every qualifying OTM credit pair of one chain snapshot (both rights), as parallel arrays."""

    right: np.ndarray            # 'P' or 'C'
    short_strike: np.ndarray
    long_strike: np.ndarray
    short_bid: np.ndarray
    short_ask: np.ndarray
    long_bid: np.ndarray
    long_ask: np.ndarray
    credit: np.ndarray           # short bid - long ask, per share
    width: np.ndarray


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
        return self.best_for_debit(self.credit_table(available_options, underlying_price), debit_opportunity,
                                   underlying_price)

    def find_credit_spread(self, available_options: OptionChain, underlying_price: float, needed_credit: float,
                           exclude: set[tuple[str, float]] = frozenset()) -> tuple[SpreadLeg, SpreadLeg, float] | None:
        """The best credit spread paying at least `needed_credit` per share, avoiding `exclude` contracts."""
        return self.best(self.credit_table(available_options, underlying_price), underlying_price, needed_credit,
                         exclude)

    def best_for_debit(self, table: CreditTable, debit_opportunity: tuple[SpreadLeg, SpreadLeg],
                       underlying_price: float) -> tuple[SpreadLeg, SpreadLeg, float] | None:
        """Like find_best_credit_spread, from a table built once per chain snapshot."""
        used = {(leg.right, float(leg.strike)) for leg in debit_opportunity}
        return self.best(table, underlying_price, debit_cost(debit_opportunity) + self.min_credit_threshold, used)

    def credit_table(self, chain: OptionChain, spot: float) -> CreditTable:
        """All OTM credit pairs within the width limit that pay something, for both rights."""
        parts = [self._pairs(chain, right, spot) for right in ("P", "C")]
        return CreditTable(*(np.concatenate([p[i] for p in parts]) for i in range(len(CreditTable._fields))))

    def _pairs(self, chain: OptionChain, right: str, spot: float) -> tuple[np.ndarray, ...]:
        mask = np.asarray(chain.is_call) == (right == "C")
        strikes, bid, ask = (np.asarray(a, dtype=np.float64)[mask] for a in (chain.strikes, chain.bid, chain.ask))
        with np.errstate(invalid="ignore"):
            quoted = np.isfinite(bid) & np.isfinite(ask) & (ask >= bid)
            out_of_money = strikes < spot if right == "P" else strikes > spot
            credit = bid[:, None] - ask[None, :]                       # rows: short, columns: long
            farther = strikes[None, :] < strikes[:, None] if right == "P" else strikes[None, :] > strikes[:, None]
            width = np.abs(strikes[:, None] - strikes[None, :])
            valid = ((quoted & (bid > 0) & out_of_money)[:, None] & (quoted & (ask > 0))[None, :] & farther
                     & (width <= self.max_spread_width + 1e-9) & (credit > 0))
        rows, cols = np.nonzero(valid)
        return (np.full(rows.size, right), strikes[rows], strikes[cols], bid[rows], ask[rows], bid[cols], ask[cols],
                credit[rows, cols], width[rows, cols])

    def best(self, table: CreditTable, spot: float, needed_credit: float,
             exclude: set[tuple[str, float]] = frozenset()) -> tuple[SpreadLeg, SpreadLeg, float] | None:
        ok = table.credit >= needed_credit - 1e-12
        for right, strike in exclude:
            ok &= ~((table.right == right) & ((table.short_strike == strike) | (table.long_strike == strike)))
        if not ok.any():
            return None
        candidates = np.flatnonzero(ok)
        credit = table.credit[candidates]
        if self.prefer_atm:
            near_top = credit >= credit.max() - ATM_TOLERANCE * abs(credit.max())
            distance = np.where(near_top, np.abs(table.short_strike[candidates] - spot), np.inf)
            pick = candidates[np.lexsort((table.width[candidates], -credit, distance))[0]]
        else:
            pick = candidates[np.lexsort((table.width[candidates], -credit))[0]]
        right = str(table.right[pick])
        return (SpreadLeg(right, float(table.long_strike[pick]), float(table.long_bid[pick]), float(table.long_ask[pick])),
                SpreadLeg(right, float(table.short_strike[pick]), float(table.short_bid[pick]),
                          float(table.short_ask[pick])),
                round(float(table.credit[pick]), 10))
