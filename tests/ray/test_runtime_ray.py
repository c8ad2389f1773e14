import os
import signal
import time

from actors.runtime.inline import InlineRuntime
from actors.runtime.pingpong import Counter, Quoter, pingpong_done
from actors.runtime.ray_runtime import RayRuntime
from config.runtime import RuntimeConfig
from tests.kit.topologies import pingpong
from tests.ray.waiting import SLACK


def test_same_topology_same_final_state_on_both_runtimes(ray_cluster):
    inline = InlineRuntime(RuntimeConfig(check_serializable=True))
    pingpong(inline, bursts=100, per_burst=50)
    assert inline.run_until(pingpong_done)

    remote = RayRuntime(RuntimeConfig(kind="ray", ray_namespace="t-pingpong"))
    pingpong(remote, bursts=100, per_burst=50)
    remote.start()
    try:
        assert remote.run_until(pingpong_done, timeout_s=120 * SLACK)
        ray_state = remote.snapshots()
    finally:
        remote.stop()
    assert ray_state == inline.snapshots()
    assert ray_state["counter"]["count"] == 5_000 and ray_state["quoter"]["acks"] == 5_000


def test_a_sigkilled_component_actor_is_restarted_by_ray(ray_cluster):
    remote = RayRuntime(RuntimeConfig(kind="ray", ray_namespace="t-restart", max_restarts=-1))
    remote.add(Quoter(bursts=1, per_burst=1))
    remote.add(Counter())
    remote.start()
    try:
        assert remote.run_until(pingpong_done, timeout_s=30 * SLACK)
        assert remote.snapshot("counter")["count"] == 1
        old_pid = ray_cluster.get(remote.handle("counter").pid.remote())
        os.kill(old_pid, signal.SIGKILL)
        new_pid, deadline = old_pid, time.monotonic() + 60
        while new_pid == old_pid and time.monotonic() < deadline:
            try:
                new_pid = ray_cluster.get(remote.handle("counter").pid.remote(), timeout=2)
            except (ray_cluster.exceptions.RayActorError, ray_cluster.exceptions.GetTimeoutError):
                time.sleep(0.05)   # restarting: calls fail until the new process is up
        assert new_pid != old_pid, "counter actor did not come back"
        assert remote.snapshot("counter")["count"] == 0   # rebuilt by its constructor, not from memory
    finally:
        remote.stop()


def test_co_hosted_components_share_one_actor_and_still_match_the_inline_run(ray_cluster):
    inline = InlineRuntime(RuntimeConfig(check_serializable=True))
    pingpong(inline, bursts=50, per_burst=20)
    assert inline.run_until(pingpong_done)

    remote = RayRuntime(RuntimeConfig(kind="ray", ray_namespace="t-cohost", co_host=(("quoter", "counter"),)))
    pingpong(remote, bursts=50, per_burst=20)
    remote.start()
    try:
        assert remote.handle("quoter") == remote.handle("counter")
        assert remote.co_hosted_with("counter") == ["quoter", "counter"]
        assert remote.run_until(pingpong_done, timeout_s=60 * SLACK)
        assert remote.snapshots() == inline.snapshots()
        assert remote.ping_all() == {"quoter": True, "counter": True}
        assert remote.stop(names=["quoter"]) == {}
        assert remote.ping_all() == {"counter": True}       # the group's actor lives on for its other member
        assert remote.snapshot("counter")["count"] == 1_000
    finally:
        remote.stop()


def test_a_restarted_co_host_group_comes_back_whole(ray_cluster):
    remote = RayRuntime(RuntimeConfig(kind="ray", ray_namespace="t-cohost-restart", co_host=(("quoter", "counter"),)))
    pingpong(remote, bursts=1, per_burst=3)
    remote.start()
    try:
        assert remote.run_until(pingpong_done, timeout_s=30 * SLACK)
        assert sorted(remote.recreate("counter")) == ["counter", "quoter"]
        assert remote.ping_all(timeout_s=5) == {"quoter": True, "counter": True}
        assert remote.run_until(pingpong_done, timeout_s=30 * SLACK)     # started again: the quoter's burst went round
        assert remote.snapshot("counter")["count"] == 3           # counted from a fresh start, not 6
    finally:
        remote.stop()


def test_a_recreated_actor_is_reached_again_by_the_actors_that_knew_the_old_one(ray_cluster):
    """The counter acknowledges each quote through the handle it looked up once; after the supervisor's
    `recreate` replaced the quoter's actor, those acknowledgements must reach the new quoter, not the dead one."""
    remote = RayRuntime(RuntimeConfig(kind="ray", ray_namespace="t-recreate", co_host=()))
    pingpong(remote, bursts=1, per_burst=3)
    remote.start()
    try:
        assert remote.run_until(pingpong_done, timeout_s=30 * SLACK)
        assert remote.recreate("quoter") == ["quoter"]
        assert remote.run_until(lambda s: s["quoter"]["acks"] == 3, timeout_s=30 * SLACK), remote.snapshots()
        assert remote.snapshot("counter")["count"] == 6                # the counter lived on: 3 + 3
    finally:
        remote.stop()
