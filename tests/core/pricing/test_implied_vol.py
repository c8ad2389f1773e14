import numpy as np
import pytest

from core.pricing.bsm import bsm_price
from core.pricing.implied_vol import IVFlag, implied_vol


def test_round_trip_over_moneyness_and_time():
    strikes = np.linspace(60, 150, 91)
    for t in (0.01, 0.1, 1.0, 3.0):
        for is_call in (True, False):
            prices = bsm_price(is_call, 100.0, strikes, t, 0.04, 0.01, 0.35)
            result = implied_vol(prices, is_call, 100.0, strikes, t, 0.04, 0.01)
            intrinsic = np.maximum(
                (1 if is_call else -1) * (100.0 * np.exp(-0.01 * t) - strikes * np.exp(-0.04 * t)), 0
            )
            has_time_value = prices - intrinsic > 1e-8 * 100.0   # below this the double price cannot pin vol down
            assert np.all(result.flag[has_time_value] == IVFlag.OK)
            assert np.isin(result.flag[~has_time_value], [IVFlag.OK, IVFlag.AT_INTRINSIC]).all()
            np.testing.assert_allclose(result.vol[has_time_value], 0.35, atol=1e-9)


def test_flags_say_why_and_batch_never_raises():
    prices = np.array([0.5, 150.0, 5.0, np.nan, -1.0, 10.0, 4.0])
    strikes = np.array([80.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0])
    t = np.array([1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    result = implied_vol(prices, True, 100.0, strikes, t, 0.0, 0.0)
    assert [IVFlag(f) for f in result.flag] == [
        IVFlag.BELOW_INTRINSIC,   # call worth 20 intrinsic priced at 0.5
        IVFlag.ABOVE_BOUND,       # a call can't be worth more than the forward
        IVFlag.EXPIRED,
        IVFlag.INVALID_INPUT,
        IVFlag.INVALID_INPUT,
        IVFlag.OK,
        IVFlag.OK,
    ]
    assert np.isnan(result.vol[:5]).all() and np.isfinite(result.vol[5:]).all()
    assert result.reasons()[0] == "BELOW_INTRINSIC"


def test_price_at_intrinsic_means_zero_vol():
    result = implied_vol(20.0, True, 120.0, 100.0, 0.5, 0.0, 0.0)
    assert result.flag == IVFlag.AT_INTRINSIC and result.vol == 0.0


def test_scalar_in_scalar_out():
    result = implied_vol(bsm_price(False, 100.0, 95.0, 0.25, 0.05, 0.0, 0.22), False, 100.0, 95.0, 0.25, 0.05, 0.0)
    assert isinstance(result.vol, float)
    assert result.vol == pytest.approx(0.22, abs=1e-10)


def test_the_scalar_solver_agrees_with_the_vectorized_one():
    import math

    from core.pricing.bsm import bsm_scalar
    from core.pricing.implied_vol import implied_vol_scalar

    for is_call in (True, False):
        for strike in (90.0, 100.0, 112.0):
            for t_years in (1 / 365 / 24, 0.02, 1.0):
                price = bsm_scalar(is_call, 100.0, strike, t_years, 0.04, 0.0, 0.37)[0]
                intrinsic = max((100.0 - strike) if is_call else (strike - 100.0), 0.0)
                if price - intrinsic > 1e-3:                     # some time value left to solve for
                    assert implied_vol_scalar(price, is_call, 100.0, strike, t_years, 0.04) == \
                        pytest.approx(0.37, abs=1e-4)
    assert math.isnan(implied_vol_scalar(150.0, True, 100.0, 100.0, 0.5, 0.04))        # above any vol's price
    assert math.isnan(implied_vol_scalar(math.nan, True, 100.0, 100.0, 0.5, 0.04))


def test_atm_implied_vol_averages_the_call_and_put_nearest_spot():
    from core.pricing.implied_vol import atm_implied_vol

    strikes = np.array([90.0, 95.0, 100.0, 105.0, np.nan, 90.0, 95.0, 100.0, 105.0])
    is_call = np.array([True] * 5 + [False] * 4)
    vols = np.where(is_call, 0.30, 0.20)
    mids = bsm_price(is_call, 101.0, np.nan_to_num(strikes, nan=100.0), 0.25, 0.03, 0.0, vols)
    bid, ask = mids - 0.05, mids + 0.05
    assert atm_implied_vol(strikes, is_call, bid, ask, 101.0, 0.25, 0.03) == pytest.approx(0.25, abs=1e-5)
    puts = ~is_call
    ask[puts] = bid[puts] = 500.0                   # puts priced past any vol: the call's vol alone
    assert atm_implied_vol(strikes, is_call, bid, ask, 101.0, 0.25, 0.03) == pytest.approx(0.30, abs=1e-5)
    ask[:] = bid[:] = 500.0
    assert np.isnan(atm_implied_vol(strikes, is_call, bid, ask, 101.0, 0.25, 0.03))
    assert np.isnan(atm_implied_vol(strikes[:0], is_call[:0], bid[:0], ask[:0], 101.0, 0.25, 0.03))
