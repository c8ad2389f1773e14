"""supervisors/local_cluster.py without Ray running: the node's state across launcher processes, its
commands and copies, and the `ray stop` guard (run as written it would stop every Ray on the machine)."""

import os
import socket
import sys
import time

import click
import pytest
from ray.autoscaler.tags import TAG_RAY_NODE_KIND, TAG_RAY_NODE_STATUS

from supervisors.local_cluster import (
    HEAD_NODE_ID,
    LocalClusterError,
    LocalCommandRunner,
    LocalNodeProvider,
    copy_path,
    forget_dead_default_cluster,
    process_group_alive,
)
from supervisors.paper import free_port


def provider(tmp_path, **extra):
    return LocalNodeProvider({"type": "external", "node_dir": str(tmp_path / "node"), **extra}, "c")


def test_the_head_node_outlives_the_launcher_process_that_created_it(tmp_path):
    first = provider(tmp_path)
    first.create_node({}, {TAG_RAY_NODE_KIND: "head", TAG_RAY_NODE_STATUS: "uninitialized"}, 1)
    first.set_node_tags(HEAD_NODE_ID, {TAG_RAY_NODE_STATUS: "up-to-date"})
    again = provider(tmp_path)                                   # `ray submit` is another process
    assert again.non_terminated_nodes({TAG_RAY_NODE_KIND: "head"}) == [HEAD_NODE_ID]
    assert again.non_terminated_nodes({TAG_RAY_NODE_KIND: "worker"}) == []
    assert again.node_tags(HEAD_NODE_ID)[TAG_RAY_NODE_STATUS] == "up-to-date"
    again.terminate_node(HEAD_NODE_ID)
    assert provider(tmp_path).non_terminated_nodes({}) == [] and provider(tmp_path).is_terminated(HEAD_NODE_ID)


def test_it_refuses_workers_and_a_missing_node_dir(tmp_path):
    with pytest.raises(LocalClusterError, match="one node"):
        provider(tmp_path).create_node({}, {TAG_RAY_NODE_KIND: "worker"}, 1)
    with pytest.raises(LocalClusterError, match="node_dir"):
        LocalNodeProvider({"type": "external"}, "c")


def test_commands_run_in_the_nodes_home_with_its_environment(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    runner = LocalCommandRunner(home)
    out = runner.run("echo $HOME $PWD $ANSWER", with_output=True, environment_variables={"ANSWER": 42})
    assert out.decode().split() == [str(home), str(home), "42"]
    with pytest.raises(click.ClickException, match="exit 3"):
        runner.run("exit 3")


def test_files_go_to_the_nodes_home_and_excluded_names_stay_behind(tmp_path):
    source = tmp_path / "project"
    (source / "pkg" / "__pycache__").mkdir(parents=True)
    (source / ".venv").mkdir()
    (source / "pkg" / "a.py").write_text("a")
    (source / "pkg" / "__pycache__" / "a.pyc").write_text("x")
    (source / ".venv" / "big").write_text("x")
    home = tmp_path / "home"
    runner = LocalCommandRunner(home)
    runner.run_rsync_up(str(source) + "/", "~/project/", {"rsync_exclude": [".venv", "**/__pycache__"]})
    assert (home / "project" / "pkg" / "a.py").read_text() == "a"
    assert not (home / "project" / ".venv").exists() and not (home / "project" / "pkg" / "__pycache__").exists()
    runner.run_rsync_up(str(source / "pkg" / "a.py"), "~/a.py")
    assert (home / "a.py").read_text() == "a"
    copy_path(home / "a.py", tmp_path / "back" / "a.py")
    assert (tmp_path / "back" / "a.py").read_text() == "a"


def test_ray_stop_stops_the_nodes_own_ray_only_and_is_refused_inside_other_commands(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    runner = LocalCommandRunner(home, "head.pid")
    sleeper = f"{sys.executable} -c 'import time; time.sleep(120)'"
    # started as deploy/local_cluster.yaml starts the head: a session of its own, detached, pid in the file
    runner.run(f"setsid nohup {sleeper} > /dev/null 2>&1 < /dev/null & echo $! > ~/head.pid")
    runner.run(f"setsid nohup {sleeper} > /dev/null 2>&1 < /dev/null & echo $! > ~/bystander.pid")
    head, bystander = (int((home / name).read_text()) for name in ("head.pid", "bystander.pid"))
    deadline = time.monotonic() + 10
    while not (process_group_alive(head) and process_group_alive(bystander)) and time.monotonic() < deadline:
        time.sleep(0.05)                                        # until each has made its session
    try:
        for command in ("ray stop; ray start --head", "echo x && ray stop --force"):
            with pytest.raises(LocalClusterError, match="every Ray on this machine"):
                runner.run(command)
        assert process_group_alive(head)
        assert runner.run("ray stop") == 0
        assert not process_group_alive(head) and process_group_alive(bystander) and not (home / "head.pid").exists()
        assert runner.run("ray stop") == 0                      # again: nothing left to stop
    finally:
        for pid in (head, bystander):
            if process_group_alive(pid):
                os.killpg(pid, 9)


def test_the_users_ray_token_goes_with_the_node_and_its_clients_use_it(tmp_path, monkeypatch):
    user_home, node_home = tmp_path / "user", tmp_path / "node"
    (user_home / ".ray").mkdir(parents=True)
    node_home.mkdir()
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(user_home))
    runner = LocalCommandRunner(node_home)
    show = "echo \"[$RAY_AUTH_TOKEN_PATH] [$RAY_AUTH_MODE]\""
    assert runner.run(show, with_output=True).decode().strip() == "[] []"        # no token: nothing to carry
    (user_home / ".ray" / "auth_token").write_text("secret")
    assert runner.run(show, with_output=True).decode().strip() == f"[{user_home / '.ray' / 'auth_token'}] [token]"


def test_stopping_the_node_forgets_the_default_cluster_only_when_it_is_dead(tmp_path):
    address_file = tmp_path / "ray_current_cluster"
    address_file.write_text(f"127.0.0.1:{free_port()}")                  # nothing listens there
    forget_dead_default_cluster(address_file)
    assert not address_file.exists()
    with socket.create_server(("127.0.0.1", 0)) as live:
        address_file.write_text(f"127.0.0.1:{live.getsockname()[1]}")
        forget_dead_default_cluster(address_file)
        assert address_file.exists()                                      # another, live cluster's: kept
