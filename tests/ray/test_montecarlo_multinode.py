"""A real multi-node run: head + two worker nodes in one test; the tasks spread and the result is unchanged."""

import json
import subprocess
import sys
from pathlib import Path

from supervisors.paper import free_port

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
    # the reference runs in a fresh process too: this pytest process carries state from earlier tests
    single = subprocess.run([sys.executable, str(ROOT / "tests" / "ray" / "multinode_montecarlo.py"),
                             str(tmp_path / "single"), "local"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]
    for name in ("paths.csv", "scenarios.csv", "trades.csv", "equity_quantiles.csv"):
        cluster, reference = ((tmp_path / d / name).read_text().splitlines() for d in ("cluster", "single"))
        assert cluster == reference, (name, [(a, b) for a, b in zip(cluster, reference) if a != b][:3])
