"""A paper session's stop order (no Ray: the runtime is a stand-in): nothing that originates orders runs on, and
a butterfly exit under way finishes before the bridge cancels at the venue."""

from __future__ import annotations

import threading

from actors import names
from config import load_profile
from supervisors.paper import PaperSession


class _Runtime:
    """Records each stop; the router has an exit under way for `exit_polls` snapshots."""

    def __init__(self, exit_polls: int) -> None:
        self.running = ["trader-SPY-2026-12-18", "flies-SPY-2026-12-18", names.ROUTER, names.RISK, names.GATEWAY,
                        names.BRIDGE, names.BOOK]
        self.exit_polls, self.stops, self.bridge_stopped_while_exiting = exit_polls, [], False

    def names(self):
        return list(self.running)

    def snapshot(self, name, timeout_s=10.0):
        if name == names.ROUTER:
            self.exit_polls -= 1
            return {"exiting": ["fly-1"] if self.exit_polls >= 0 else []}
        return {"working": 0, "intents": 3}

    def stop(self, timeout_s=10.0, names=None):
        chosen = list(self.running) if names is None else names
        self.stops.append(chosen)
        self.running = [n for n in self.running if n not in chosen]
        return {}


def test_the_router_stops_after_its_exits_finish_and_before_the_bridge_cancels():
    session = PaperSession(load_profile("paper"))
    runtime = session.runtime = _Runtime(exit_polls=3)
    summary = session.stop()
    assert runtime.stops[0] == ["trader-SPY-2026-12-18", "flies-SPY-2026-12-18"]
    assert runtime.stops[1:3] == [[names.ROUTER], [names.BRIDGE]]
    assert runtime.exit_polls < 0 and summary["exits_left_working"] == []


def test_an_exit_that_does_not_finish_in_time_is_reported_and_the_stop_goes_on():
    session = PaperSession(load_profile("paper"))
    runtime = session.runtime = _Runtime(exit_polls=10**9)
    summary = session.stop(timeout_s=0.2)
    assert summary["exits_left_working"] == ["fly-1"]
    assert [names.BRIDGE] in runtime.stops and not runtime.running


def test_a_stop_signal_that_arrives_while_the_wait_holds_its_lock_does_not_block():
    """A SIGTERM handler runs on the main thread between bytecodes, perhaps just as `run`'s `stopping.wait` has
    taken the event's lock back: `request_stop` must return without that lock (it once waited for ever)."""
    session = PaperSession(load_profile("paper"))
    done = threading.Event()
    with session.stopping._cond:                       # what the handler finds: the event's lock held
        caller = threading.Thread(target=lambda: (session.request_stop(), done.set()), daemon=True)
        caller.start()
        returned = done.wait(30)
    assert returned, "request_stop waited on the stop event's lock"
    assert session.stopping.wait(30)
