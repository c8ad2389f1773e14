"""Each pre-trade check refuses what it is for, with its code, and passes what it is not for."""

import math

import pytest

from config.risk import RiskLimits
from core.orders import Contract, OrderLeg
from core.risk import checks

LIMITS = RiskLimits()


def leg(strike, right="C", ratio=1, expiry="2026-12-18", symbol="SPY"):
    return OrderLeg(Contract(symbol, expiry, float(strike), right), ratio)


def code(refusal):
    return None if refusal is None else refusal.code


def test_order_shape_needs_whole_units_a_finite_price_and_legs():
    legs = (leg(600),)
    assert code(checks.check_order_shape(0, 1.0, legs)) == "bad_order"
    assert code(checks.check_order_shape(1, math.nan, legs)) == "bad_order"
    assert code(checks.check_order_shape(1, 1.0, (leg(600, ratio=0),))) == "bad_order"
    assert checks.check_order_shape(1, 1.0, legs) is None


@pytest.mark.parametrize("contracts, premium, notional, expected", [
    (1_000_000, 1.0, 1.0, "max_contracts"), (10, 250_001.0, 1.0, "max_premium"),
    (10, 1.0, 10_000_001.0, "max_notional"), (100, 250_000.0, 10_000_000.0, None)])
def test_size_limits(contracts, premium, notional, expected):
    assert code(checks.check_size(contracts, premium, notional, LIMITS)) == expected


def test_payoff_bounds_of_a_vertical_a_fly_and_a_naked_call():
    vertical = (leg(600), leg(610, ratio=-1))
    assert checks.payoff_bounds(vertical) == (0.0, 10.0)
    fly = (leg(595), leg(600, ratio=-2), leg(605))
    assert checks.payoff_bounds(fly) == (0.0, 5.0)
    assert checks.payoff_bounds((leg(600, ratio=-1),)) == (-math.inf, 0.0)
    assert checks.payoff_bounds((leg(600), leg(600, expiry="2027-01-15", ratio=-1))) is None   # a calendar


def test_a_credit_above_a_verticals_width_is_refused_and_so_is_a_debit():
    bounds = checks.payoff_bounds((leg(600), leg(610, ratio=-1)))
    assert code(checks.check_structure_bounds(10.5, bounds)) == "structure_bounds"      # either side
    assert code(checks.check_structure_bounds(-0.01, bounds)) == "structure_bounds"
    assert checks.check_structure_bounds(10.0, bounds) is None
    assert checks.check_structure_bounds(99.0, None) is None


def test_natural_price_of_a_spread_each_way():
    ratios, bids, asks = (1, -1), (2.00, 1.00), (2.10, 1.05)
    assert checks.natural_price("BUY", ratios, bids, asks) == pytest.approx(2.10 - 1.00)
    assert checks.natural_price("SELL", ratios, bids, asks) == pytest.approx(2.00 - 1.05)


def test_nbbo_collar_refuses_paying_through_the_ask_and_selling_through_the_bid():
    assert code(checks.check_nbbo_collar("BUY", 99_999.0, 0.02, LIMITS)) == "price_collar"
    assert code(checks.check_nbbo_collar("SELL", 0.80, 1.00, LIMITS)) == "price_collar"
    assert checks.check_nbbo_collar("BUY", 1.09, 1.00, LIMITS) is None
    assert checks.check_nbbo_collar("BUY", 0.01, 1.00, LIMITS) is None         # far below the ask: harmless
    assert checks.check_nbbo_collar("SELL", 0.95, 1.00, LIMITS) is None


def test_model_collar_refuses_a_price_far_past_the_model_value():
    assert code(checks.check_model_collar("SELL", 0.10, 1.5, 3.0, LIMITS)) is None          # collar 1.5
    assert code(checks.check_model_collar("SELL", 0.10, 5.0, 3.0, LIMITS)) == "model_collar"
    assert code(checks.check_model_collar("BUY", 9.0, 5.0, 3.0, LIMITS)) == "model_collar"
    assert checks.check_model_collar("BUY", 9.0, math.nan, 3.0, LIMITS) is None


def test_open_contracts_per_chain_symbol_and_session():
    small = RiskLimits(max_open_contracts_per_chain=10, max_open_contracts_per_symbol=20, max_open_contracts=30)
    chain = ("SPY", "2026-12-18")
    assert "chain" in checks.check_open_contracts(2, chain, 9, 9, 9, small).reason
    assert "symbol" in checks.check_open_contracts(2, chain, 0, 19, 19, small).reason
    assert "session" in checks.check_open_contracts(2, chain, 0, 0, 29, small).reason
    assert checks.check_open_contracts(2, chain, 8, 18, 28, small) is None
    assert code(checks.check_open_orders(500, LIMITS)) == "open_orders"
    assert checks.check_open_orders(499, LIMITS) is None


def test_naked_shorts_refused_unless_allowed():
    uncovered = [("SPY", "2026-12-18", "C", 3)]
    assert code(checks.check_naked(uncovered, LIMITS)) == "naked_short"
    assert checks.check_naked(uncovered, RiskLimits(allow_naked_short=True)) is None
    assert checks.check_naked([], LIMITS) is None


def test_greek_caps_refuse_only_what_goes_past_a_cap_and_away_from_zero():
    limits = RiskLimits(max_delta_usd=100.0, max_vega_usd_per_vol_point=10.0, max_gamma_usd_per_pct=5.0)
    assert code(checks.check_greek_caps((90.0, 0, 0), (20.0, 0, 0), limits)) == "delta_cap"
    assert code(checks.check_greek_caps((0, -9.0, 0), (0, -2.0, 0), limits)) == "vega_cap"
    assert code(checks.check_greek_caps((0, 0, 4.0), (0, 0, 2.0), limits)) == "gamma_cap"
    assert checks.check_greek_caps((150.0, 0, 0), (-20.0, 0, 0), limits) is None        # back toward zero
    assert checks.check_greek_caps((50.0, 5.0, 2.0), (40.0, 4.0, 2.0), limits) is None


def test_daily_loss_limit():
    assert code(checks.check_daily_loss(-2_000_001.0, LIMITS)) == "daily_loss"
    assert checks.check_daily_loss(-1_999_999.0, LIMITS) is None


def test_every_code_a_check_returns_is_declared():
    assert {"trading_halted", "reducing_only", "rate_limited", "expired_contract", "market_closed",
            "no_quote"} <= set(checks.DENY_CODES)


def test_natural_at_rows_reads_the_legs_rows_and_is_nan_without_a_usable_quote():
    import numpy as np

    bid, ask = np.array([2.00, 9.0, 1.00]), np.array([2.10, 9.5, 1.05])
    assert checks.natural_at_rows("BUY", (1, -1), (0, 2), bid, ask) == pytest.approx(2.10 - 1.00)
    assert checks.natural_at_rows("SELL", (1, -1), (0, 2), bid, ask) == \
        checks.natural_price("SELL", (1, -1), (2.00, 1.00), (2.10, 1.05))
    for bad_bid, bad_ask in ((math.nan, 1.05), (-0.01, 1.05), (1.10, 1.05), (1.00, math.inf)):
        bid[2], ask[2] = bad_bid, bad_ask
        assert math.isnan(checks.natural_at_rows("BUY", (1, -1), (0, 2), bid, ask))
