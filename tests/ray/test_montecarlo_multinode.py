"""A real multi-node run: head + two worker nodes in one test; the tasks spread and the result is unchanged."""

import json
import subprocess
import sys
from pathlib import Path

from supervisors.montecarlo import InProcessExecutor, run_montecarlo
from supervisors.paper import free_port
from tests.supervisors.montecarlo_fixtures import tiny_config

ROOT = Path(__file__).parents[2]


def test_montecarlo_spreads_over_three_nodes_and_matches_the_single_node_result(tmp_path):
    # its own process: the session's local cluster already owns this process's ray.init
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "ray" / "multinode_montecarlo.py"),
                           str(tmp_path / "cluster"), str(free_port())],
                          cwd=ROOT, capture_output=True, text=True, timeout=420)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(report["alive_nodes"]) == 3
    assert len(report["task_nodes"]) > 1 and set(report["task_nodes"]) <= set(report["alive_nodes"])
    assert not report["failed"]
    run_montecarlo(tiny_config(paths=6, paths_per_task=1), tmp_path / "single", InProcessExecutor(), progress=False)
    for name in ("scenarios.csv", "paths.csv", "trades.csv", "equity_quantiles.csv"):
        assert (tmp_path / "cluster" / name).read_bytes() == (tmp_path / "single" / name).read_bytes(), name
