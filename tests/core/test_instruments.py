"""Products: one tick table a product, and the chains the simulated market quotes use it."""

from __future__ import annotations

from datetime import time

import pytest

from core.errors import InvalidFieldError
from core.instruments import ALWAYS_OPEN, CRYPTO_PRODUCTS, PRODUCTS, multiplier_of, product, round_to_tick
from sim.market.spread_model import load_spread_models


@pytest.mark.parametrize("symbol", sorted(PRODUCTS))
def test_each_product_s_ticks_are_the_ones_its_calibrated_spread_model_quotes_in(symbol):
    spec = PRODUCTS[symbol]
    model = load_spread_models()[spec.spread_class]
    assert (model.tick_below_3, model.tick_from_3) == (spec.ticks.below_per_share, spec.ticks.from_per_share)


def test_spx_moves_in_nickels_below_three_dollars_and_dimes_above():
    ticks = PRODUCTS["SPX"].ticks
    assert ticks.tick(2.95) == 0.05 and ticks.tick(3.0) == 0.10 and ticks.complex_per_share == 0.05
    assert round_to_tick(1.23, ticks.complex_per_share, up=True) == 1.25
    assert round_to_tick(1.23, ticks.complex_per_share, up=False) == 1.20


def test_an_unknown_product_is_refused_naming_the_field_and_its_multiplier_defaults_to_100():
    with pytest.raises(InvalidFieldError) as err:
        product("XYZ")
    assert err.value.field == "symbol" and multiplier_of("XYZ") == 100 == multiplier_of("SPY")


def test_only_spx_standard_monthlies_are_am_settled():
    from datetime import date

    from core.instruments import is_am_settled

    assert is_am_settled("SPX", date(2019, 5, 17)) and is_am_settled("SPX", date(2026, 12, 18))
    assert not is_am_settled("SPX", date(2019, 5, 24)) and not is_am_settled("SPY", date(2019, 5, 17))
    assert is_am_settled("SPX", date(2025, 4, 17))             # Good Friday 2025: the monthly moves to Thursday


def test_crypto_products_are_inverse_with_deribit_ticks_and_an_0800_expiry():
    btc = product("BTC")
    assert btc is CRYPTO_PRODUCTS["BTC"] and btc.inverse and btc.premium_currency == "BTC"
    assert btc.calendar_code == ALWAYS_OPEN and btc.expiry_time_utc == time(8)
    assert btc.ticks.tick(0.0049) == 0.0001 and btc.ticks.tick(0.005) == 0.0005
    assert btc.premium_usd(0.01, 90_000.0) == 900.0
    assert not product("SPY").inverse and product("SPY").premium_usd(1.25, 500.0) == 1.25


def test_multiplier_of_a_crypto_symbol_is_its_contract_size():
    assert multiplier_of("BTC") == 0.1 and multiplier_of("ETH") == 1.0 and multiplier_of("SPY") == 100


def test_each_venue_lists_its_own_crypto_contract():
    from core.instruments import venue_product

    delta = venue_product("delta_exchange", "BTC")
    assert not delta.inverse and delta.multiplier == 0.001 and delta.expiry_time_utc == time(12)
    assert venue_product("paper", "BTC") is venue_product("deribit", "BTC") is CRYPTO_PRODUCTS["BTC"]
    with pytest.raises(InvalidFieldError, match="delta_exchange has no 'SOL'"):
        venue_product("delta_exchange", "SOL")
