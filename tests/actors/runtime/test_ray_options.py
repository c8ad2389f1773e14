from actors.runtime.ray_runtime import actor_options
from config.runtime import RuntimeConfig


def test_order_sending_actors_are_never_retried_and_run_one_call_at_a_time():
    options = actor_options(RuntimeConfig(kind="ray", ray_namespace="ns", max_restarts=-1), "trader-SPY")
    assert options["max_task_retries"] == 0
    assert options["max_concurrency"] == 1
    assert options["max_restarts"] == -1
    assert (options["name"], options["namespace"]) == ("trader-SPY", "ns")


def test_an_actor_asks_for_the_most_of_each_resource_its_components_need():
    config = RuntimeConfig(kind="ray", actor_resources={"*": {"trading": 0.01}, "gateway": {"trading": 0.5,
                                                                                          "broker_link": 1}})
    options = actor_options(config, "risk+gateway", ("risk", "gateway"))
    assert options["resources"] == {"trading": 0.5, "broker_link": 1}
    assert actor_options(config, "trader-SPY")["resources"] == {"trading": 0.01}
    assert "resources" not in actor_options(RuntimeConfig(kind="ray"), "trader-SPY")


def test_a_resource_amount_must_be_positive():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="actor_resources"):
        RuntimeConfig(kind="ray", actor_resources={"*": {"trading": 0}})


def test_an_actor_ray_could_not_restart_is_refused_before_it_starts_and_the_shipped_ones_fit(tmp_path):
    from datetime import date, timedelta

    import numpy as np
    import pytest

    from actors.runtime.component import Component
    from actors.runtime.ray_runtime import INLINE_ARGS_LIMIT_BYTES, ActorArgumentsTooLargeError, check_restartable
    from config import load_profile
    from supervisors.kernel import BrokerVenue, build_topology

    heavy = Component("heavy")
    heavy.table = np.zeros(INLINE_ARGS_LIMIT_BYTES // 8 + 1)
    with pytest.raises(ActorArgumentsTooLargeError, match="actor trader-X: .*heavy"):
        check_restartable("trader-X", [Component("light"), heavy])

    class Collect:
        def __init__(self):
            self.components = []

        def add(self, component):
            self.components.append(component)
            return component

    config = load_profile("paper", env={"SPREADWRIGHT__BROKER__URL": "http://127.0.0.1:1",
                                        "SPREADWRIGHT__BUTTERFLIES__ENABLED": "true",
                                        "SPREADWRIGHT__LEDGER__PATH": str(tmp_path / "ledger.db")})
    runtime = Collect()
    build_topology(config, runtime, BrokerVenue(lambda: None), {"SPY": [date.today() + timedelta(days=7)]})
    assert len(runtime.components) >= 8
    check_restartable("everything", runtime.components)          # every component of a paper session in one
