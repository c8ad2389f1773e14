import numpy as np
import pytest

from core.pricing.bsm import bsm_greeks, bsm_price, bsm_price_delta


def test_scalars_in_scalars_out():
    price, delta = bsm_price_delta(True, 100.0, 100.0, 0.5, 0.03, 0.01, 0.2)
    assert isinstance(price, float) and isinstance(delta, float)
    assert isinstance(bsm_greeks(False, 100.0, 90.0, 0.5, 0.03, 0.01, 0.2).gamma, float)


def test_put_call_parity_over_a_batch():
    rng = np.random.default_rng(3)
    s, k = rng.uniform(50, 150, 1000), rng.uniform(50, 150, 1000)
    t, r, q, v = rng.uniform(0.01, 2, 1000), 0.04, 0.015, rng.uniform(0.05, 1, 1000)
    call, put = bsm_price(True, s, k, t, r, q, v), bsm_price(False, s, k, t, r, q, v)
    np.testing.assert_allclose(call - put, s * np.exp(-q * t) - k * np.exp(-r * t), atol=1e-9)


@pytest.mark.parametrize("t, vol", [(0.0, 0.2), (0.5, 0.0), (-0.1, 0.2), (0.0, 0.0)])
def test_degenerate_inputs_give_intrinsic_without_nan(t, vol):
    spots = np.array([80.0, 100.0, 120.0])
    for is_call in (True, False):
        g = bsm_greeks(is_call, spots, 100.0, t, 0.05, 0.0, vol)
        assert all(np.all(np.isfinite(x)) for x in g), g
        t_eff = max(t, 0.0)
        forward_intrinsic = np.maximum((1 if is_call else -1) * (spots - 100.0 * np.exp(-0.05 * t_eff)), 0)
        np.testing.assert_allclose(g.price, forward_intrinsic, atol=1e-12)
        assert np.all(g.gamma == 0) and np.all(g.vega == 0)


def test_deep_itm_and_otm_stay_finite_and_bounded():
    strikes = np.array([1e-3, 1.0, 1e4, 1e6])
    g = bsm_greeks(True, 100.0, strikes, 1.0, 0.05, 0.0, 0.3)
    assert all(np.all(np.isfinite(x)) for x in g)
    assert np.all(g.price >= 0) and np.all(g.price <= 100.0)
    assert g.delta[-1] == pytest.approx(0.0, abs=1e-12) and g.delta[0] == pytest.approx(1.0)


def test_the_scalar_form_matches_the_vectorized_one():
    import numpy as np

    from core.pricing.bsm import bsm_greeks, bsm_scalar

    for is_call in (True, False):
        for strike in (80.0, 100.0, 125.0):
            for t_years in (0.0, 1e-4, 0.5):
                vector = bsm_greeks(is_call, 100.0, strike, t_years, 0.04, 0.01, 0.3)
                assert np.allclose(bsm_scalar(is_call, 100.0, strike, t_years, 0.04, 0.01, 0.3),
                                   (vector.price, vector.delta, vector.gamma, vector.vega), atol=1e-12)
