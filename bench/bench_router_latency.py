"""Ray paper session with butterflies: p50/p99 from the first vertical's fill reaching the router to the
second vertical's order reaching the broker adapter (the seed allows 50-500 ms; the aim is p99 < 20 ms).

Strategists enter a fly on every chain every few seconds and exit it after a short hold, so the
router closes many flies in a minute; each second-vertical order is joined by client order id with
its arrival at the BrokerBridge. Wall-clock stamps on one machine.

Run three times in one go, so the ratios are fair on a noisy machine: with the default placement (the
gateway, the router and the broker bridge in one actor, RuntimeConfig.co_host), with only the router
in the gateway's actor, and with every component in an actor of its own (co_host: []), where the
second vertical waits in the gateway's and then the bridge's mailbox behind the traders' traffic.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors import names  # noqa: E402
from bench.common import paper_session_snapshots, ray_log_events, ray_log_offsets  # noqa: E402
from persistence.sqlite_ledger import SqliteLedgerStore  # noqa: E402


def measure(duration_s: float = 45.0, co_host: str | None = None) -> dict[str, float]:
    env = {
        **({} if co_host is None else {"SPREADWRIGHT__RUNTIME__CO_HOST": co_host}),
        "SPREADWRIGHT__LOGGING__LEVEL": "INFO",
        "SPREADWRIGHT__LOGGING__FORMAT": "json",
        "SPREADWRIGHT__BUTTERFLIES__ENABLED": "true",
        "SPREADWRIGHT__BUTTERFLIES__ENTRY_INTERVAL_S": "4",
        "SPREADWRIGHT__BUTTERFLIES__MAX_HOLD_S": "2",
        "SPREADWRIGHT__BUTTERFLIES__MIN_DAYS_TO_EXPIRY": "0",
        "SPREADWRIGHT__BROKER__QUOTE_POLL_MS": "250",
        "SPREADWRIGHT__RUNTIME__RAY_NAMESPACE": "bench-router",
    }
    ledger = Path(tempfile.mkdtemp(prefix="sw-bench-router")) / "ledger.db"
    offsets = ray_log_offsets()
    snapshots = paper_session_snapshots({**env, "SPREADWRIGHT__LEDGER__PATH": str(ledger)}, duration_s)
    events = ray_log_events({"order_to_adapter", "second_vertical_sent"}, offsets)
    at_adapter = {e["client_order_id"]: e["sent_ns"] for e in events if e["event"] == "order_to_adapter"}
    sent = [(e["client_order_id"], e["sent_ns"]) for e in events if e["event"] == "second_vertical_sent"]
    ms = np.array([(at_adapter[c] - ns) / 1e6 for c, ns in sent if c in at_adapter])
    if not ms.size:
        return {"exits": snapshots[names.ROUTER]["exits"], "samples": 0}
    at_gateway = {e.client_order_id: e.time_ns for e in SqliteLedgerStore(str(ledger)).events() if e.kind == "intent"}
    hop_ms = np.array([(at_gateway[c] - ns) / 1e6 for c, ns in sent if c in at_adapter and c in at_gateway])
    return {
        "exits": snapshots[names.ROUTER]["exits"],
        "samples": int(ms.size),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "to_gateway_p50_ms": float(np.percentile(hop_ms, 50)),
        "to_gateway_p99_ms": float(np.percentile(hop_ms, 99)),
    }


def main() -> None:
    for label, co_host in (("gateway + router + bridge in one actor (default)", None),
                           ("router in the gateway's actor, bridge apart", f'[["{names.GATEWAY}", "{names.ROUTER}"]]'),
                           ("one actor per component", "[]")):
        r = measure(co_host=co_host)
        if not r["samples"]:
            print(f"{label}: no first-vertical fills in {r['exits']} exits")
            continue
        print(f"{label}: ray paper session, first vertical fill at router -> second vertical at broker adapter: "
              f"{r['samples']} exits ({r['exits']} started), p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
              f"max {r['max_ms']:.2f} ms (goal p99 < 20 ms)")
        print(f"  of which router -> ledger gateway (the time the gateway wrote the intent to its ledger): "
              f"p50 {r['to_gateway_p50_ms']:.2f} ms, p99 {r['to_gateway_p99_ms']:.2f} ms")


if __name__ == "__main__":
    main()
