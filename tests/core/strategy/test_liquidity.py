"""The liquidity gate on simulated chains: each refusal code at its cause, and missing data named."""

from __future__ import annotations

import numpy as np
import pytest

from core.quotes import ChainQuotes
from core.strategy.liquidity import LiquidityRule, atm_iv, check_liquidity
from sim.market.chain import PRODUCTS, generate_chains, strike_grid
from sim.market.spread_model import load_spread_models

NS_PER_DAY = 86_400 * 10**9
EXPIRY_NS = 30 * NS_PER_DAY


def chain(**changes):
    spec = PRODUCTS["SPY"]
    batch = generate_chains(spec, load_spread_models()[spec.spread_class], strike_grid(spec, 500.0, 120), EXPIRY_NS,
                            np.array([0]), np.array([500.0]), np.array([0.18]), 0.04, np.random.default_rng(0))
    quotes = ChainQuotes("SPY", "2024-01-31", EXPIRY_NS, 0, batch.strikes, batch.is_call, batch.bid[0],
                         batch.ask[0], batch.bid_size[0], batch.ask_size[0], 0.01, 0.01, 500.0)
    return quotes._replace(**changes)


def test_a_liquid_simulated_chain_passes_and_says_which_data_it_lacked():
    verdict = check_liquidity(chain(), 0, 0.04)
    assert verdict.passed and verdict.atm_iv == pytest.approx(0.18, abs=0.03)
    assert verdict.skipped == ("volume", "open interest")


def test_each_refusal_at_its_cause():
    quotes = chain()
    one_sided = quotes._replace(bid=np.zeros_like(quotes.bid))
    assert check_liquidity(one_sided, 0, 0.04).code == "no_quotes"
    assert check_liquidity(quotes._replace(underlying=float("nan")), 0, 0.04).code == "no_iv"
    otm_calls = quotes.is_call & (quotes.strikes > 502)                    # where the 0.16 and 0.30 calls are
    verdict = check_liquidity(quotes._replace(bid=np.where(otm_calls, 0.0, quotes.bid)), 0, 0.04)
    assert verdict.code == "incomplete_chain" and "call" in verdict.reason
    wide = quotes._replace(ask=quotes.bid * 1.5 + 0.05)
    verdict = check_liquidity(wide, 0, 0.04)
    assert verdict.code == "wide_spread" and "of the mid" in verdict.reason


def test_volume_and_open_interest_where_the_data_has_them():
    quotes = chain()
    n = quotes.strikes.size
    assert check_liquidity(quotes, 0, 0.04, LiquidityRule(min_volume=10), volume=np.full(n, 5)).code == "low_volume"
    verdict = check_liquidity(quotes, 0, 0.04, LiquidityRule(min_open_interest=100), volume=np.full(n, 50),
                              open_interest=np.full(n, 99))
    assert verdict.code == "low_open_interest"
    assert check_liquidity(quotes, 0, 0.04, volume=np.full(n, 50), open_interest=np.full(n, 500)).skipped == ()


def test_atm_iv_of_a_chain_without_two_sided_quotes_is_nan():
    quotes = chain()
    assert np.isnan(atm_iv(quotes._replace(bid=np.zeros_like(quotes.bid)), 0, 0.04))
