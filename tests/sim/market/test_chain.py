import numpy as np
import pytest

from core.quotes import QuoteFlag, quote_flags
from sim.market.chain import PRODUCTS, generate_chains, mid_noise, strike_grid
from sim.market.spread_model import load_spread_models
from sim.market.surface import SurfaceParams, atm_vol, level_from_vix, surface_vol

NS_PER_DAY = 86_400 * 10**9


def make(symbol, spot, days, n=60, seed=0, level=0.17):
    spec = PRODUCTS[symbol]
    model = load_spread_models()[spec.spread_class]
    times = np.arange(n, dtype=np.int64) * 60 * 10**9
    spots = spot * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.0007, n)))
    return generate_chains(spec, model, strike_grid(spec, spot, 200), int(days * NS_PER_DAY), times, spots,
                           np.full(n, level), 0.04, np.random.default_rng(seed))


@pytest.mark.parametrize("symbol, spot", [("SPY", 450.0), ("QQQ", 380.0), ("IWM", 190.0), ("SPX", 4500.0)])
def test_quotes_are_on_ticks_never_crossed_and_sized(symbol, spot):
    batch = make(symbol, spot, days=10)
    assert batch.bid.shape == (60, 400) and batch.strikes.shape == (400,)
    tick = np.where(batch.ask < 3.0, 0.05, 0.10) if symbol == "SPX" else 0.01
    for side in (batch.bid, batch.ask):
        in_ticks = side / np.where(side < 3.0, 0.05, 0.10) if symbol == "SPX" else side / tick
        np.testing.assert_allclose(in_ticks, np.round(in_ticks), atol=1e-6)
    assert np.all(batch.ask > batch.bid)
    assert np.all(batch.ask_size >= 1) and np.all((batch.bid_size >= 1) | (batch.bid == 0))
    flags = quote_flags(batch.bid, batch.ask, 0, 0, 1)
    assert set(np.unique(flags)) <= {QuoteFlag.OK, QuoteFlag.ZERO_BID}


def test_mid_tracks_theory_and_greeks_are_sane():
    batch = make("SPY", 450.0, days=30)
    live = batch.bid > 0
    assert np.all(np.abs(batch.mid - batch.theo)[live] <= (batch.ask - batch.bid)[live] / 2 + 0.011)
    calls = batch.is_call
    assert np.all(np.diff(batch.delta[0, calls]) <= 1e-12)      # call delta falls with strike
    assert np.all(batch.gamma >= 0) and np.all(batch.vega >= 0)


def test_same_seed_same_chain():
    a, b = make("SPY", 450.0, 5, seed=3), make("SPY", 450.0, 5, seed=3)
    assert np.array_equal(a.bid, b.bid) and np.array_equal(a.bid_size, b.bid_size)


def test_surface_has_put_skew_and_term_structure():
    params = SurfaceParams()
    strikes = np.array([400.0, 450.0, 500.0])
    vols = surface_vol(params, 0.17, strikes, 450.0, 30 / 365)
    assert vols[0] > vols[1] and vols[1] == pytest.approx(0.17)
    assert atm_vol(0.17, 90 / 365, params.term_slope) > atm_vol(0.17, 7 / 365, params.term_slope)
    assert atm_vol(0.3, 90 / 365, params.term_slope_high) < atm_vol(0.3, 7 / 365, params.term_slope_high)
    assert level_from_vix(params, 20.0) == pytest.approx(0.17)


def test_strike_grid_is_centred_and_positive():
    grid = strike_grid(PRODUCTS["SPX"], 4503.0, 200)
    assert grid.size == 200 and 4505.0 in grid and np.all(np.diff(grid) == 5.0)
    assert np.all(strike_grid(PRODUCTS["IWM"], 20.0, 200) > 0)


def test_quotes_without_greeks_are_the_same_quotes():
    spec = PRODUCTS["SPY"]
    model = load_spread_models()[spec.spread_class]
    times = np.arange(30, dtype=np.int64) * 60 * 10**9
    spots = 450.0 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.0007, 30)))
    full, lean = (generate_chains(spec, model, strike_grid(spec, 450.0, 200), int(7 * NS_PER_DAY), times, spots,
                                  np.full(30, 0.17), 0.04, np.random.default_rng(3), greeks=greeks)
                  for greeks in (True, False))
    for field in ("bid", "ask", "bid_size", "ask_size"):
        assert np.array_equal(getattr(full, field), getattr(lean, field)), field
    assert np.allclose(full.theo, lean.theo, rtol=0, atol=1e-9)
    assert lean.delta is None and lean.theta is None and full.delta is not None


def test_a_mid_off_the_model_value_deviates_by_the_stated_half_spreads_and_persists():
    """`mid_noise`: an AR(1) per contract with the stated deviation and persistence; a chain built with it has mids
    off the theo by about that many half-spreads (less the tick snapping), and none without it."""
    noise = mid_noise(np.random.default_rng(1), (4000, 50), 0.5, 0.8)
    assert np.std(noise) == pytest.approx(0.5, rel=0.05)
    lag_one = np.mean(noise[1:] * noise[:-1]) / np.var(noise)
    assert lag_one == pytest.approx(0.8, abs=0.03)
    spec = PRODUCTS["SPY"]
    model = load_spread_models()[spec.spread_class]
    times, spots = np.arange(200, dtype=np.int64) * 10**9, np.full(200, 450.0)

    def off_theo_in_half_spreads(offsets):
        batch = generate_chains(spec, model, strike_grid(spec, 450.0, 100), 30 * NS_PER_DAY, times, spots,
                                np.full(200, 0.17), 0.04, np.random.default_rng(0), mid_offset_half_spreads=offsets)
        live = (batch.bid > 0) & (batch.ask - batch.bid > 0.05)          # wide enough for the snapping to be small
        return ((batch.mid - batch.theo) / (0.5 * (batch.ask - batch.bid)))[live]

    offsets = mid_noise(np.random.default_rng(2), (200, 200), 0.5, 0.9)
    assert np.std(off_theo_in_half_spreads(offsets)) == pytest.approx(0.5, abs=0.1)
    assert np.std(off_theo_in_half_spreads(None)) < 0.2
