"""ComponentSupervisor's decisions carried out on a fake runtime (no Ray)."""

from supervisors.component_supervisor import ComponentSupervisor
from supervisors.health import HealthPolicy, HealthSettings


class FakeRuntime:
    """Co-hosts broker and router; `down` names the components that do not answer."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.recreated: list[str] = []
        self.sent: list[tuple[str, object]] = []

    def ping_all(self, timeout_s: float) -> dict[str, bool]:
        return {name: name not in self.down for name in ("broker", "router", "trader-SPY-1")}

    def recreate(self, name: str) -> list[str]:
        self.recreated.append(name)
        together = ["broker", "router"] if name in ("broker", "router") else [name]
        self.down -= set(together)
        return together

    def send(self, name: str, message) -> None:
        self.sent.append((name, message))


def test_a_dead_co_host_group_is_recreated_once_not_once_per_member():
    runtime = FakeRuntime()
    supervisor = ComponentSupervisor(runtime, HealthPolicy(HealthSettings(misses_to_unhealthy=1, base_backoff_s=0.0)))
    supervisor.reconcile(0)
    runtime.down = {"broker", "router"}
    for step in range(1, 5):
        supervisor.reconcile(step * 1_000_000_000)
    assert runtime.recreated == ["broker"]
    assert runtime.down == set()


def test_a_replacement_that_fails_is_logged_and_tried_again_not_raised():
    runtime = FakeRuntime()
    attempts = []

    def failing(name: str) -> list[str]:
        attempts.append(name)
        if len(attempts) == 1:
            raise TimeoutError("Get timed out: some object(s) not ready.")
        return FakeRuntime.recreate(runtime, name)

    runtime.recreate = failing
    supervisor = ComponentSupervisor(runtime, HealthPolicy(HealthSettings(misses_to_unhealthy=1, base_backoff_s=0.0)))
    runtime.down = {"trader-SPY-1"}
    for step in range(1, 8):
        supervisor.reconcile(step * 1_000_000_000)                 # never raises
    assert attempts[:2] == ["trader-SPY-1", "trader-SPY-1"] and runtime.down == set()


def test_the_default_policy_waits_about_thirty_seconds_of_missed_pings_before_replacing():
    assert HealthSettings().misses_to_unhealthy * HealthSettings().period_s >= 20
