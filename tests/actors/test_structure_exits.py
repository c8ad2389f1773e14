"""The exit router beyond butterflies (issue 27): an iron condor closes as its two verticals, a strangle and a
risk reversal as two single legs, a jade lizard as its put and its call vertical, with the router's guards and
fallbacks, against the simulated exchange on the inline runtime."""

from __future__ import annotations

import pytest

from config.router import FallbackAction, RouterRiskConfig, RoutingPreferences
from core.exits.butterfly import ButterflyPosition, InvalidExitError, MarketData, plan_exit
from core.legs import Leg
from tests.actors.test_butterfly_router import EXPIRY, NO_RESTING_FILLS, QUOTES, T0, run_exit

WIDE = {**QUOTES}


def position(legs, entry, name="structure-1"):
    return ButterflyPosition(name, "SPY", tuple(Leg.make(r, k, EXPIRY, side, q) for r, k, side, q in legs), entry, T0)


CONDOR = position([("P", 95.0, "long", 2), ("P", 100.0, "short", 2), ("C", 100.0, "short", 2),
                   ("C", 105.0, "long", 2)], -3.0)
STRANGLE = position([("P", 95.0, "short", 1), ("C", 105.0, "short", 1)], -1.9)
RISK_REVERSAL = position([("P", 95.0, "short", 1), ("C", 105.0, "long", 1)], 0.1)
JADE_LIZARD = position([("P", 95.0, "short", 1), ("C", 100.0, "short", 1), ("C", 105.0, "long", 1)], -2.8)


@pytest.mark.parametrize("held, groups", [
    (CONDOR, {(("P", 95.0, 1), ("P", 100.0, -1)), (("C", 100.0, -1), ("C", 105.0, 1))}),
    (STRANGLE, {(("P", 95.0, -1),), (("C", 105.0, -1),)}),
    (RISK_REVERSAL, {(("P", 95.0, -1),), (("C", 105.0, 1),)}),
    (JADE_LIZARD, {(("P", 95.0, -1),), (("C", 100.0, -1), ("C", 105.0, 1))}),
])
def test_each_structure_is_planned_as_two_parts_whose_legs_sum_to_it(held, groups):
    first, second = plan_exit(held, MarketData(QUOTES, 100.0))
    as_held = {tuple((r, k, q if o.side == "SELL" else -q) for r, k, q in o.legs) for o in (first, second)}
    assert as_held == groups
    assert abs(first.value_per_share) >= abs(second.value_per_share)
    assert first.mid_per_share > 0 and second.mid_per_share > 0


@pytest.mark.parametrize("held", [CONDOR, STRANGLE, RISK_REVERSAL, JADE_LIZARD], ids=lambda p: str(len(p.legs)))
def test_each_structure_closes_whole_against_the_exchange(held):
    result = run_exit(held)
    assert result.closed, result
    units = abs(held.legs[0].signed_quantity)
    for part in ("vertical_1", "vertical_2"):
        assert sum(f.quantity for f in result.fills if f.part == part) == units
    assert result.realized_pnl_usd == pytest.approx((result.exit_credit_per_share - held.net_debit_per_share)
                                                   * 100 * units)


def test_a_strangle_whose_second_leg_cannot_trade_goes_through_the_fallbacks_and_says_what_is_left_open():
    risk = RouterRiskConfig(max_partial_exposure_ms=100, routing=RoutingPreferences(
        first_order_timeout_ms=200, fallbacks=(FallbackAction.REPRICE_AGGRESSIVE, FallbackAction.CLOSE_SHORT_LEG)))
    sizes = {key: 50 for key in QUOTES} | {("P", 95.0): 0}           # nobody sells the 95 put back to us
    result = run_exit(STRANGLE, risk, fills=NO_RESTING_FILLS, sizes=sizes)
    assert [f.part for f in result.fills] == ["vertical_1"]          # the call (worth more) bought back first
    assert result.fills[0].quantity == 1
    assert not result.closed and result.path == "fallback"
    assert "did not fill" in result.reason                           # the short put left open is said


def test_a_condor_whose_first_vertical_cannot_trade_is_missed_with_nothing_exposed():
    sizes = {key: 50 for key in QUOTES} | {("P", 100.0): 0, ("P", 95.0): 0, ("C", 100.0): 0, ("C", 105.0): 0}
    risk = RouterRiskConfig(max_partial_exposure_ms=100, routing=RoutingPreferences(first_order_timeout_ms=200))
    result = run_exit(CONDOR, risk, fills=NO_RESTING_FILLS, sizes=sizes)
    assert result.path == "missed" and not result.fills and result.partial_exposure_ms == 0


def test_a_plain_vertical_or_a_lone_leg_is_refused_with_the_field():
    vertical = position([("C", 100.0, "long", 1), ("C", 105.0, "short", 1)], 2.0)
    with pytest.raises(InvalidExitError, match="position.legs"):
        plan_exit(vertical, MarketData(QUOTES, 100.0))
