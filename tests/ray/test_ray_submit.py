"""`ray up` / `ray submit` / `ray down`, the cluster launcher's path, end to end on deploy/local_cluster.yaml
(one node, this machine: supervisors/local_cluster.py), beside the suite's own cluster, which must survive it."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from supervisors.local_cluster import process_group_alive
from supervisors.paper import free_port

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent


def local_cluster_yaml(where: Path, port: int) -> Path:
    """deploy/local_cluster.yaml with its node under `where` and a head on ports of its own (the suite's cluster
    holds Ray's default ones) whose session files stay out of /tmp/ray (it must not become the default)."""
    config = yaml.safe_load((ROOT / "deploy" / "local_cluster.yaml").read_text())
    config["cluster_name"] = f"sw-test-{port}"
    config["provider"]["node_dir"] = str(where / "node")
    start, wait = config["head_start_ray_commands"]
    own_ports = (f"--port={port} --num-cpus=2 --temp-dir={where / 'ray'} --include-dashboard=false "
                 f"--dashboard-agent-listen-port={free_port()} --dashboard-agent-grpc-port={free_port()} "
                 f"--runtime-env-agent-port={free_port()} --metrics-export-port={free_port()}")
    config["head_start_ray_commands"] = [start.replace("--port=6390", own_ports), wait.replace("6390", str(port))]
    config["file_mounts"] = {"~/spreadwright": str(ROOT)}
    path = where / "cluster.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_ray_submit_runs_the_paper_session_on_a_ray_up_cluster_and_ray_down_stops_only_that_cluster(ray_cluster):
    where = Path(tempfile.mkdtemp(prefix="rs", dir="/tmp"))          # short: Ray's socket paths have a length limit
    port = free_port()
    cluster = local_cluster_yaml(where, port)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "SPREADWRIGHT__TIMING__MIN_DELAY_BETWEEN_ATTEMPTS": "0.2",
           "SPREADWRIGHT__TIMING__MAX_DELAY_BETWEEN_ATTEMPTS": "0.5",
           "SPREADWRIGHT__BROKER__PAPER_EXPIRY_DAYS": "[7, 14, 30]",
           "SPREADWRIGHT__RUNTIME__RAY_NAMESPACE": "t-ray-submit"}
    run = dict(cwd=ROOT, env=env, capture_output=True, text=True)
    try:
        up = subprocess.run([str(BIN / "ray"), "up", "-y", str(cluster)], timeout=300, **run)
        submitted = subprocess.run(
            [str(BIN / "ray"), "submit", str(cluster), "deploy/jobs/paper_session.py", "--profile", "paper",
             "--duration-s", "12", "--status-every-s", "3", "--address", f"127.0.0.1:{port}"], timeout=300, **run)
        pid = int((where / "node" / "home" / "ray-head.pid").read_text())
    finally:
        down = subprocess.run([str(BIN / "ray"), "down", "-y", str(cluster)], timeout=300, **run)
    try:
        assert up.returncode == 0, (up.stdout + up.stderr)[-4000:]
        output = submitted.stdout + submitted.stderr
        assert submitted.returncode == 0, output[-4000:]
        assert "traders 9;" in output and "0 left working" in output, output[-4000:]
        assert (where / "node" / "home" / "paper_session.py").exists()          # the script went to the node
        assert (where / "node" / "home" / "spreadwright" / "supervisors" / "local_cluster.py").exists()  # file mounts
        assert (where / "node" / "home" / "reports" / "out" / "paper" / "ledger.db").exists()
        assert down.returncode == 0, (down.stdout + down.stderr)[-4000:]
        assert not process_group_alive(pid), "ray down left the head's Ray running"
        assert json.loads((where / "node" / "nodes.json").read_text())["local-head"]["state"] == "terminated"
        assert ray_cluster.get(ray_cluster.remote(lambda: 7).remote(), timeout=60) == 7   # the suite's Ray lives on
    finally:
        if process_group_alive(pid):
            os.killpg(pid, 9)
        shutil.rmtree(where, ignore_errors=True)
