"""The kill switch's triggers trip on what they watch, and not before."""

from core.risk.killswitch import Disconnect, DrawdownSlope, RejectRate

S = 1_000_000_000


def test_drawdown_slope_trips_on_a_fast_fall_not_a_slow_one():
    slope = DrawdownSlope(window_s=600, drawdown_usd=1_000)
    assert slope.observe(0, 0.0) is None
    assert slope.observe(300 * S, 500.0) is None
    assert "fell $1,200.00" in slope.observe(500 * S, -700.0)
    slow = DrawdownSlope(window_s=600, drawdown_usd=1_000)
    for minute in range(60):                                   # -$100 a minute: never $1,000 within 10 minutes?
        reason = slow.observe(minute * 60 * S, -minute * 90.0)
    assert reason is None                                      # 90 x 10 = 900 within any window


def test_reject_rate_needs_enough_answers_and_a_high_share_refused():
    rate = RejectRate(window_s=60, min_orders=10, fraction=0.5)
    assert all(rate.observe(i * S, True) is None for i in range(9))
    assert "10 of 10" in rate.observe(9 * S, True)
    calm = RejectRate(window_s=60, min_orders=10, fraction=0.5)
    results = [calm.observe(i * S, i % 3 == 0) for i in range(30)]
    assert all(r is None for r in results)
    old = RejectRate(window_s=10, min_orders=5, fraction=0.5)
    for i in range(5):
        old.observe(i * S, True)
    assert old.observe(100 * S, False) is None                 # the refusals left the window


def test_disconnect_trips_after_the_grace_time_and_not_once_back():
    switch = Disconnect(grace_s=30)
    switch.update(False, 0, "connection refused")
    assert switch.check(30 * S) is None
    assert "connection refused" in switch.check(31 * S)
    switch.update(True, 32 * S)
    assert switch.check(100 * S) is None


def test_reject_rate_counts_a_venue_reject_of_a_passed_order_once():
    rate = RejectRate(window_s=60, min_orders=10, fraction=0.95)
    for i in range(10):
        assert rate.observe(i * S, False) is None                    # the gate passed it
        reason = rate.observe(i * S, True, new_order=False)          # the venue rejected it
    assert reason is not None and "10 of 10" in reason
