"""The supervisor notices an actor Ray will not bring back, restarts it, and sees it healthy again."""

import time

from actors.runtime.pingpong import Counter, Quoter
from actors.runtime.ray_runtime import RayRuntime
from config.runtime import RuntimeConfig
from supervisors.component_supervisor import ComponentSupervisor
from supervisors.health import Decision, Health, HealthPolicy, HealthSettings
from tests.ray.waiting import SLACK


def test_dead_actor_is_detected_restarted_and_healthy_again(ray_cluster):
    runtime = RayRuntime(RuntimeConfig(kind="ray", ray_namespace="t-supervisor", max_restarts=0))
    runtime.add(Quoter(bursts=1, per_burst=1))
    runtime.add(Counter())
    runtime.start()
    supervisor = ComponentSupervisor(runtime, HealthPolicy(HealthSettings(misses_to_unhealthy=2, base_backoff_s=0.1)),
                                  ping_timeout_s=0.5)
    try:
        assert runtime.run_until(lambda s: s["quoter"]["done"], timeout_s=30 * SLACK)
        assert {t.next for t in supervisor.reconcile(time.time_ns())} == {Health.HEALTHY}
        ray_cluster.kill(runtime.handle("counter"), no_restart=True)
        time.sleep(0.5)
        history = []
        for _ in range(6):
            history.extend(t for t in supervisor.reconcile(time.time_ns()) if t.component == "counter")
            if history and history[-1].next is Health.HEALTHY and len(history) > 2:
                break
            time.sleep(0.2)
        assert [t.next for t in history[:2]] == [Health.SUSPECT, Health.RESTARTING]
        assert history[1].decision is Decision.RESTART and "missed pings" in history[1].reason
        assert history[-1].next is Health.HEALTHY
        assert runtime.snapshot("counter")["count"] == 0          # a new actor, started again
    finally:
        runtime.stop()
