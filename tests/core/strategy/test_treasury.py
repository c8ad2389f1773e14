"""Sizing: every budget and scale binds in turn, and zero units say which."""

from __future__ import annotations

import math

import pytest

from core.strategy.treasury import TreasuryRule, size_units

RULE = TreasuryRule(capital_usd=100_000.0, max_margin_fraction=0.5, default_allocation=0.2, max_units=50,
                    target_vol=0.16, max_vol_scale=1.5, correlation=0.7)


def test_the_structures_allocation_binds_first():
    sizing = size_units("iron_condor", 1_000.0, 1.0, 0.0, 0.0, 0.16, 0, RULE)
    assert sizing.units == 20 and sizing.scale == pytest.approx(1.0)            # 20% of 100k / 1k


def test_confidence_volatility_and_correlation_scale_the_budget():
    assert size_units("iron_condor", 1_000.0, 0.5, 0.0, 0.0, 0.16, 0, RULE).units == 10
    assert size_units("iron_condor", 1_000.0, 1.0, 0.0, 0.0, 0.32, 0, RULE).units == 10      # vol twice the target
    assert size_units("iron_condor", 1_000.0, 1.0, 0.0, 0.0, 0.01, 0, RULE).units == 20      # never past the budget
    assert size_units("iron_condor", 1_000.0, 0.5, 0.0, 0.0, 0.08, 0, RULE).units == 15      # 0.5 x 2 capped 1.5
    assert size_units("iron_condor", 1_000.0, 1.0, 0.0, 0.0, math.nan, 0, RULE).units == 20  # unknown vol
    three = size_units("iron_condor", 1_000.0, 1.0, 0.0, 0.0, 0.16, 2, RULE)
    assert three.units == int(20_000 / math.sqrt(1 + 0.7 * 2) // 1_000)


def test_the_session_margin_and_max_units_cap():
    assert size_units("iron_condor", 1_000.0, 1.0, 45_000.0, 0.0, 0.16, 0, RULE).units == 5
    assert size_units("iron_condor", 10.0, 1.0, 0.0, 0.0, 0.16, 0, RULE).units == 50


def test_zero_units_say_which_budget_binds():
    full = size_units("strangle", 5_000.0, 1.0, 48_000.0, 0.0, 0.16, 0, RULE)
    assert full.units == 0 and "margin left in the session $2,000" in full.reasons[0]
    own = size_units("strangle", 5_000.0, 1.0, 0.0, 18_000.0, 0.16, 0, RULE)
    assert own.units == 0 and "strangle's allocation left $2,000" in own.reasons[0]
    scaled = size_units("strangle", 5_000.0, 0.1, 0.0, 0.0, 0.16, 0, RULE)
    assert scaled.units == 0 and "scaled budget $2,000 (confidence 0.10" in scaled.reasons[0]
    bad = size_units("strangle", math.inf, 1.0, 0.0, 0.0, 0.16, 0, RULE)
    assert bad.units == 0 and "not a positive amount" in bad.reasons[0]


def test_allocation_per_structure_overrides_the_default():
    rule = RULE._replace(allocation_by_structure=(("jade_lizard", 0.05),))
    assert size_units("jade_lizard", 1_000.0, 1.0, 0.0, 0.0, 0.16, 0, rule).units == 5
