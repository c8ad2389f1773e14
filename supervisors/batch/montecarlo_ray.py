"""Monte Carlo chunks as Ray tasks: bounded in flight, retried when their worker dies.

The only Monte Carlo module that touches Ray. A task is a whole chunk of backtests (never a Ray
call per event); at most `max_in_flight` run or wait at once, so a million paths do not put a
million task specs in the driver; results are yielded as they finish and released at once.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import ray
from ray.exceptions import RayError, RayTaskError

from supervisors.batch.montecarlo import ChunkExecutor
from supervisors.batch.montecarlo_paths import ChunkTask, run_chunk


def run_chunk_task(task: ChunkTask) -> dict[str, Any]:
    """run_chunk, plus where and how long it ran (for the report and the multi-node test)."""
    started = time.perf_counter()
    result = run_chunk(task)
    result["task_seconds"] = time.perf_counter() - started
    result["node_id"] = ray.get_runtime_context().get_node_id()
    return result


class RayExecutor(ChunkExecutor):
    def __init__(self, max_in_flight: int | None = None, max_retries: int = 3, chunk_function=run_chunk_task) -> None:
        """`chunk_function(task) -> result` runs in the tasks (run_chunk_task; benches pass a synthetic one)."""
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = cpus
        self.max_in_flight = max_in_flight or 2 * cpus
        self.remote = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)(chunk_function)

    def run(self, tasks: list[ChunkTask]) -> Iterator[tuple[ChunkTask, Any]]:
        pending = iter(tasks)
        in_flight: dict[ray.ObjectRef, ChunkTask] = {}
        self._top_up(in_flight, pending)
        while in_flight:
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            task = in_flight.pop(ready[0])
            yield task, self._outcome(ready[0])
            self._top_up(in_flight, pending)

    def _top_up(self, in_flight: dict, pending: Iterator[ChunkTask]) -> None:
        while len(in_flight) < self.max_in_flight:
            task = next(pending, None)
            if task is None:
                return
            in_flight[self.remote.remote(task)] = task

    @staticmethod
    def _outcome(ref: ray.ObjectRef) -> Any:
        """The chunk's result, or the error that ended it after Ray's retries (reported, not raised)."""
        try:
            return ray.get(ref)
        except RayTaskError as err:
            return err.as_instanceof_cause()
        except RayError as err:
            return err


def submit_as_job(address: str, command: list[str]) -> int:
    """Run `command` (a Monte Carlo or a study, joining its cluster with `--address auto`) as a Ray job on
    the cluster at `address` (its dashboard/jobs URL), following its logs until it ends. The ray CLI does
    the submission (auth tokens, working-dir upload, log streaming) exactly as an operator would."""
    import subprocess
    import sys
    from pathlib import Path

    ray_cli = str(Path(sys.executable).parent / "ray")
    root = Path(__file__).resolve().parents[2]
    print(f"submitting to {address}: {' '.join(command)}", flush=True)
    return subprocess.call([ray_cli, "job", "submit", "--address", address, "--working-dir", str(root),
                            "--runtime-env", str(root / "deploy" / "runtime_env.yaml"), "--", *command])
