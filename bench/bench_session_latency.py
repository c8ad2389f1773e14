"""Ray paper session: p50/p99 from a chain arriving at an ExpirationTrader to its order reaching the
broker adapter (the BrokerBridge), through the BrokerGateway's write-ahead ledger.

Runs `spreadwright paper`'s session (local Ray, the paper exchange started as a child process)
with short delays between attempts, so a few hundred orders are sent, then joins each order's
chain-arrival time (kept by its trader) with its arrival at the bridge. Traders decide on the
next chain once an attempt is due, so this is the engine's reaction time, not the wait for quotes.
Both stamps are wall-clock time on the same machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import paper_session_snapshots, ray_log_events, ray_log_offsets  # noqa: E402


def measure(duration_s: float = 40.0) -> dict[str, float]:
    env = {"SPREADWRIGHT__LOGGING__LEVEL": "INFO", "SPREADWRIGHT__LOGGING__FORMAT": "json",
           "SPREADWRIGHT__TIMING__CANCEL_AFTER_SECONDS": "0.5",
           "SPREADWRIGHT__TIMING__MIN_DELAY_BETWEEN_ATTEMPTS": "0.3",
           "SPREADWRIGHT__TIMING__MAX_DELAY_BETWEEN_ATTEMPTS": "0.8",
           "SPREADWRIGHT__EXECUTOR__MIN_FILL_RATE": "0.0", "SPREADWRIGHT__BROKER__QUOTE_POLL_MS": "1000",
           "SPREADWRIGHT__RUNTIME__RAY_NAMESPACE": "bench-latency"}
    offsets = ray_log_offsets()
    paper_session_snapshots(env, duration_s)
    events = ray_log_events({"order_sent", "order_to_adapter"}, offsets)
    at_adapter = {e["client_order_id"]: e["sent_ns"] for e in events if e["event"] == "order_to_adapter"}
    marks = [(e["client_order_id"], e["decided_ns"], e["trigger"]) for e in events if e["event"] == "order_sent"]
    result = {}
    for trigger in ("quote", "fill"):
        latencies_ms = np.array(
            [(at_adapter[c] - ns) / 1e6 for c, ns, kind in marks if kind == trigger and c in at_adapter]
        )
        result[trigger] = {"orders": len(latencies_ms), "p50_ms": float(np.percentile(latencies_ms, 50)),
                           "p99_ms": float(np.percentile(latencies_ms, 99)), "max_ms": float(latencies_ms.max())}
    return result


def main() -> None:
    result = measure()
    for trigger, what in (("quote", "quote arrival at trader -> debit order at broker adapter"),
                          ("fill", "debit fill at trader -> credit order at broker adapter")):
        r = result[trigger]
        print(f"ray paper session, {what}: {r['orders']} orders, p50 {r['p50_ms']:.2f} ms, "
              f"p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.2f} ms")


if __name__ == "__main__":
    main()
