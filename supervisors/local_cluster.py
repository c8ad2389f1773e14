"""A `ray up` node provider whose one node is this machine: no cloud, no SSH.

Ray's cluster launcher (`ray up`, `ray submit`, `ray exec`, `ray down`) drives nodes through a
node provider and a command runner; the cloud ones start VMs and speak SSH. This one
(`provider: {type: external, module: supervisors.local_cluster.LocalNodeProvider}`) keeps a
single head node that is a directory on this machine: commands run as local `bash` processes
with HOME set to the node's home, files are copied instead of rsynced. The launcher's own code
path is the same as on a cloud (config bootstrap, file mounts, setup and start commands, the
script copied and run by `ray submit`), so `deploy/local_cluster.yaml` rehearses
`ray submit deploy/cluster.yaml deploy/jobs/paper_session.py` where no cloud account or SSH
server is at hand (CI, a workstation).

Provider settings (the YAML's `provider:`): `node_dir` (required: the node's state and home),
`pid_file` (optional, relative to the node's home: the process group `ray down` stops; the
head's start command writes it). The `ray stop` that `ray down` sends stops only that group: run
as written it would stop every Ray on the machine.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from ray.autoscaler.command_runner import CommandRunnerInterface
from ray.autoscaler.node_provider import NodeProvider
from ray.autoscaler.tags import NODE_KIND_HEAD, TAG_RAY_NODE_KIND

HEAD_NODE_ID = "local-head"
LOCAL_IP = "127.0.0.1"
_STOP_WAIT_S = 30.0
_RAY_STOP = re.compile(r"(^|[;&|(\s])ray\s+stop\b")


class LocalClusterError(RuntimeError):
    """A request this one-node provider cannot serve (a worker node, a missing `node_dir`)."""


class LocalNodeProvider(NodeProvider):
    """The head node's tags and state live in `<node_dir>/nodes.json`: `ray up`, `ray submit` and
    `ray down` are separate processes and must see the same cluster."""

    def __init__(self, provider_config: dict[str, Any], cluster_name: str) -> None:
        super().__init__(provider_config, cluster_name)
        if not provider_config.get("node_dir"):
            raise LocalClusterError("provider.node_dir: required (where the local node keeps its home and state)")
        self.node_dir = Path(os.path.expanduser(provider_config["node_dir"])).resolve()
        self.home = self.node_dir / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self._state_file = self.node_dir / "nodes.json"

    # ------------------------------------------------------------------ state

    def _nodes(self) -> dict[str, dict[str, Any]]:
        if not self._state_file.exists():
            return {}
        return json.loads(self._state_file.read_text())

    def _save(self, nodes: dict[str, dict[str, Any]]) -> None:
        temporary = self._state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(nodes, indent=1, sort_keys=True))
        temporary.replace(self._state_file)

    def non_terminated_nodes(self, tag_filters: dict[str, str]) -> list[str]:
        return [node_id for node_id, node in self._nodes().items()
                if node["state"] == "running" and all(node["tags"].get(k) == v for k, v in tag_filters.items())]

    def is_running(self, node_id: str) -> bool:
        return self._nodes().get(node_id, {}).get("state") == "running"

    def is_terminated(self, node_id: str) -> bool:
        return not self.is_running(node_id)

    def node_tags(self, node_id: str) -> dict[str, str]:
        return dict(self._nodes()[node_id]["tags"])

    def external_ip(self, node_id: str) -> str:
        return LOCAL_IP

    def internal_ip(self, node_id: str) -> str:
        return LOCAL_IP

    def set_node_tags(self, node_id: str, tags: dict[str, str]) -> None:
        nodes = self._nodes()
        nodes[node_id]["tags"].update(tags)
        self._save(nodes)

    def create_node(self, node_config: dict[str, Any], tags: dict[str, str], count: int) -> dict[str, Any]:
        if tags.get(TAG_RAY_NODE_KIND) != NODE_KIND_HEAD or count != 1:
            raise LocalClusterError(f"a local cluster has one node, the head: asked for {count} x {tags}")
        nodes = self._nodes()
        nodes[HEAD_NODE_ID] = {"state": "running", "tags": dict(tags)}
        self._save(nodes)
        return {HEAD_NODE_ID: nodes[HEAD_NODE_ID]}

    def terminate_node(self, node_id: str) -> None:
        """Stops the node's Ray (see `stop_node_ray`), then marks the node gone."""
        stop_node_ray(self.home, self.provider_config.get("pid_file"))
        nodes = self._nodes()
        if node_id in nodes:
            nodes[node_id]["state"] = "terminated"
            self._save(nodes)

    def get_command_runner(self, log_prefix, node_id, auth_config, cluster_name, process_runner, use_internal_ip,
                           docker_config=None) -> CommandRunnerInterface:
        return LocalCommandRunner(self.home, self.provider_config.get("pid_file"))


