"""BSM prices and greeks against the shared reference tables (Haug via QuantLib's suite, py_vollib)."""

import numpy as np
import pandas as pd
import pytest

from core.pricing.bsm import bsm_greeks


@pytest.fixture(scope="module")
def haug_rows(data_dir):
    rows = pd.read_csv(data_dir / "bsm_reference_quantlib_haug.csv")
    return rows[rows.exercise == "european"].reset_index(drop=True)


def _haug_value(row) -> float:
    t_years = round(row.t * 360) / 360          # QuantLib's suite uses Actual/360 day counts
    g = bsm_greeks(row.type == "call", row.spot, row.strike, t_years, row.r, row.q, row.vol)
    return {
        "npv": g.price, "delta": g.delta, "gamma": g.gamma, "vega": g.vega, "rho": g.rho,
        "theta_per_year": g.theta, "theta_per_day": g.theta / 365.0, "dividend_rho": g.dividend_rho,
        "elasticity": g.delta * row.spot / g.price,
    }[row.quantity]


def test_every_european_haug_row_within_its_tolerance(haug_rows):
    assert len(haug_rows) >= 50
    failures = []
    for row in haug_rows.itertuples():
        value = _haug_value(row)
        if not abs(value - row.expected) <= row.tol:
            failures.append((row.Index, row.quantity, row.type, value, row.expected))
    assert not failures


def test_py_vollib_table(data_dir):
    table = pd.read_csv(data_dir / "bs_reference_py_vollib_test_data.csv")
    args = (table.S.to_numpy(), table.K.to_numpy(), table.t.to_numpy(), table.r.to_numpy(),
            table.q.to_numpy(), table.sigma.to_numpy())
    for side in ("call", "put"):
        g = bsm_greeks(side == "call", *args)
        expected = {
            "price": table[f"{side}_price"], "delta": table[f"{side}_delta"], "gamma": table[f"{side}_gamma"],
            "theta": table[f"{side}_theta_per_year"], "vega": table[f"{side}_vega_per_1.00_vol"],
            "rho": table[f"{side}_rho_per_1.00_rate"],
        }
        for name, column in expected.items():
            # the table is printed to ~9 significant digits
            np.testing.assert_allclose(getattr(g, name), column.to_numpy(), rtol=2e-6, atol=2e-7,
                                       err_msg=f"{side} {name}")
