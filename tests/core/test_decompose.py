from collections import Counter
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidStructureError
from core.legs import OptionType, Side
from core.payoff import expiry_value_per_share
from core.structures import StructureKind, butterfly, decompose_butterfly, iron_butterfly, vertical

EXP = date(2026, 12, 18)


def signed_positions(structures):
    total = Counter()
    for structure in structures:
        for leg in structure.legs:
            total[leg.contract_key()] += leg.signed_quantity
    return {k: q for k, q in total.items() if q}


@st.composite
def flies(draw):
    lower = draw(st.integers(10, 500)) * 0.5
    lower_width = draw(st.integers(1, 40)) * 0.5
    upper_width = draw(st.integers(1, 40)) * 0.5
    quantity = draw(st.integers(1, 50))
    side = draw(st.sampled_from(list(Side)))
    if draw(st.booleans()):
        return iron_butterfly(lower, lower + lower_width, lower + lower_width + upper_width, EXP, quantity, side)
    option_type = draw(st.sampled_from(list(OptionType)))
    return butterfly(option_type, lower, lower + lower_width, lower + lower_width + upper_width, EXP, quantity, side)


@settings(max_examples=300, deadline=None)
@given(fly=flies())
def test_two_verticals_sum_to_the_fly_and_pay_the_same(fly):
    a, b = decompose_butterfly(fly)
    assert a.kind is StructureKind.VERTICAL and b.kind is StructureKind.VERTICAL
    assert signed_positions([a, b]) == signed_positions([fly])
    strikes = np.array(fly.strikes)
    prices = np.concatenate([np.linspace(0.0, strikes.max() * 2, 2001), strikes, strikes + 1e-3, strikes - 1e-3])
    together = expiry_value_per_share(a, prices) + expiry_value_per_share(b, prices)
    np.testing.assert_allclose(together, expiry_value_per_share(fly, prices), rtol=0, atol=1e-9)


def test_call_fly_splits_as_the_seed_describes():
    a, b = decompose_butterfly(butterfly(OptionType.CALL, 95, 100, 105, EXP, quantity=2))
    assert [(l.strike, l.signed_quantity) for l in a.legs] == [(95, 2), (100, -2)]
    assert [(l.strike, l.signed_quantity) for l in b.legs] == [(100, -2), (105, 2)]


def test_iron_fly_splits_into_put_and_call_verticals():
    a, b = decompose_butterfly(iron_butterfly(90, 100, 110, EXP))
    assert {l.option_type for l in a.legs} == {OptionType.PUT}
    assert {l.option_type for l in b.legs} == {OptionType.CALL}


def test_non_butterflies_are_refused():
    with pytest.raises(InvalidStructureError, match="cannot decompose a vertical"):
        decompose_butterfly(vertical(OptionType.CALL, 100, 105, EXP))
    with pytest.raises(InvalidStructureError):
        decompose_butterfly("a fly")
