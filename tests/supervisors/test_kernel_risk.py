"""The kernel puts the risk gate in front of the gateway in every trading topology; nothing sends around it."""

import pytest

from actors import names
from config import ConfigError, load_profile
from config.loader import validate_config
from supervisors.backtest import build_backtest, run_backtest

SMALL = {"SPREADWRIGHT__SYMBOLS": "[SPY]", "SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "30",
         "SPREADWRIGHT__BACKTEST__EXPIRATIONS_DTE": "[0, 7]", "SPREADWRIGHT__BACKTEST__N_STRIKES": "40",
         "SPREADWRIGHT__EXCHANGE__MAX_QUOTE_AGE_MS": "60000"}


def test_every_sender_sends_to_the_gate_and_the_gateway_takes_only_what_it_approves():
    backtest = build_backtest(load_profile("backtest", env=SMALL))
    topology = backtest.topology
    assert topology.gate is not None and topology.gateway.gate == names.RISK
    senders = [*topology.traders, *topology.flies]
    assert senders and all(s.gateway == names.RISK for s in senders)
    assert set(topology.gate.senders) == {s.name for s in senders}


def test_a_backtest_day_passes_its_orders_through_the_gate(tmp_path):
    result = run_backtest(load_profile("backtest", env=SMALL), tmp_path)
    risk = result.summary["risk"]
    assert risk["passed"] > 0 and risk["passed"] == result.summary["ledger"]["intents"]
    assert result.summary["ledger"].get("around_gate", 0) == 0


def test_the_gate_can_be_left_out_of_a_backtest_only(tmp_path):
    off = dict(SMALL, SPREADWRIGHT__RISK__ENABLED="false")
    backtest = build_backtest(load_profile("backtest", env=off))
    assert backtest.topology.gate is None and all(t.gateway == names.GATEWAY for t in backtest.topology.traders)
    paper = load_profile("paper").model_dump(mode="json")
    paper["risk"] = {"enabled": False}
    with pytest.raises(ConfigError, match="risk.enabled"):
        validate_config(paper)


@pytest.mark.parametrize("override, field", [
    ({"SPREADWRIGHT__SIZING__MAX_CONTRACTS": "1000000"}, "sizing.max_contracts"),
    ({"SPREADWRIGHT__BALANCER__MAX_IMBALANCE": "1000000"}, "balancer.max_imbalance"),
    ({"SPREADWRIGHT__RISK__LIMITS__MAX_CONTRACTS_PER_ORDER": "1000000"}, "risk.limits.max_contracts_per_order"),
    ({"SPREADWRIGHT__SIZING__MAX_CONTRACTS": "500"}, "sizing.max_contracts"),
])
def test_sizes_and_limits_have_upper_bounds_that_fail_at_load(override, field):
    with pytest.raises(ConfigError) as error:
        load_profile("backtest", env=override)
    assert field in str(error.value)
