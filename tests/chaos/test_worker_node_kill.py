"""SIGKILL of a Ray worker node in the middle of a butterfly exit (the first vertical closed, the second working):
the order path comes back on the other node, the exit finishes, and nothing is duplicated or lost."""

import json
import math
import subprocess
import sys
from pathlib import Path

from supervisors.paper import free_port

ROOT = Path(__file__).parents[2]


def test_a_killed_worker_node_leaves_no_leg_naked_and_nothing_duplicated_or_lost(tmp_path):
    # its own process and cluster: the tests' local cluster owns this process's ray.init
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "chaos" / "worker_node_kill.py"), str(tmp_path),
                           str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["exit_seen"], "no butterfly exit's second vertical was seen working"
    assert report["order_path_answered"], report
    assert report["order_path_node_before"] != report["order_path_node_after"]
    assert report["order_path_node_after"] in report["worker_nodes"]
    assert report["exit_finished"], report
    assert report["duplicated"] == 0 and report["lost"] == 0, report
    assert report["left_naked"] == [] and math.isfinite(report["killed_fly_naked_s"]), report
    print(f"worker node killed mid-exit: order path back in {report['order_path_back_s']:.2f} s, the fly's leg naked "
          f"{report['killed_fly_naked_s']:.2f} s beyond {report['max_partial_exposure_ms']} ms")
