"""A stand-in for `spreadwright paper --channel DIR` in the control plane's tests: no Ray, no exchange.

It speaks the same channel (status.json, commands/) and writes a real SQLite ledger at the profile's ledger path:
one order that fills, then one that rests. SIGTERM stops it in order (stopping, then stopped). FAKE_SESSION_FAIL
in the environment makes it fail at start (exit 1, status failed with the reason); FAKE_SESSION_FILL_EVERY_S=S adds
an order that fills every S seconds, stamped with the time it was written (bench/bench_control.py's fill delay)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import yaml

from core.ledger import LedgerEvent
from persistence.sqlite_ledger import SqliteLedgerStore
from supervisors.paper import SessionChannel


def main() -> int:
    folder, profile, heartbeat_s = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    settings = yaml.safe_load(profile.read_text())
    channel = SessionChannel(folder)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=stopping.set, daemon=True).start())  # see paper.py
    channel.write_status("starting", None)
    if os.environ.get("FAKE_SESSION_FAIL"):
        channel.write_status("failed", {"error": "session could not start: the broker refused the key"})
        return 1
    ledger = SqliteLedgerStore(settings["ledger"]["path"])
    legs = [["SPY", "2026-12-18", 600.0, "C", 1], ["SPY", "2026-12-18", 605.0, "C", -1]]
    now = time.time_ns()
    for kind, coid, payload in (
            ("intent", "fake-1", {"legs": legs, "side": "SELL", "quantity": 2, "limit_price": 1.25}),
            ("accepted", "fake-1", {}),
            ("filled", "fake-1", {"quantity": 2, "price": 1.25, "leg_prices": [7.5, 6.25], "cumulative_quantity": 2,
                                  "leaves_quantity": 0}),
            ("intent", "fake-2", {"legs": legs, "side": "SELL", "quantity": 1, "limit_price": 1.40}),
            ("accepted", "fake-2", {})):
        ledger.append(LedgerEvent(0, now, kind, coid, "trader-SPY-2026-12-18", payload))
    states = {"session": "ACTIVE"}
    fill_every_s = float(os.environ.get("FAKE_SESSION_FILL_EVERY_S", "0"))
    next_fill_s, fills = time.monotonic() + fill_every_s, 0
    while not stopping.is_set():
        if fill_every_s and time.monotonic() >= next_fill_s:
            fills += 1
            next_fill_s += fill_every_s
            coid = f"more-{fills}"
            ledger.append(LedgerEvent(0, time.time_ns(), "intent", coid, "trader-SPY-2026-12-18", {
                "legs": legs, "side": "BUY", "quantity": 1, "limit_price": 1.0}))
            ledger.append(LedgerEvent(0, time.time_ns(), "filled", coid, "trader-SPY-2026-12-18", {
                "quantity": 1, "price": 1.0, "leg_prices": [7.0, 6.0], "cumulative_quantity": 1,
                "leaves_quantity": 0}))
        for command in channel.take_commands():
            states[command.get("scope") or "session"] = command["state"]
            channel.answer(command["id"], {"ok": True, "state": command["state"], "working": 1})
        status = {"active": True, "traders": {}, "position_summary": {},
                  "book": {"total": {"realized_usd": 0.0, "unrealized_usd": -30.0, "pnl_usd": -30.0},
                           "positions": [
                               {"symbol": "SPY", "expiry": "2026-12-18", "strike": 600.0, "right": "C",
                                "quantity": -2, "mark_per_share": 7.6, "unrealized_usd": -20.0,
                                "delta_shares": -104.0, "gamma_shares_per_usd": -3.1,
                                "vega_usd_per_vol_point": -140.0, "theta_usd_per_day": 35.0, "marked": "market"},
                               {"symbol": "SPY", "expiry": "2026-12-18", "strike": 605.0, "right": "C",
                                "quantity": 2, "mark_per_share": 6.2, "unrealized_usd": -10.0,
                                "delta_shares": 90.0, "gamma_shares_per_usd": 2.9,
                                "vega_usd_per_vol_point": 130.0, "theta_usd_per_day": -31.0, "marked": "market"}]},
                  "risk": {"states": dict(states), "working": 1, "open_contracts": 4, "by_code": {"price_collar": 2}}}
        channel.write_status("running", status)
        stopping.wait(min(heartbeat_s, fill_every_s or heartbeat_s))
    channel.write_status("stopping", None)
    ledger.append(LedgerEvent(0, time.time_ns(), "cancelled", "fake-2", "trader-SPY-2026-12-18",
                              {"cancelled_quantity": 1, "reason": "session stop"}))
    ledger.close()
    channel.write_status("stopped", {"ledger": {"working": 0}, "error": ""})
    return 0


if __name__ == "__main__":
    sys.exit(main())
