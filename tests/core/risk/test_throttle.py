"""The token bucket: a burst at once, then the rate; a wait in seconds when empty; bounded keys."""

import pytest

from core.risk.throttle import Throttle, TokenBucket

S = 1_000_000_000


def test_a_burst_then_the_rate_and_the_wait_until_the_next_token():
    bucket = TokenBucket(rate_per_s=10, burst=3)
    assert [bucket.take(0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0) == pytest.approx(0.1)
    assert bucket.take(S // 20) == pytest.approx(0.05)     # half a token refilled
    assert bucket.take(S // 10) == 0.0
    assert bucket.take(10 * S) == 0.0 and bucket.tokens == pytest.approx(2.0)   # refilled to the burst, not beyond


def test_keys_are_limited_apart_and_their_number_is_bounded():
    throttle = Throttle(rate_per_s=1, burst=1, max_keys=2)
    assert throttle.take("a", 0) == 0.0 and throttle.take("b", 0) == 0.0
    assert throttle.take("a", 0) == pytest.approx(1.0)
    throttle.take("c", 0)
    assert set(throttle.buckets) == {"a", "c"}             # b was the least recently used


def test_a_bad_rate_is_refused():
    with pytest.raises(ValueError):
        TokenBucket(0, 1)
