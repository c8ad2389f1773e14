"""SIGKILL of a session's driver: its actors die with it, and the venue's dead-man's switch cancels every order
the session left working there; nothing keeps trading with no one watching."""

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from supervisors.paper import PaperExchangeProcess
from tests.ray.waiting import FAST_SESSION_ENV, wait_for

ROOT = Path(__file__).parents[2]


def _orders(url, status):
    with urllib.request.urlopen(f"{url}/orders?status={status}&limit=1000", timeout=5) as response:
        return json.load(response)["orders"]


def _health(url):
    with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
        return json.load(response)


def test_a_killed_driver_leaves_nothing_working_at_the_venue(ray_cluster, tmp_path):
    exchange = PaperExchangeProcess("127.0.0.1", 0, (7,), seed=6, quote_interval_ms=200)
    env = {**os.environ, **FAST_SESSION_ENV, "SPREADWRIGHT__BROKER__URL": exchange.url,
           "SPREADWRIGHT__BROKER__DEAD_MAN_S": "2", "SPREADWRIGHT__SYMBOLS": "[SPY]",
           "SPREADWRIGHT__TIMING__CANCEL_AFTER_SECONDS": "60",           # orders rest: some are working at the kill
           "SPREADWRIGHT__LEDGER__PATH": str(tmp_path / "ledger.db"),
           "SPREADWRIGHT__RUNTIME__RAY_NAMESPACE": "t-driver-death",
           "RAY_ADDRESS": ray_cluster.get_runtime_context().gcs_address}
    driver = subprocess.Popen([sys.executable, "-m", "supervisors.cli", "--log-format", "json", "paper",
                               "--duration-s", "300"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: len(_orders(exchange.url, "working")) >= 1, timeout_s=120)
        assert _health(exchange.url)["dead_man_armed"] == 1
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        assert wait_for(lambda: not _orders(exchange.url, "working"), timeout_s=60), _orders(exchange.url, "working")
        # Cancelled by the switch, or by the actors' stop if Ray ran it first; either way the switch trips (or is
        # disarmed) once the heartbeats stop, a few seconds later: wait for that, not for a time.
        assert wait_for(lambda: _health(exchange.url)["dead_man_armed"] == 0, timeout_s=60), _health(exchange.url)
        assert not _orders(exchange.url, "working")
    finally:
        driver.kill()
        exchange.stop()
