"""Polling helper and fast-session settings shared by the Ray tests."""

import time

SLACK = 3.0
"""Every wait is this many times its stated limit: the limit is what a test needs on an idle 2-core machine,
and the suite must pass with two CPU-bound processes beside it (about three times slower). A passing test
never waits longer for it; only a failing one does."""


def wait_for(predicate, timeout_s=60.0):
    """True once `predicate()` holds within SLACK x `timeout_s` (calls that raise count as not yet: an actor may
    be restarting, or too busy to answer a snapshot in time)."""
    deadline = time.monotonic() + SLACK * timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - an actor is restarting; calls fail until it is back
            pass
        time.sleep(0.1)
    return False


FAST_SESSION_ENV = {"SPREADWRIGHT__TIMING__CANCEL_AFTER_SECONDS": "0.5",
                    "SPREADWRIGHT__TIMING__MIN_DELAY_BETWEEN_ATTEMPTS": "0.2",
                    "SPREADWRIGHT__TIMING__MAX_DELAY_BETWEEN_ATTEMPTS": "0.5",
                    "SPREADWRIGHT__EXECUTOR__MIN_FILL_RATE": "0.0",
                    "SPREADWRIGHT__BROKER__QUOTE_POLL_MS": "200",
                    "SPREADWRIGHT__BROKER__EXPIRATIONS_PER_SYMBOL": "1",
                    "SPREADWRIGHT__BROKER__PAPER_EXPIRY_DAYS": "[7]"}
"""A 7-day expiry, not the profile's 0DTE first: a 0DTE chain late in the New York day (or past its close)
offers the traders nothing to trade, and the tests must not depend on the hour they run at."""
