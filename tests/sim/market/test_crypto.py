"""The simulated crypto market: paths that are martingales with a mean-reverting volatility index and jumps, and
chains quoted as Deribit quotes them (coin premium, its ticks, no crossed quotes, the venue's greeks)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.instruments import CRYPTO_PRODUCTS, round_to_tick
from core.pricing.bsm import bsm_price
from core.units import NS_PER_DAY, NS_PER_YEAR
from sim.market.crypto import BTC_MARKET, MINUTE_YEARS_24_7, crypto_chain, crypto_paths, crypto_strikes

BTC = CRYPTO_PRODUCTS["BTC"]


def test_paths_are_seeded_and_start_where_the_params_say():
    one = crypto_paths(BTC_MARKET, 3, 100, np.random.default_rng(7))
    two = crypto_paths(BTC_MARKET, 3, 100, np.random.default_rng(7))
    assert np.array_equal(one.price_usd, two.price_usd) and np.array_equal(one.dvol, two.dvol)
    assert one.price_usd.shape == (3, 101) and np.all(one.price_usd[:, 0] == BTC_MARKET.start_price_usd)
    assert np.all(one.dvol[:, 0] == pytest.approx(BTC_MARKET.dvol_start))


def test_the_price_has_no_drift_jumps_included():
    params = replace(BTC_MARKET, jumps_per_year=200.0, jump_mean=-0.02)
    paths = crypto_paths(params, 2000, 3 * 24 * 60, np.random.default_rng(1), dt_years=MINUTE_YEARS_24_7)
    terminal = paths.price_usd[:, -1] / params.start_price_usd
    standard_error = terminal.std() / np.sqrt(terminal.size)
    assert abs(terminal.mean() - 1.0) < 4 * standard_error


def test_the_volatility_index_reverts_to_its_mean():
    params = replace(BTC_MARKET, dvol_start=100.0, dvol_mean=50.0, dvol_half_life_days=5.0)
    paths = crypto_paths(params, 500, 24 * 60, np.random.default_rng(2), dt_years=5 * MINUTE_YEARS_24_7)  # 5 days
    gap_after = np.mean(np.log(paths.dvol[:, -1] / params.dvol_mean))
    assert gap_after == pytest.approx(np.log(2.0) / 2.0, abs=0.05)            # one half-life: half the log gap


def test_realized_volatility_is_the_index_times_the_ratio():
    params = replace(BTC_MARKET, jumps_per_year=0.0, dvol_vol_of_vol=0.0, dvol_start=60.0, dvol_mean=60.0)
    paths = crypto_paths(params, 200, 2 * 24 * 60, np.random.default_rng(3))
    returns = np.diff(np.log(paths.price_usd), axis=1)
    realized = returns.std() / np.sqrt(MINUTE_YEARS_24_7)
    assert realized == pytest.approx(0.60 * params.realized_to_implied, rel=0.01)


def chain(days: float = 1.0, index: float = 90_000.0, dvol: float = 50.0):
    now_ns = 1_800_000_000 * 10**9
    expiry_ns = now_ns + int(days * NS_PER_DAY)
    strikes = crypto_strikes(BTC, index, days / 365.0, dvol / 100.0)
    return crypto_chain(BTC, BTC_MARKET, "2027-01-15", expiry_ns, now_ns, index, dvol, strikes,
                        np.random.default_rng(4))


def test_the_chain_is_in_coin_on_deribits_ticks_and_never_crossed():
    quotes = chain()
    assert quotes.tick_threshold == 0.005 and quotes.tick(0.004) == 0.0001 and quotes.tick(0.006) == 0.0005
    assert np.all(quotes.ask > quotes.bid)
    for price in np.concatenate([quotes.bid[quotes.bid > 0], quotes.ask]):
        assert price == round_to_tick(price, quotes.tick(price), up=False)
    assert np.all(quotes.bid[quotes.bid > 0] >= 0.0001) and np.any(quotes.bid == 0)     # far wings: no bid
    assert np.all(quotes.bid_size[quotes.bid == 0] == 0)


def test_coin_premiums_are_usd_prices_over_the_index_within_the_spread():
    quotes = chain(days=7)
    t_years = (quotes.expiry_ns - quotes.time_ns) / NS_PER_YEAR
    usd = bsm_price(quotes.is_call, quotes.underlying, quotes.strikes, t_years, 0.0, 0.0, quotes.iv)
    coin = usd / quotes.underlying
    quoted = quotes.ask > 0.0002
    assert np.all(quotes.bid[quoted] <= coin[quoted] + 1e-12) and np.all(coin[quoted] <= quotes.ask[quoted] + 1e-12)
    calls, puts = quotes.is_call, ~quotes.is_call
    parity = coin[calls] - coin[puts] - (quotes.underlying - quotes.strikes[calls]) / quotes.underlying
    assert np.allclose(parity, 0.0, atol=1e-9)                                 # in coin: C - P = (S - K) / S


@pytest.mark.parametrize("days", [1.0, 3.0, 7.0, 30.0])
def test_each_tenor_lists_strikes_in_the_strangles_delta_band(days):
    quotes = chain(days=days)
    assert len(quotes.strikes) <= 2 * 121
    for wanted in (True, False):
        deltas = np.abs(quotes.delta[quotes.is_call == wanted])
        assert np.any((deltas >= 0.10) & (deltas <= 0.15)), (days, wanted)
