"""A small Monte Carlo profile for tests: two-minute chains, one expiry, short paths."""

from config.loader import load_profile, validate_config


def tiny_config(**montecarlo):
    data = load_profile("config/profiles/montecarlo.yaml").model_dump(mode="json")
    data["backtest"].update(quote_interval_s=120, expirations_dte=[7])
    data["exchange"]["max_quote_age_ms"] = 180_000
    data["montecarlo"].update({"paths": 4, "paths_per_task": 2, "regimes": ["normal"],
                               "parameters": {"butterflies.max_hold_s": [1800, 5400]}, **montecarlo})
    return validate_config(data, "test")
