from datetime import date

import numpy as np
import pytest

from core.legs import OptionType, Side
from core.payoff import expiry_value_per_share, payoff_profile, pnl_at_expiry_per_share
from core.structures import butterfly, iron_butterfly, iron_condor, jade_lizard, risk_reversal, strangle, vertical

EXP = date(2026, 12, 18)
C, P = OptionType.CALL, OptionType.PUT
INF = float("inf")


@pytest.mark.parametrize("structure, cost, max_profit, max_loss, breakevens", [
    (vertical(C, 100, 105, EXP), 2.0, 3.0, 2.0, (102.0,)),
    (vertical(P, 95, 100, EXP), -1.5, 1.5, 3.5, (98.5,)),                      # bull put credit spread
    (butterfly(C, 95, 100, 105, EXP), 1.0, 4.0, 1.0, (96.0, 104.0)),
    (butterfly(C, 95, 100, 105, EXP, side=Side.SHORT), -1.0, 1.0, 4.0, (96.0, 104.0)),
    (butterfly(P, 90, 100, 105, EXP), 0.5, 4.5, 5.5, (95.5, 104.5)),           # broken-wing put fly
    (iron_butterfly(90, 100, 110, EXP), -6.0, 6.0, 4.0, (94.0, 106.0)),
    (iron_condor(85, 90, 110, 115, EXP), -1.2, 1.2, 3.8, (88.8, 111.2)),
    (strangle(90, 110, EXP), -3.0, 3.0, INF, (87.0, 113.0)),
    (strangle(90, 110, EXP, side=Side.LONG), 3.0, INF, 3.0, (87.0, 113.0)),
    (risk_reversal(90, 110, EXP), 0.0, INF, 90.0, (90.0, 110.0)),
    (jade_lizard(90, 105, 110, EXP), -2.0, 2.0, 88.0, (88.0, 107.0)),       # credit < call width: upside risk
])
def test_profile_of_every_structure(structure, cost, max_profit, max_loss, breakevens):
    profile = payoff_profile(structure, cost)
    assert profile.max_profit_per_share == pytest.approx(max_profit)
    assert profile.max_loss_per_share == pytest.approx(max_loss)
    assert profile.breakevens == pytest.approx(breakevens)
    assert np.allclose(pnl_at_expiry_per_share(structure, np.array(profile.breakevens), cost), 0.0)


def test_payoff_scales_with_quantity_and_is_vectorized():
    fly = butterfly(C, 95, 100, 105, EXP, quantity=3)
    values = expiry_value_per_share(fly, np.array([90.0, 97.5, 100.0, 102.0, 120.0]))
    np.testing.assert_allclose(values, [0.0, 7.5, 15.0, 9.0, 0.0])
