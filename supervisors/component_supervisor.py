"""ComponentSupervisor: the reconcile loop that keeps a runtime's actors alive.

Each `reconcile(now_ns)` pings every actor without blocking, lets `HealthPolicy` decide, and
carries the decisions out: RESTART recreates the actor from its component (it rebuilds from
the ledger in `on_start`; co-hosted components come back together, once), ESCALATE halts a
trader. Every transition is logged with its reason.
"""

from __future__ import annotations

from actors import names
from actors.runtime.logs import get_logger
from actors.runtime.telemetry import NULL_TELEMETRY, Telemetry
from core.orders import TradingHalted
from supervisors.health import Decision, HealthPolicy, Transition

_log = get_logger(component="symbol-supervisor")


class ComponentSupervisor:
    def __init__(self, runtime, policy: HealthPolicy | None = None, ping_timeout_s: float = 1.0,
                 telemetry: Telemetry = NULL_TELEMETRY) -> None:
        self.runtime = runtime
        self.policy = policy or HealthPolicy()
        self.ping_timeout_s = ping_timeout_s
        self.telemetry = telemetry
        self._seen: set[str] = set()

    def reconcile(self, now_ns: int) -> list[Transition]:
        answered = self.runtime.ping_all(self.ping_timeout_s)
        for name in answered.keys() - self._seen:         # zero series from the start: "none so far" is data
            self._seen.add(name)
            self.telemetry.count("spreadwright_health_check_misses_total", 0.0, component=name)
            self.telemetry.count("spreadwright_actor_restarts_total", 0.0, component=name)
        for name, ok in answered.items():
            self.telemetry.gauge("spreadwright_component_up", float(ok), component=name)
            if not ok:
                self.telemetry.count("spreadwright_health_check_misses_total", component=name)
        transitions = self.policy.step(now_ns, answered)
        restarted: set[str] = set()
        for transition in transitions:
            if transition.previous is not transition.next or transition.decision is not Decision.NONE:
                _log.info("health_transition", target=transition.component, previous=transition.previous.value,
                          next=transition.next.value, decision=transition.decision.value, reason=transition.reason)
            if transition.decision is Decision.RESTART and transition.component not in restarted:
                self.telemetry.count("spreadwright_actor_restarts_total", component=transition.component)
                try:
                    together = self.runtime.recreate(transition.component)
                except Exception as err:  # noqa: BLE001 - a failed replacement is retried next round, never fatal
                    _log.error("restart_failed", target=transition.component, error=f"{type(err).__name__}: {err}")
                    continue
                restarted.update(together)
                if len(together) > 1:
                    _log.info("co_hosted_restarted", target=transition.component, with_it=together)
            elif transition.decision is Decision.ESCALATE and names.is_trader(transition.component):
                self.runtime.send(transition.component, TradingHalted("", f"supervisor halted it: {transition.reason}",
                                                                      now_ns))
        return transitions
