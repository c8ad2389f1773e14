"""Performance figures: empyrical's Sharpe against a hand computation, and the trade-count figures."""

import math

import numpy as np
import pytest

from core.analytics.performance import DEFINITIONS, daily_returns, performance


def test_sharpe_equals_the_hand_computation_on_daily_returns():
    pnl = np.array([1200.0, -800.0, 450.0, 2100.0, -300.0, 75.0])
    figures = performance(pnl, capital_usd=100_000.0)
    equity = 100_000.0 + np.concatenate([[0.0], np.cumsum(pnl)[:-1]])
    returns = pnl / equity
    hand = returns.mean() / returns.std(ddof=1) * math.sqrt(252)
    assert figures["sharpe"] == pytest.approx(hand, rel=1e-12)
    assert figures["win_rate"] == pytest.approx(4 / 6)
    assert figures["profit_factor"] == pytest.approx((1200 + 450 + 2100 + 75) / 1100)
    assert figures["expectancy_usd"] == pytest.approx(pnl.mean())
    assert figures["max_drawdown"] == pytest.approx(-800 / 101_200, rel=1e-9)
    assert set(figures) == set(DEFINITIONS)


def test_one_session_has_no_ratio_but_keeps_what_one_day_defines():
    figures = performance([-5000.0], capital_usd=1_000_000.0)
    assert math.isnan(figures["sharpe"]) and math.isnan(figures["sortino"])
    assert figures["win_rate"] == 0.0 and figures["expectancy_usd"] == -5000.0
    assert daily_returns([-5000.0], 1_000_000.0)[0] == pytest.approx(-0.005)
