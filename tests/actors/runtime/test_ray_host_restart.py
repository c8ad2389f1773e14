"""A restarted actor starts on its first call, and asks itself to start only when no call comes: a call to itself
made before Ray knows the actor is alive again fails, and Ray then holds this process's later calls to it."""

import threading

from actors.runtime import ray_host
from actors.runtime.ray_host import ComponentHost


class _Handle:
    """Stands in for the actor's own handle: records each `start_after_restart` asked of it, and runs it."""

    def __init__(self, host):
        self.host, self.asked = host, []

    @property
    def start_after_restart(self):
        handle = self

        class _Method:
            def remote(self):
                handle.asked.append(threading.current_thread().name)
                handle.host.start_after_restart()
                return "ref"
        return _Method()


def _restarted_host(monkeypatch):
    """A host as Ray's restart leaves it (held, not started), without Ray: start() only counts."""
    host = object.__new__(ComponentHost)
    host.components, host._held, host._started = {"a": None}, [], threading.Event()
    host.starts = []
    monkeypatch.setattr(host, "start", lambda: host.starts.append(1), raising=False)
    monkeypatch.setattr(host, "_dispatch_all", lambda calls: None, raising=False)
    host._self_handle = _Handle(host)
    monkeypatch.setattr(ray_host.ray, "get", lambda ref, timeout=None: None)
    return host


def test_a_restarted_actor_a_call_reaches_starts_there_and_never_calls_itself(monkeypatch):
    host = _restarted_host(monkeypatch)
    monkeypatch.setattr(ray_host, "_FIRST_CALL_WAIT_S", 30.0)
    waiter = threading.Thread(target=host._start_once_alive)
    waiter.start()
    host.start_after_restart()                       # what `_dispatch` does for the first call that runs
    waiter.join(timeout=60)
    assert not waiter.is_alive()
    assert host.starts == [1] and host._self_handle.asked == []


def test_a_restarted_actor_no_call_reaches_asks_itself_to_start_after_the_wait(monkeypatch):
    host = _restarted_host(monkeypatch)
    monkeypatch.setattr(ray_host, "_FIRST_CALL_WAIT_S", 0.01)
    host._start_once_alive()
    assert host.starts == [1] and len(host._self_handle.asked) == 1 and host._held is None
