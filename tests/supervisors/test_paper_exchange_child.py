"""The paper exchange a session starts never outlives the session and logs to a file, not to a pipe."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[2]
SCRIPT = ("from supervisors.paper import PaperExchangeProcess\n"
          "import time\n"
          "child = PaperExchangeProcess('127.0.0.1', 0, (7,), 1, quote_interval_ms=200)\n"
          "print('CHILD', child.process.pid, child.log_path, flush=True)\n"
          "time.sleep(120)\n")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:                 # a zombie has exited
        return stat.read().split(")")[1].split()[0] != "Z"


def test_the_exchange_child_stops_when_its_session_is_killed_and_logged_to_a_file():
    session = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = session.stdout.readline()
        while not line.startswith("CHILD"):
            line = session.stdout.readline()
        _, pid_text, log_path = line.split()
        child = int(pid_text)
        assert _alive(child)
        session.send_signal(signal.SIGKILL)
        session.wait(timeout=30)
        deadline = time.monotonic() + 60
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(child)
        assert "paper_exchange_parent_gone" in Path(log_path).read_text()
    finally:
        session.kill()


def test_the_exchange_a_session_starts_requires_the_session_s_api_key_and_says_when_it_cannot_start(monkeypatch):
    import json
    import urllib.error
    import urllib.request

    import pytest

    from adapters.protocol import BrokerError
    from supervisors.paper import PaperExchangeProcess

    monkeypatch.setenv("SPREADWRIGHT_EXCHANGE_TOKEN", "not-this-one-but-the-session-s")
    key = "paper-key-0123456789"
    child = PaperExchangeProcess("127.0.0.1", 0, (7,), 1, quote_interval_ms=200, token=key)
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(child.url + "/orders", timeout=5)
        assert refused.value.code == 401
        request = urllib.request.Request(child.url + "/orders", headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.load(answer)["orders"] == []
    finally:
        child.stop()
    with pytest.raises(BrokerError, match="broker.api_key"):
        PaperExchangeProcess("127.0.0.1", 0, (7,), 1, token="short")
    with pytest.raises(BrokerError, match="exited with code"):          # no token: loopback only, and it says so
        PaperExchangeProcess("0.0.0.0", 0, (7,), 1)
