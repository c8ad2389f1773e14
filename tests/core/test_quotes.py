"""The scalar quote flag an order's legs use agrees with the vectorized one a chain uses."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from core.quotes import QuoteFlag, quote_flag, quote_flags

prices = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(0.0), st.just(-0.0),
                   st.sampled_from([0.01, 1.0, 1.05]))


@given(bid=prices, ask=prices)
def test_scalar_flag_equals_the_vectorized_flag(bid, ask):
    with np.errstate(all="ignore"):
        expected = int(quote_flags(np.array([bid]), np.array([ask]), 0, 0, 1)[0])
    assert quote_flag(bid, ask) == expected


def test_each_problem_is_named():
    assert [quote_flag(b, a) for b, a in [(1.0, 1.1), (0.0, 0.05), (1.2, 1.1), (-1.0, 1.0), (float("nan"), 1.0)]] == [
        QuoteFlag.OK, QuoteFlag.ZERO_BID, QuoteFlag.CROSSED, QuoteFlag.NEGATIVE, QuoteFlag.NOT_FINITE]