class LocalCommandRunner(CommandRunnerInterface):
    """Runs a node's commands as `bash` here, in the node's home, and copies files into it.

    `ray stop` is the one command not run as written: here it would stop every Ray on the machine
    (the launcher sends it on `ray down`). It stops the node's own Ray instead; a command that
    runs `ray stop` among others (a cloud YAML's start commands, `ray submit --stop`) is refused."""

    def __init__(self, home: Path, pid_file: str | None = None) -> None:
        self.home = home
        self.pid_file = pid_file

    def run(self, cmd=None, timeout=120, exit_on_fail=False, port_forward=None, with_output=False,
            environment_variables=None, run_env="auto", ssh_options_override_ssh_key="", shutdown_after_run=False):
        if not cmd:
            return b"" if with_output else 0
        if cmd.strip() == "ray stop":
            stop_node_ray(self.home, self.pid_file)
            return b"" if with_output else 0
        if _RAY_STOP.search(cmd):
            raise LocalClusterError(f"`ray stop` would stop every Ray on this machine; a local node stops its own "
                                    f"on `ray down` (start it with `ray start --block` and name its pid_file): {cmd}")
        env = {**os.environ, "HOME": str(self.home)}
        user_token = Path(os.path.expanduser("~/.ray/auth_token"))
        if user_token.is_file() and not {"RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"} & env.keys():
            # Ray's token, found under the real HOME, goes with the node; `ray start` then turns token auth on,
            # so the node's clients (`ray status`, the job) must use it too
            env["RAY_AUTH_TOKEN_PATH"] = str(user_token)
            env.setdefault("RAY_AUTH_MODE", "token")
        env.update({key: value if isinstance(value, str) else json.dumps(value)
                    for key, value in (environment_variables or {}).items()})
        done = subprocess.run(["bash", "-c", cmd], cwd=self.home, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE if with_output else None)
        if done.returncode != 0:
            import click  # the launcher's CLI reports a failed node command as a ClickException, as SSH's runner does

            raise click.ClickException(f"command failed on the local node (exit {done.returncode}): {cmd}")
        return done.stdout if with_output else done.returncode

    def run_rsync_up(self, source: str, target: str, options: dict[str, Any] | None = None) -> None:
        copy_path(Path(os.path.expanduser(source)), self._on_node(target), (options or {}).get("rsync_exclude"))

    def run_rsync_down(self, source: str, target: str, options: dict[str, Any] | None = None) -> None:
        copy_path(self._on_node(source), Path(os.path.expanduser(target)), (options or {}).get("rsync_exclude"))

    def remote_shell_command_str(self) -> str:
        return f"cd {self.home} && HOME={self.home} bash\n"

    def run_init(self, *, as_head: bool, file_mounts: dict[str, str], sync_run_yet: bool):
        return None

    def _on_node(self, path: str) -> Path:
        """A node path: `~` is the node's home; a relative path is relative to it, as over SSH."""
        if path.startswith("~"):
            return self.home / path[1:].lstrip("/")
        return Path(path) if os.path.isabs(path) else self.home / path


def copy_path(source: Path, target: Path, exclude: list[str] | None = None) -> None:
    """rsync's `source target` for what the launcher sends: a file to a file, a directory's contents
    into a directory; names matching an `exclude` pattern (rsync_exclude) are skipped."""
    patterns = [p.rstrip("/").removeprefix("**/") for p in exclude or []]

    def ignored(directory: str, names: list[str]) -> set[str]:
        relative = Path(directory).relative_to(source)
        return {name for name in names for p in patterns
                if fnmatch.fnmatch(name, p) or fnmatch.fnmatch(str(relative / name), p)}

    if source.is_dir():
        shutil.copytree(source, target, ignore=ignored, dirs_exist_ok=True, symlinks=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def stop_node_ray(home: Path, pid_file: str | None, address_file: Path | None = None) -> None:
    """Stops the process group whose leader's pid is in `home/pid_file` (the head's `ray start
    --block`, which stops its Ray processes on SIGTERM); nothing when there is none. Then, as
    `ray stop` does, forgets the machine's default cluster (`/tmp/ray/ray_current_cluster`) if it
    is now dead: left behind, it makes the next `ray.init()` here join a cluster that is gone."""
    if not pid_file or not (home / pid_file).exists():
        return
    stop_process_group(int((home / pid_file).read_text().split()[0]))
    (home / pid_file).unlink()
    forget_dead_default_cluster(address_file)


def forget_dead_default_cluster(address_file: Path | None = None) -> None:
    """Removes Ray's default-cluster address file when nothing answers at the address it holds."""
    from ray._common.utils import get_ray_address_file

    path = Path(address_file or get_ray_address_file(None))
    if not path.is_file():
        return
    host, _, port = path.read_text().strip().rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1.0).close()
    except (OSError, ValueError):
        path.unlink(missing_ok=True)


def stop_process_group(pid: int, wait_s: float = _STOP_WAIT_S) -> None:
    """SIGTERM to the group led by `pid` (`ray start --block` stops its Ray processes on it), SIGKILL after `wait_s`."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not process_group_alive(pid):
            return
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass                                                     # gone between the last look and now


def process_group_alive(pid: int) -> bool:
    """Whether any process of the group led by `pid` is still there."""
    try:
        os.killpg(pid, 0)
        return True
    except ProcessLookupError:
        return False
