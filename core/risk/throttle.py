"""A token-bucket rate limit, told the time (pure: no clock). One bucket per client, owner or trader."""

from __future__ import annotations

import math

_NS = 1_000_000_000


class TokenBucket:
    """`rate_per_s` requests a second on average, up to `burst` at once. `take(now_ns)` spends one token and
    returns 0.0, or, when none is left, returns the seconds until one is (and spends nothing)."""

    __slots__ = ("rate_per_s", "burst", "tokens", "updated_ns")

    def __init__(self, rate_per_s: float, burst: int, now_ns: int = 0) -> None:
        if not (rate_per_s > 0 and math.isfinite(rate_per_s)) or burst < 1:
            raise ValueError(f"a token bucket needs rate_per_s > 0 and burst >= 1, got {rate_per_s}, {burst}")
        self.rate_per_s, self.burst = float(rate_per_s), int(burst)
        self.tokens, self.updated_ns = float(burst), now_ns

    def take(self, now_ns: int) -> float:
        elapsed_s = max(now_ns - self.updated_ns, 0) / _NS
        self.tokens = min(self.burst, self.tokens + elapsed_s * self.rate_per_s)
        self.updated_ns = max(now_ns, self.updated_ns)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate_per_s


class Throttle:
    """A TokenBucket per key (a client, an order's owner), created on first use; at most `max_keys` kept (the
    least recently used goes first, so a flood of new keys cannot grow it without bound)."""

    def __init__(self, rate_per_s: float, burst: int, max_keys: int = 10_000) -> None:
        TokenBucket(rate_per_s, burst)                     # the same checks, at construction
        self.rate_per_s, self.burst, self.max_keys = rate_per_s, burst, max_keys
        self.buckets: dict[str, TokenBucket] = {}

    def take(self, key: str, now_ns: int) -> float:
        """0.0 when `key` may go now, else the seconds until it may."""
        bucket = self.buckets.pop(key, None)
        if bucket is None:
            bucket = TokenBucket(self.rate_per_s, self.burst, now_ns)
            if len(self.buckets) >= self.max_keys:
                del self.buckets[next(iter(self.buckets))]
        self.buckets[key] = bucket                          # most recently used last
        return bucket.take(now_ns)
