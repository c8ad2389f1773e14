"""Polling helper shared by the Ray tests."""

import time


def wait_for(predicate, timeout_s=60.0):
    """True once `predicate()` holds (calls that raise count as not yet: an actor may be restarting)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - an actor is restarting; calls fail until it is back
            pass
        time.sleep(0.1)
    return False
