"""CreditMaximizer: the credit spread that best offsets a debit spread's cost (seed 001).

Searches every (short, long) pair of the same right in the chain at once (the grid's pairs, `core.execution.pairs`):
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
from core.execution.kernels import best_credit, paying_credit_pairs, pick_credit
from core.execution.pairs import credit_pairs

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


def chain_arrays(chain: OptionChain) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(strikes, is_call, bid, ask) as float64 and bool arrays, the kernels' types (no copy when they are already)."""
    strikes, bid, ask = (np.asarray(a, dtype=np.float64) for a in (chain.strikes, chain.bid, chain.ask))
    return strikes, np.asarray(chain.is_call, dtype=np.bool_), bid, ask


def chain_leg(strikes: np.ndarray, is_call: np.ndarray, bid: np.ndarray, ask: np.ndarray, i: int) -> SpreadLeg:
    """Contract `i` of a chain's arrays, with its quote as Python floats."""
    return SpreadLeg("C" if is_call[i] else "P", strikes.item(i), bid.item(i), ask.item(i))


def credit_spread(arrays: tuple[np.ndarray, ...], short: int, long: int,
                  credit_per_share: float) -> tuple[SpreadLeg, SpreadLeg, float]:
    """The maximizer's answer for the pair selling chain index `short` and buying `long`:
    (credit long leg, credit short leg, credit per share). `arrays`: `chain_arrays`' four."""
    return chain_leg(*arrays, int(long)), chain_leg(*arrays, int(short)), round(float(credit_per_share), 10)


def debit_cost(debit_opportunity: tuple[SpreadLeg, SpreadLeg]) -> float:
    """What the debit spread costs at the natural prices: long ask minus short bid."""
    long_leg, short_leg = debit_opportunity
    return long_leg.ask - short_leg.bid


class CreditTable(NamedTuple):
    """Every qualifying OTM credit pair of one chain snapshot (both rights): chain indices of the
    option sold and the option bought, with the chain's arrays (float64, bool)."""

    strikes: np.ndarray
    is_call: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    short: np.ndarray            # chain index of the option sold
    long: np.ndarray             # chain index of the option bought
    credit: np.ndarray           # short bid - long ask, per share
    width: np.ndarray


class CreditMaximizer:
    def __init__(
        self, min_credit_threshold: float = 0.0, max_spread_width: float = 10.0, prefer_atm: bool = True
    ) -> None:
        if min_credit_threshold < 0:
            raise InvalidFieldError("min_credit_threshold", f"must be >= 0, got {min_credit_threshold!r}")
        if max_spread_width <= 0:
            raise InvalidFieldError("max_spread_width", f"must be > 0, got {max_spread_width!r}")
        self.min_credit_threshold = min_credit_threshold
        self.max_spread_width = max_spread_width
        self.prefer_atm = prefer_atm
        self._last_table: tuple[OptionChain, float, float, CreditTable] | None = None

    def find_best_credit_spread(self, debit_opportunity: tuple[SpreadLeg, SpreadLeg], available_options: OptionChain,
                                underlying_price: float) -> tuple[SpreadLeg, SpreadLeg, float] | None:
        """(credit_long, credit_short, credit per share), or None when no pair qualifies."""
        return self.best_for_debit(self.credit_table(available_options, underlying_price), debit_opportunity,
                                   underlying_price)

    def find_credit_spread(self, available_options: OptionChain, underlying_price: float, needed_credit: float,
                           exclude: set[tuple[str, float]] = frozenset()) -> tuple[SpreadLeg, SpreadLeg, float] | None:
        """The best credit spread paying at least `needed_credit` per share, avoiding `exclude` contracts.

        With nothing to exclude (a trader's credit for an imbalance), the stock maximizer searches in one
        compiled call (`kernels.best_credit`) without tabulating: a snapshot is rarely asked twice. A
        subclass goes through its own `credit_table` and `best`."""
        if not exclude and type(self) is CreditMaximizer:
            return self._compiled_credit(available_options, float(underlying_price), float(needed_credit))
        return self.best(self.credit_table(available_options, underlying_price), underlying_price, needed_credit,
                         exclude)

    def _compiled_credit(self, chain: OptionChain, spot: float, needed_credit: float):
        arrays = strikes, is_call, bid, ask = chain_arrays(chain)
        pairs = credit_pairs(strikes, is_call, self.max_spread_width)
        position, credit = best_credit(strikes, is_call, bid, ask, pairs.first, pairs.second, pairs.width, spot,
                                       needed_credit, bool(self.prefer_atm), ATM_TOLERANCE)
        if position < 0:
            return None
        return credit_spread(arrays, pairs.first[position], pairs.second[position], credit)

    def best_for_debit(self, table: CreditTable, debit_opportunity: tuple[SpreadLeg, SpreadLeg],
                       underlying_price: float) -> tuple[SpreadLeg, SpreadLeg, float] | None:
        """Like find_best_credit_spread, from a table built once per chain snapshot."""
        used = {(leg.right, float(leg.strike)) for leg in debit_opportunity}
        return self.best(table, underlying_price, debit_cost(debit_opportunity) + self.min_credit_threshold, used)

    def credit_table(self, chain: OptionChain, spot: float) -> CreditTable:
        """All OTM credit pairs within the width limit that pay something, for both rights. The last
        table is kept: the seed's `find_best_credit_spread` is asked for several debits of one snapshot
        (a replaced maximizer's plan offers up to `tries`; the stock plan and credit search, compiled,
        build none) and the chain is held, so `is` cannot match a new chain at a reused address.
        `max_spread_width` is part of the key: an optimizer may change it between two asks."""
        last = self._last_table
        if last is not None and last[0] is chain and last[1] == spot and last[2] == self.max_spread_width:
            return last[3]
        table = self._build_table(chain, spot)
        self._last_table = (chain, spot, self.max_spread_width, table)
        return table

    def _build_table(self, chain: OptionChain, spot: float) -> CreditTable:
        strikes, is_call, bid, ask = chain_arrays(chain)
        pairs = credit_pairs(strikes, is_call, self.max_spread_width)
        rows, credit = paying_credit_pairs(strikes, is_call, bid, ask, pairs.first, pairs.second, float(spot))
        return CreditTable(strikes, is_call, bid, ask, pairs.first[rows], pairs.second[rows], credit, pairs.width[rows])

    def best(self, table: CreditTable, spot: float, needed_credit: float,
             exclude: set[tuple[str, float]] = frozenset()) -> tuple[SpreadLeg, SpreadLeg, float] | None:
        excluded_is_call = np.array([right == "C" for right, _ in exclude], dtype=np.bool_)
        excluded_strike = np.array([strike for _, strike in exclude], dtype=np.float64)
        pick = pick_credit(
            table.strikes,
            table.is_call,
            table.short,
            table.long,
            table.credit,
            table.width,
            float(spot),
            float(needed_credit),
            excluded_is_call,
            excluded_strike,
            bool(self.prefer_atm),
            ATM_TOLERANCE,
        )
        if pick < 0:
            return None
        return credit_spread((table.strikes, table.is_call, table.bid, table.ask), table.short[pick], table.long[pick],
                             table.credit[pick])
