"""The cluster path end to end: `ray start --head`, then `ray job submit ... python -m supervisors.paper`, then
`spreadwright montecarlo --address http://head:8265` (submitted as a job there; `study --address http://...` goes
through the same helper: its job command is checked in tests/supervisors/test_cli.py)."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from supervisors.paper import free_port

ROOT = Path(__file__).parents[2]


def wait_answering(url, timeout_s):
    """Until the dashboard answers at all (401 counts: Ray 2.60 enables token auth, which the CLI handles)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1.0).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")
RAY = str(Path(sys.executable).parent / "ray")


def run_until_an_agent_takes_it(command, timeout_s=90, **kwargs):
    """`ray job submit`, again while the head says its job agent is not up yet (the dashboard answers
    before the agent; slow when another Ray runs beside it). No job exists after that refusal."""
    deadline = time.monotonic() + timeout_s
    while True:
        done = subprocess.run(command, **kwargs)
        if "No available agent to submit job" not in done.stdout + done.stderr or time.monotonic() > deadline:
            return done
        time.sleep(2)


def test_paper_session_runs_as_a_ray_job_on_a_head_started_with_ray_start():
    temp_dir = tempfile.mkdtemp(prefix="rj", dir="/tmp")        # short: Ray's socket paths have a length limit
    port, dashboard = free_port(), free_port()
    # Ray 2.60: `ray start` enables token auth, so clients must too; `python` in the job is this venv's, as on a
    # cluster node where the project is installed.
    # The job's driver inherits the head's environment, not `ray job submit`'s: the settings go to both. Three
    # expirations a week or more out, so 9 traders are listed at any hour (a 0DTE chain is gone after 16:00 NY).
    session_env = {"SPREADWRIGHT__TIMING__MIN_DELAY_BETWEEN_ATTEMPTS": "0.2",
                   "SPREADWRIGHT__TIMING__MAX_DELAY_BETWEEN_ATTEMPTS": "0.5",
                   "SPREADWRIGHT__BROKER__PAPER_EXPIRY_DAYS": "[7, 14, 30]"}
    auth = {**os.environ, **session_env, "RAY_AUTH_MODE": "token",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    head = subprocess.Popen(
        [
            RAY,
            "start",
            "--head",
            "--block",
            f"--port={port}",
            f"--dashboard-port={dashboard}",
            "--dashboard-host=127.0.0.1",
            "--num-cpus=2",
            f"--temp-dir={temp_dir}",
            "--include-dashboard=true",
            "--disable-usage-stats",
            # its own agent ports: the suite's shared cluster holds Ray's default ones
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--metrics-export-port={free_port()}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=auth,
    )
    address = f"http://127.0.0.1:{dashboard}"
    env = {**auth, "RAY_ADDRESS": address, "SPREADWRIGHT__RUNTIME__RAY_NAMESPACE": "t-job"}
    try:
        wait_answering(address + "/api/version", timeout_s=90)
        submitted = run_until_an_agent_takes_it(
            [RAY, "job", "submit", "--address", address, "--working-dir", ".",
             "--runtime-env", "deploy/runtime_env.yaml", "--",
             "python", "-m", "supervisors.paper", "--profile", "config/profiles/paper.yaml", "--duration-s", "12",
             "--status-every-s", "3"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        mc_out = Path(temp_dir) / "mc-out"
        montecarlo = subprocess.run(
            [str(Path(sys.executable).parent / "spreadwright"), "montecarlo", "--address", address, "--paths", "1",
             "--out", str(mc_out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        mc_paths = (mc_out / "paths.csv").read_text() if (mc_out / "paths.csv").exists() else ""
        listed = subprocess.run([RAY, "job", "list", "--address", address], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
    finally:
        head.terminate()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
        shutil.rmtree(temp_dir, ignore_errors=True)
    output = submitted.stdout + submitted.stderr
    assert submitted.returncode == 0, output[-4000:]
    assert "traders 9;" in output and "0 left working" in output, output[-4000:]
    mc_output = montecarlo.stdout + montecarlo.stderr
    assert montecarlo.returncode == 0, mc_output[-4000:]
    assert "4 paths computed" in mc_output and len(mc_paths.splitlines()) == 1 + 4, mc_output[-4000:]
    assert listed.stdout.count("status=<JobStatus.SUCCEEDED") == 2, listed.stdout + listed.stderr
    assert not Path("/tmp/ray/ray_current_cluster").exists() or time.time() - Path(
        "/tmp/ray/ray_current_cluster").stat().st_mtime > 300       # the test's head did not become the default
