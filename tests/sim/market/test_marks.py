import numpy as np
import pytest

from core.pricing.bsm import bsm_price
from sim.market.marks import Book, FillTable, MarketMarks, equity_usd
from sim.market.surface import SurfaceParams, surface_vol

DAY_NS = 86_400 * 10**9
YEAR_NS = 365 * DAY_NS


def _marks(times_ns, spots, vol=0.17):
    times = np.asarray(times_ns, dtype=np.int64)
    return MarketMarks(times, np.asarray(spots, float), np.full(times.size, vol), np.zeros(times.size, bool))


def test_a_bought_call_is_cash_out_plus_its_theoretical_value():
    book = Book(np.array([100.0]), np.array([True]), np.array([30 * DAY_NS]))
    fills = FillTable(np.array([5]), np.array([0]), np.array([2.0]), np.array([-2 * 3.10 * 100]))
    marks = _marks([0, 10, DAY_NS], [100.0, 100.0, 103.0])
    equity = equity_usd(book, fills, marks, rate=0.04, dividend_yield=0.0)
    t = (30 * DAY_NS - DAY_NS) / YEAR_NS
    vol = surface_vol(SurfaceParams(), 0.17, 100.0, 103.0 * np.exp(0.04 * t), t)
    expected = -620 + 2 * 100 * bsm_price(True, 103.0, 100.0, t, 0.04, 0.0, vol)
    assert equity[0] == 0.0                      # the fill comes after the first mark
    assert equity[2] == pytest.approx(expected, rel=1e-9)


def test_an_expired_contract_settles_at_intrinsic_and_ignores_later_prices():
    book = Book(np.array([100.0]), np.array([False]), np.array([DAY_NS]))
    fills = FillTable(np.array([0]), np.array([0]), np.array([-1.0]), np.array([150.0]))   # sold a put for 1.50
    marks = _marks([1, DAY_NS - 10, 2 * DAY_NS, 3 * DAY_NS], [100.0, 97.0, 80.0, 120.0])
    equity = equity_usd(book, fills, marks, rate=0.0, dividend_yield=0.0)
    assert equity[2] == pytest.approx(150 - 300) and equity[3] == pytest.approx(150 - 300)


def test_a_spread_opened_and_closed_leaves_only_its_cash():
    book = Book(np.array([100.0, 105.0]), np.array([True, True]), np.array([30 * DAY_NS, 30 * DAY_NS]))
    fills = FillTable(np.array([1, 1, 5, 5]), np.array([0, 1, 0, 1]), np.array([1.0, -1.0, -1.0, 1.0]),
                      np.array([-300.0, 100.0, 350.0, -120.0]))
    equity = equity_usd(book, fills, _marks([0, 3, 10], [100.0, 101.0, 99.0]), 0.04, 0.01)
    assert equity[2] == pytest.approx(30.0)
    assert equity[1] != pytest.approx(-200.0)        # open in between: marked, not just cash
