"""Seed 003's routing table, with the verdict's direction, skew, size and gates, and a reason for every skip."""

from __future__ import annotations

import math

from core.strategy.routing import DIRECTIONAL, SHORT_VOL, RouteStep, RoutingRule, VerdictInputs, route
from core.structures import StructureKind as K


def verdict(regime="RANGE_BOUND", rsi=50.0, bias=0, bias_score=0.0, confidence=0.8, short_vol=True, naked=True):
    return VerdictInputs(regime, rsi, bias, bias_score, confidence, short_vol, naked)


def kinds(routing):
    return [r.structure for r in routing.routes]


def test_range_bound_tries_strangle_then_butterfly_then_condor():
    routing = route(verdict())
    assert kinds(routing) == [K.STRANGLE, K.BUTTERFLY, K.IRON_CONDOR]
    assert {r.style for r in routing.routes} == {SHORT_VOL}
    assert routing.skipped == ()


def test_mean_reversion_follows_the_rsi_conditions_and_leans_against_the_extreme():
    oversold = route(verdict("MEAN_REVERSION", rsi=25.0, bias=1, bias_score=0.6))
    assert kinds(oversold) == [K.RISK_REVERSAL, K.STRANGLE]
    assert oversold.routes[0].bullish and oversold.routes[0].style == DIRECTIONAL
    assert any("broken_wing_butterfly: RSI 25.0 not within 35-65" == s for s in oversold.skipped)
    overbought = route(verdict("MEAN_REVERSION", rsi=75.0))
    assert kinds(overbought)[0] is K.RISK_REVERSAL and not overbought.routes[0].bullish
    neutral = route(verdict("MEAN_REVERSION", rsi=50.0))
    assert kinds(neutral) == [K.BROKEN_WING_BUTTERFLY, K.STRANGLE]
    between = route(verdict("MEAN_REVERSION", rsi=32.0))      # neither extreme nor neutral: the fallback only
    assert kinds(between) == [K.STRANGLE]


def test_trend_takes_the_bias_side_and_a_bearish_bias_skips_the_jade_lizard():
    bull = route(verdict("TREND", bias=1, bias_score=0.7))
    assert kinds(bull) == [K.RISK_REVERSAL, K.JADE_LIZARD] and bull.routes[0].bullish
    bear = route(verdict("TREND", bias=-1, bias_score=-0.7))
    assert kinds(bear) == [K.RISK_REVERSAL] and not bear.routes[0].bullish
    assert "jade_lizard: a jade lizard is short a put: against a bearish bias" in bear.skipped
    flat = route(verdict("TREND", bias=0))
    assert kinds(flat) == [K.JADE_LIZARD]
    assert "risk_reversal: a neutral bias gives a risk reversal no side" in flat.skipped


def test_caution_only_ever_routes_the_jade_lizard():
    assert kinds(route(verdict("CAUTION", bias=1))) == [K.JADE_LIZARD]
    assert kinds(route(verdict("CAUTION", short_vol=False, naked=False))) == [K.JADE_LIZARD]


def test_the_volatility_gate_blocks_the_short_vol_structures_it_covers():
    routing = route(verdict(short_vol=False, naked=False))
    assert kinds(routing) == []
    assert "strangle: the volatility gate does not allow naked short volatility" in routing.skipped
    assert kinds(route(verdict(naked=False))) == [K.BUTTERFLY, K.IRON_CONDOR]


def test_skew_and_size_come_from_the_bias_and_confidence():
    routing = route(verdict(bias=-1, bias_score=-1.0, confidence=0.5), RoutingRule(max_delta_skew=0.05,
                                                                                    size_floor=0.25))
    first = routing.routes[0]
    assert math.isclose(first.skew, -0.05)
    assert math.isclose(first.size_fraction, 0.25 + 0.75 * 0.5)


def test_missing_verdicts_low_confidence_and_disabled_structures_say_why():
    assert route(verdict("NO_SIGNAL")).skipped == ("no route for regime NO_SIGNAL",)
    assert route(verdict("")).skipped == ("no route for regime missing",)
    low = route(verdict(confidence=0.1), RoutingRule(min_confidence=0.3))
    assert low.routes == () and low.skipped == ("confidence 0.10 below 0.3",)
    assert route(verdict(confidence=math.nan)).routes == ()
    only_condor = RoutingRule(enabled=frozenset({K.IRON_CONDOR}))
    routing = route(verdict(), only_condor)
    assert kinds(routing) == [K.IRON_CONDOR]
    assert "strangle: not enabled" in routing.skipped and "butterfly: not enabled" in routing.skipped


def test_a_configured_table_replaces_the_seed_one():
    table = {"RANGE_BOUND": (RouteStep(K.IRON_CONDOR), RouteStep(K.STRANGLE, rsi_within=(40.0, 60.0)))}
    assert kinds(route(verdict(rsi=55.0), RoutingRule(table=table))) == [K.IRON_CONDOR, K.STRANGLE]
    assert kinds(route(verdict(rsi=65.0), RoutingRule(table=table))) == [K.IRON_CONDOR]
    assert route(verdict("TREND"), RoutingRule(table=table)).skipped == ("no route for regime TREND",)
