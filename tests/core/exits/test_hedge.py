"""The delta of an exit's open vertical and the hedge's shares and limit (core.exits.hedge)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from core.exits.butterfly import LegQuote, MarketData, closing_order
from core.exits.hedge import hedge_limit_per_share, hedge_shares, held_delta_shares, years_to_expiry
from core.pricing.bsm import bsm_price, bsm_price_delta

NY = ZoneInfo("America/New_York")


def _market(spot=450.0, t=30 / 365, vol=0.2):
    """Quotes priced by Black-Scholes at one vol, a cent either side of the model price."""
    quotes = {}
    for right in ("C", "P"):
        for strike in (440.0, 450.0, 460.0):
            price = bsm_price(right == "C", spot, strike, t, 0.04, 0.0, vol)
            quotes[(right, strike)] = LegQuote(price - 0.01, price + 0.01)
    return MarketData(quotes, spot)


@pytest.mark.parametrize("held", [(("C", 440.0, 1), ("C", 450.0, -1)), (("P", 450.0, -1), ("P", 460.0, 1)),
                                  (("C", 450.0, -1), ("C", 460.0, 1))])
def test_held_delta_is_the_legs_black_scholes_delta_at_their_implied_vol(held):
    market, t = _market(), 30 / 365
    order = closing_order("vertical_2", held, 3, market)
    expected = sum(
        ratio * bsm_price_delta(right == "C", 450.0, strike, t, 0.04, 0.0, 0.2)[1] for right, strike, ratio in held
    )
    assert held_delta_shares(order, 3, market, t, 0.04) == pytest.approx(expected * 3 * 100, rel=2e-3)


def test_an_option_without_implied_vol_gets_its_intrinsic_delta():
    market = MarketData({("C", 400.0): LegQuote(49.0, 49.5), ("C", 500.0): LegQuote(0.0, 0.01)}, 450.0)
    order = closing_order("vertical_2", (("C", 400.0, 1), ("C", 500.0, -1)), 2, market)   # 400 call below intrinsic
    assert held_delta_shares(order, 2, market, 5 / 365, 0.04) == pytest.approx(200.0, abs=1.0)


def test_hedge_shares_offset_the_delta_and_the_limit_is_marketable_on_the_cent():
    assert hedge_shares(-60.26) == 60 and hedge_shares(41.6) == -42 and hedge_shares(0.4) == 0
    assert hedge_limit_per_share("BUY", 451.234, 0.002) == 452.14      # 451.234 x 1.002 = 452.136, up
    assert hedge_limit_per_share("SELL", 451.234, 0.002) == 450.33     # 450.331, down


def test_years_to_expiry_counts_to_four_pm_new_york_and_never_to_zero():
    now = datetime(2026, 12, 18, 15, 0, tzinfo=NY)
    assert years_to_expiry(date(2026, 12, 18), int(now.timestamp() * 1e9), NY) == pytest.approx(3600 / (365 * 86400))
    after = datetime(2026, 12, 18, 17, 0, tzinfo=NY)
    assert years_to_expiry(date(2026, 12, 18), int(after.timestamp() * 1e9), NY) == pytest.approx(60 / (365 * 86400))
