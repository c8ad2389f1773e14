"""Seeded per-route latency samplers for the inline runtime.

Each route draws from its own generator, seeded from (runtime seed, route name),
so adding a component or a route never changes the draws of another route.
"""

from __future__ import annotations

import zlib
from typing import Callable

import numpy as np

from config.runtime import LatencySpec, RuntimeConfig

_BATCH = 4096


def route_spec(config: RuntimeConfig, sender: str, receiver: str) -> LatencySpec:
    """Most specific match: exact route, then 'sender->*', '*->receiver', '*->*', then the default."""
    routes = config.route_latency
    for key in (f"{sender}->{receiver}", f"{sender}->*", f"*->{receiver}", "*->*"):
        if key in routes:
            return routes[key]
    return config.default_latency


def make_sampler(spec: LatencySpec, seed: int, route: str) -> Callable[[], int] | None:
    """A zero-argument callable giving delays in ns, or None for a zero delay."""
    if spec.distribution == "constant":
        delay_ns = int(round(spec.base_us * 1000))
        return None if delay_ns == 0 else (lambda: delay_ns)
    rng = np.random.default_rng([seed, zlib.crc32(route.encode())])
    buffer: list[int] = []

    def draw() -> list[int]:
        if spec.distribution == "uniform":
            delays_us = rng.uniform(spec.base_us - spec.jitter_us, spec.base_us + spec.jitter_us, _BATCH)
        else:
            delays_us = spec.base_us * np.exp(spec.sigma * rng.standard_normal(_BATCH))
        return np.rint(delays_us * 1000).astype(np.int64)[::-1].tolist()

    def sample() -> int:
        if not buffer:
            buffer.extend(draw())
        return buffer.pop()

    return sample
