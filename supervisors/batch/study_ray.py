"""The butterfly exit study's chunks as Ray tasks: the only study module that touches Ray.

A task is a chunk of paired trades (200 by default, seconds of work), never a Ray call per
trade; at most `max_in_flight` chunks wait at once and rows are yielded as chunks finish. A
chunk whose worker dies is retried by Ray (`max_retries`); an exception inside one ends the
study with that error (a study with missing trades would be a different study).
"""

from __future__ import annotations

from typing import Iterator

import ray

from supervisors.batch.study import FanOut, _chunk, _worker_init


def _chunk_task(log_level: str, *call) -> list[dict]:
    _worker_init(log_level)
    return _chunk(*call)


class RayFanOut(FanOut):
    def __init__(self, max_in_flight: int | None = None, max_retries: int = 3, log_level: str = "ERROR") -> None:
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        self.max_in_flight = max_in_flight or 2 * self.workers
        self.log_level = log_level
        self.remote = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)(_chunk_task)

    def map_unordered(self, calls: list[tuple]) -> Iterator[list[dict]]:
        pending = iter(calls)
        in_flight: list[ray.ObjectRef] = []
        while True:
            while len(in_flight) < self.max_in_flight and (call := next(pending, None)) is not None:
                in_flight.append(self.remote.remote(self.log_level, *call))
            if not in_flight:
                return
            ready, in_flight = ray.wait(in_flight, num_returns=1)
            yield ray.get(ready[0])
