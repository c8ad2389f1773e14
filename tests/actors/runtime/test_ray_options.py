from actors.runtime.ray_runtime import actor_options
from config.runtime import RuntimeConfig


def test_order_sending_actors_are_never_retried_and_run_one_call_at_a_time():
    options = actor_options(RuntimeConfig(kind="ray", ray_namespace="ns", max_restarts=-1), "trader-SPY")
    assert options["max_task_retries"] == 0
    assert options["max_concurrency"] == 1
    assert options["max_restarts"] == -1
    assert (options["name"], options["namespace"]) == ("trader-SPY", "ns")
