"""The compiled two-part plan equals the plan composed from the brute-force references: the best
debit verticals in rank order, each offered to the credit search with its contracts excluded and its
cost plus the threshold as the credit needed, the first one offset taken."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.execution.credit import CreditMaximizer, OptionChain
from core.execution.plan import plan_two_part
from tests.core.execution.test_credit_phases import chain as skewed_chain
from tests.core.execution.test_pairs import chains, reference_credit, reference_debits


def reference_plan(chain, spot, debit_max_width, credit_max_width, threshold, prefer_atm, tries):
    for long_leg, short_leg, cost, ratio in reference_debits(chain, spot, debit_max_width, 0.06, tries):
        exclude = {(long_leg.right, long_leg.strike), (short_leg.right, short_leg.strike)}
        credit = reference_credit(chain, spot, credit_max_width, (long_leg.ask - short_leg.bid) + threshold, exclude,
                                  prefer_atm)
        if credit is not None:
            return (long_leg, short_leg, cost, ratio), credit
    return None


@st.composite
def priced_chains(draw):
    """Both rights on a 2.5-wide grid around 100, priced as intrinsic value plus a time value that
    shrinks away from the money, puts with a skew (so that OTM put credit spreads can pay for a debit
    spread), on a 0.05 tick (so ties are common), a few quotes broken."""
    strikes = np.arange(90.0, 110.01, 2.5)
    n = strikes.size
    time_value = draw(st.sampled_from([1.0, 2.5, 4.0])) * np.exp(-np.abs(strikes - 100.0) / 6.0)
    skew = 1.0 + draw(st.sampled_from([0.0, 1.0, 3.0])) * np.maximum(100.0 - strikes, 0) / 5.0
    noise = np.array(draw(st.lists(st.sampled_from([-0.1, -0.05, 0.0, 0.05, 0.1]), min_size=2 * n, max_size=2 * n)))
    value = np.concatenate([np.maximum(strikes - 100.0, 0) + time_value * skew,     # puts, then calls
                            np.maximum(100.0 - strikes, 0) + time_value])
    bid = np.maximum(np.round((value + noise) / 0.05) * 0.05, 0.0)
    ask = bid + np.array(draw(st.lists(st.sampled_from([0.05, 0.1, 0.2]), min_size=2 * n, max_size=2 * n)))
    for i in draw(st.lists(st.integers(0, 2 * n - 1), max_size=2)):
        bid[i] = draw(st.sampled_from([np.nan, 0.0, ask[i] + 0.1]))
    return OptionChain(np.tile(strikes, 2), np.array([False] * n + [True] * n), bid, ask)


@settings(max_examples=400, deadline=None)
@given(
    chain=st.one_of(chains(), priced_chains()),
    spot=st.sampled_from([95.0, 100.0, 101.0]),
    debit_width=st.sampled_from([2.5, 5.0, 10.0]),
    credit_width=st.sampled_from([2.5, 10.0]),
    threshold=st.sampled_from([0.0, 0.05, 1.0]),
    prefer_atm=st.booleans(),
    tries=st.integers(1, 5),
)
def test_the_compiled_plan_equals_the_composed_references(chain, spot, debit_width, credit_width, threshold,
                                                          prefer_atm, tries):
    maximizer = CreditMaximizer(min_credit_threshold=threshold, max_spread_width=credit_width, prefer_atm=prefer_atm)
    plan = plan_two_part(chain, spot, maximizer, debit_width, max_distance_fraction=0.06, tries=tries)
    expected = reference_plan(chain, spot, debit_width, credit_width, threshold, prefer_atm, tries)
    assert (None if plan is None else (tuple(plan.debit), plan.credit)) == expected


@settings(max_examples=300, deadline=None)
@given(chain=st.one_of(chains(), priced_chains()), spot=st.sampled_from([95.0, 100.0, 101.0]),
       max_width=st.sampled_from([2.5, 5.0, 10.0]), needed=st.sampled_from([0.0, 0.05, 0.5, 2.0]),
       prefer_atm=st.booleans())
def test_the_compiled_credit_search_equals_the_brute_force_search(chain, spot, max_width, needed, prefer_atm):
    """find_credit_spread with nothing excluded (a trader's credit for an imbalance) is one compiled
    call that tabulates nothing: the same pick as the brute-force search."""
    maximizer = CreditMaximizer(max_spread_width=max_width, prefer_atm=prefer_atm)
    assert maximizer.find_credit_spread(chain, spot, needed) == reference_credit(chain, spot, max_width, needed,
                                                                                 set(), prefer_atm)
    assert maximizer._last_table is None


class RefusingMaximizer(CreditMaximizer):
    """A user's replacement (the seed lets one swap the maximizer) that offsets nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = []

    def find_best_credit_spread(self, debit_opportunity, available_options, underlying_price):
        self.asked.append(debit_opportunity)
        return None


def test_a_replaced_maximizer_is_asked_through_its_own_method():
    chain = skewed_chain()
    assert plan_two_part(chain, 100.0, CreditMaximizer(), 10.0, max_distance_fraction=0.06) is not None
    replaced = RefusingMaximizer()
    assert plan_two_part(chain, 100.0, replaced, 10.0, max_distance_fraction=0.06, tries=3) is None
    assert len(replaced.asked) == 3               # the three best debits, each offered in turn


def test_the_warm_up_covers_the_read_only_arrays_ray_delivers():
    """Ray hands an actor read-only arrays; a kind of array the warm-up missed would be compiled on the
    session's first quote, in the order path."""
    from core.execution import kernels

    kernels.warm_up()
    compiled = {name: len(getattr(kernels, name).signatures)
                for name in ("debit_ratios", "paying_credit_pairs", "pick_credit", "plan_spread", "best_credit")}
    chain = skewed_chain()
    for array in chain:
        array.setflags(write=False)
    maximizer = CreditMaximizer()
    assert plan_two_part(chain, 100.0, maximizer, 10.0, max_distance_fraction=0.06) is not None
    assert maximizer.find_credit_spread(chain, 100.0, 0.0) is not None
    from core.execution.opportunities import scan_opportunities
    assert scan_opportunities(chain, 100.0, max_distance_fraction=0.06)
    assert {name: len(getattr(kernels, name).signatures) for name in compiled} == compiled
