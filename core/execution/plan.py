"""The two-part plan of one chain snapshot: the best debit vertical that a credit vertical offsets.

What an ExpirationTrader decides on each snapshot it trades on (seed 001): rank the debit
verticals (`core.execution.opportunities`), then offer the best ones in turn, at most `tries`, to
the CreditMaximizer (`find_best_credit_spread`: a credit spread paying at least the debit's cost
plus `min_credit_threshold`, sharing no contract with it) and take the first that is offset.

`plan_two_part` runs those steps as one compiled call (`core.execution.kernels.plan_spread`)
when the maximizer is the stock `CreditMaximizer`; composed from the separate steps it cost about
three times as much per snapshot, most of it Python and numpy call overhead. A replaced maximizer
(a subclass: the seed lets a user swap it) is asked through its own `find_best_credit_spread`.
"""

from __future__ import annotations

from itertools import islice
from typing import NamedTuple

from core.execution.credit import (
    ATM_TOLERANCE,
    CreditMaximizer,
    OptionChain,
    SpreadLeg,
    chain_arrays,
    chain_leg,
    credit_spread,
)
from core.execution.kernels import plan_spread
from core.execution.opportunities import DebitOpportunity, ranked_debits
from core.execution.pairs import credit_pairs, debit_pairs


class TwoPartPlan(NamedTuple):
    debit: DebitOpportunity
    credit: tuple[SpreadLeg, SpreadLeg, float]      # (credit long leg, credit short leg, credit per share)


def plan_two_part(chain: OptionChain, spot: float, maximizer: CreditMaximizer, debit_max_width: float,
                  max_distance_fraction: float = 0.03, tries: int = 5) -> TwoPartPlan | None:
    """The plan, or None when none of the best `tries` debit verticals can be offset."""
    if type(maximizer) is not CreditMaximizer:
        return _composed_plan(chain, spot, maximizer, debit_max_width, max_distance_fraction, tries)
    strikes, is_call, bid, ask = chain_arrays(chain)
    arrays = strikes, is_call, bid, ask
    debits = debit_pairs(strikes, is_call, debit_max_width)
    credits = credit_pairs(strikes, is_call, maximizer.max_spread_width)
    k, cost, ratio, row, credit = plan_spread(
        strikes, is_call, bid, ask, debits.first, debits.second, debits.width, credits.first, credits.second,
        credits.width, float(spot), float(max_distance_fraction), float(maximizer.min_credit_threshold),
        bool(maximizer.prefer_atm), ATM_TOLERANCE, int(tries))
    if k < 0:
        return None
    debit = DebitOpportunity(chain_leg(*arrays, int(debits.first[k])), chain_leg(*arrays, int(debits.second[k])),
                             round(float(cost), 10), float(ratio))
    return TwoPartPlan(debit, credit_spread(arrays, credits.first[row], credits.second[row], credit))


def _composed_plan(chain: OptionChain, spot: float, maximizer, debit_max_width: float,
                   max_distance_fraction: float, tries: int) -> TwoPartPlan | None:
    for debit in islice(ranked_debits(chain, spot, debit_max_width, max_distance_fraction), tries):
        credit = maximizer.find_best_credit_spread((debit.long_leg, debit.short_leg), chain, spot)
        if credit is not None:
            return TwoPartPlan(debit, credit)
    return None
