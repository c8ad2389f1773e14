"""Monte Carlo on Ray: the same aggregates as in one process, and a worker killed mid-run loses nothing."""

import os
import signal
import threading
import time

import psutil
import pytest

from supervisors.batch.montecarlo import InProcessExecutor, run_montecarlo
from tests.supervisors.batch.montecarlo_fixtures import tiny_config

COMPARED = ("scenarios.csv", "paths.csv", "trades.csv", "equity_quantiles.csv")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("mc-reference")
    run_montecarlo(tiny_config(paths=6, paths_per_task=1), out, InProcessExecutor(), progress=False)
    return {name: (out / name).read_bytes() for name in COMPARED}


def test_ray_tasks_give_the_in_process_aggregates_byte_for_byte(ray_cluster, reference, tmp_path):
    from supervisors.batch.montecarlo_ray import RayExecutor

    summary = run_montecarlo(tiny_config(paths=6, paths_per_task=1), tmp_path, RayExecutor(max_in_flight=3),
                             progress=False)
    assert summary["run"]["computed_paths"] == 12 and not summary["run"]["failed"]
    assert {name: (tmp_path / name).read_bytes() for name in COMPARED} == reference


def _kill_one_chunk_worker(killed: list, stop: threading.Event) -> None:
    """SIGKILL the first Ray worker seen running a Monte Carlo chunk (its process title names the task)."""
    while not stop.is_set() and not killed:
        for proc in psutil.process_iter(["pid", "cmdline"]):
            if any("run_chunk_task" in part for part in (proc.info["cmdline"] or [])) and proc.pid != os.getpid():
                os.kill(proc.pid, signal.SIGKILL)
                killed.append(proc.pid)
                return
        time.sleep(0.02)


def test_a_worker_killed_mid_run_has_its_chunk_retried_without_duplicate_or_missing_paths(ray_cluster, reference,
                                                                                          tmp_path):
    from supervisors.batch.montecarlo_ray import RayExecutor

    killed, stop = [], threading.Event()
    killer = threading.Thread(target=_kill_one_chunk_worker, args=(killed, stop), daemon=True)
    killer.start()
    try:
        summary = run_montecarlo(tiny_config(paths=6, paths_per_task=1), tmp_path, RayExecutor(max_in_flight=2),
                                 progress=False)
    finally:
        stop.set()
        killer.join(timeout=5)
    assert killed, "no chunk worker was found to kill"
    assert not summary["run"]["failed"] and summary["run"]["computed_paths"] == 12
    assert {name: (tmp_path / name).read_bytes() for name in COMPARED} == reference
