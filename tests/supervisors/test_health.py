from supervisors.health import NS, Decision, Health, HealthPolicy, HealthSettings

SETTINGS = HealthSettings(period_s=1.0, misses_to_unhealthy=3, base_backoff_s=1.0, max_backoff_s=4.0,
                          max_restarts=3, restart_window_s=100.0)


def test_unhealthy_only_after_several_misses_then_restart_with_a_reason():
    policy = HealthPolicy(SETTINGS)
    states = [policy.step(t * NS, {"trader": False})[0] for t in range(3)]
    assert [s.next for s in states] == [Health.SUSPECT, Health.SUSPECT, Health.RESTARTING]
    assert [s.decision for s in states] == [Decision.NONE, Decision.NONE, Decision.RESTART]
    assert "3 missed pings" in states[-1].reason and states[-1].previous is Health.SUSPECT


def test_a_single_answer_clears_suspicion():
    policy = HealthPolicy(SETTINGS)
    policy.step(0, {"t": False})
    transition = policy.step(NS, {"t": True})[0]
    assert (transition.previous, transition.next, transition.reason) == (Health.SUSPECT, Health.HEALTHY,
                                                                          "recovered from SUSPECT")


def test_restarts_back_off_exponentially_and_escalate_to_halted():
    policy = HealthPolicy(HealthSettings(period_s=1.0, misses_to_unhealthy=2, base_backoff_s=2.0, max_backoff_s=8.0,
                                         max_restarts=3, restart_window_s=100.0))
    restarts, escalated_at = [], None
    for second in range(60):
        (t,) = policy.step(second * NS, {"t": False})
        if t.decision is Decision.RESTART:
            restarts.append(second)
        if t.decision is Decision.ESCALATE:
            escalated_at = second
            break
    gaps = [b - a for a, b in zip(restarts, restarts[1:])]
    assert restarts == [1, 3, 7] and gaps == [2, 4]                 # backoff doubles between restarts
    assert escalated_at is not None
    (after,) = policy.step((escalated_at + 1) * NS, {"t": True})
    assert after.next is Health.HALTED and after.decision is Decision.NONE   # halted stays halted


def test_restarts_outside_the_window_do_not_count():
    policy = HealthPolicy(
        HealthSettings(misses_to_unhealthy=1, base_backoff_s=0.1, max_restarts=2, restart_window_s=10)
    )
    decisions = [policy.step(t * NS, {"t": False})[0].decision for t in (0, 20, 40, 60)]
    assert decisions == [Decision.RESTART] * 4


def test_ping_periods_are_jittered_and_seeded():
    a, b = HealthPolicy(SETTINGS, seed=1), HealthPolicy(SETTINGS, seed=1)
    delays = [a.next_ping_delay_ns() for _ in range(20)]
    assert delays == [b.next_ping_delay_ns() for _ in range(20)]
    assert len(set(delays)) > 10 and all(0.8 * NS <= d <= 1.2 * NS for d in delays)
