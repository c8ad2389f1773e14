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
