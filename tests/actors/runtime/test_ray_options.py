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
