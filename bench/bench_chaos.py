"""Chaos figures: N randomized SIGKILLs in a paper session on Ray, and what they cost.

A paper session (the paper exchange as a child process, traders and butterfly strategists on SPY, the order
path in one actor) runs while the bench kills, at random moments, either a trader's actor or the order path's
actor (risk gate, gateway, exit router, broker bridge). After each kill it waits until the exchange receives a
new order from the killed trader, or from anyone after an order-path kill (restart to trading). At the end it
stops the session and reads the exchange and the SQLite ledger:

- orders duplicated: a client order id sent twice, or an exchange order with no ledger intent (goal 0);
- ledger rows lost: exchange fills the ledger does not hold (goal 0);
- naked seconds: for each butterfly exit, the time from the first vertical's first fill to the second's, beyond
  `router.max_partial_exposure_ms` (goal 0), and the exits left with one vertical closed and nothing else;
- restart to trading, p50 and p99, by target (goal: p50 under 1.5 s).
Nothing here asserts; the figures are printed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from actors import names  # noqa: E402
from config import load_profile  # noqa: E402
from persistence.sqlite_ledger import SqliteLedgerStore  # noqa: E402
from supervisors.paper import PaperExchangeProcess, PaperSession  # noqa: E402


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def all_rows(url: str, path: str, key: str) -> list[dict]:
    rows, after = [], 0
    while after is not None:
        page = get_json(f"{url}{path}?after={after}&limit=1000")
        rows += page[key]
        after = page["next_after"]
    return rows


def _wait(predicate, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - the actor is restarting
            pass
        time.sleep(0.02)
    return False


def run(kills: int, seed: int) -> None:
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp())
    exchange = PaperExchangeProcess("127.0.0.1", 0, (7,), seed=seed, quote_interval_ms=200)
    env = {"SPREADWRIGHT__BROKER__URL": exchange.url, "SPREADWRIGHT__SYMBOLS": "[SPY]",
           "SPREADWRIGHT__LEDGER__PATH": str(folder / "ledger.db"), "SPREADWRIGHT__RUNTIME__RAY_NAMESPACE": "chaos",
           "SPREADWRIGHT__TIMING__CANCEL_AFTER_SECONDS": "0.5",
           "SPREADWRIGHT__TIMING__MIN_DELAY_BETWEEN_ATTEMPTS": "0.2",
           "SPREADWRIGHT__TIMING__MAX_DELAY_BETWEEN_ATTEMPTS": "0.5", "SPREADWRIGHT__EXECUTOR__MIN_FILL_RATE": "0.0",
           "SPREADWRIGHT__BROKER__QUOTE_POLL_MS": "200", "SPREADWRIGHT__BROKER__EXPIRATIONS_PER_SYMBOL": "1",
           "SPREADWRIGHT__BROKER__PAPER_EXPIRY_DAYS": "[7]", "SPREADWRIGHT__BUTTERFLIES__ENABLED": "true",
           "SPREADWRIGHT__BUTTERFLIES__ENTRY_INTERVAL_S": "2",
           "SPREADWRIGHT__BUTTERFLIES__MAX_HOLD_S": "3"}
    config = load_profile("paper", env=env)
    session = PaperSession(config)
    recoveries: dict[str, list[float]] = {"trader": [], "order path": []}
    try:
        session.start()
        runtime = session.runtime
        import ray

        _wait(lambda: get_json(exchange.url + "/health")["sent_to_exchange"] >= 5)
        for _ in range(kills):
            time.sleep(rng.uniform(0.5, 3.0))
            target = rng.choice(["trader", "order path"])
            name = session.traders[0].name if target == "trader" else names.GATEWAY
            pid = ray.get(runtime.handle(name).pid.remote())
            sent = get_json(exchange.url + "/health")["sent_to_exchange"]
            prefix = session.traders[0]._coid_prefix if target == "trader" else ""
            killed, killed_at = time.monotonic(), time.strftime("%H:%M:%S", time.gmtime())
            os.kill(pid, signal.SIGKILL)
            if _wait(lambda: _sent_since(exchange.url, sent, prefix), timeout_s=60):
                recoveries[target].append(time.monotonic() - killed)
                print(f"[chaos] kill {len(recoveries['trader']) + len(recoveries['order path'])} at "
                      f"{killed_at}: {target} (pid {pid}), trading again after "
                      f"{recoveries[target][-1]:.2f} s", flush=True)
            else:
                print(f"[chaos] kill: {target} (pid {pid}), nothing sent within 60 s", flush=True)
        time.sleep(3.0)
        restarts = restart_breakdown(Path(ray._private.worker._global_node.get_logs_dir_path()))
        session.stop()
        orders = all_rows(exchange.url, "/orders", "orders")
        fills = all_rows(exchange.url, "/fills", "fills")
    finally:
        session.stop()
        exchange.stop()
    _report(kills, recoveries, orders, fills, folder / "ledger.db", config.router.max_partial_exposure_ms)
    if restarts["process_age_s"]:
        print(f"  of which in the restarted actor's process (its imports, unpickling, constructor and start), p50 "
              f"{statistics.median(restarts['process_age_s']):.2f} s; its components' start (warm-up, replay "
              f"request) p50 {statistics.median(restarts['start_s']):.2f} s; n {len(restarts['start_s'])}")


def restart_breakdown(logs_dir: Path) -> dict[str, list[float]]:
    """From the Ray workers' logs, each restarted actor's `actor_restarted` line (actors.runtime.ray_host): how old
    its process was once its components had started, and how long their start took."""
    found: dict[str, list[float]] = {"process_age_s": [], "start_s": []}
    for path in sorted(logs_dir.glob("worker-*")):
        for line in path.read_text(errors="replace").splitlines():
            if "actor_restarted" not in line:
                continue
            for key, values in found.items():
                match = re.search(rf'"{key}": ([0-9.]+)', line)
                if match:
                    values.append(float(match.group(1)))
    return found


def _sent_since(url: str, seq: int, prefix: str) -> bool:
    """An order reached the exchange after its `seq`-th, from the killed trader (`prefix` of its client order
    ids) or, for the order path, from anyone."""
    orders = get_json(f"{url}/orders?after={seq}&limit=1000")["orders"]
    return any(o["client_order_id"].startswith(prefix) for o in orders)


def _report(kills, recoveries, orders, fills, ledger_path, max_partial_ms) -> None:
    figures = chaos_figures([o["client_order_id"] for o in orders], fills, SqliteLedgerStore(ledger_path).events(),
                            max_partial_ms)
    print(f"[chaos] {kills} randomized SIGKILLs in a paper session: {len(orders)} orders at the exchange, "
          f"{len(fills)} fill legs")
    print(f"  orders duplicated: {figures['duplicated']}; ledger rows lost (exchange fills missing from the ledger): "
          f"{figures['lost']}; naked seconds beyond max_partial_exposure_ms ({max_partial_ms} ms): "
          f"{figures['naked_s']:.3f}; butterfly exits {figures['exits']}, left with a leg naked "
          f"{len(figures['left_naked'])}")
    everything = [s for values in recoveries.values() for s in values]
    for target, values in (*recoveries.items(), ("all", everything)):
        if values:
            ordered = sorted(values)
            p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
            print(f"  restart to trading, {target}: n {len(values)}, p50 {statistics.median(values):.2f} s, "
                  f"p99 {p99:.2f} s, max {max(values):.2f} s")


def chaos_figures(sent: list[str], fills: list[dict], events, max_partial_ms: float) -> dict:
    """What a fault cost, from the exchange (the client order ids of its orders, its fill legs as `/fills` lists
    them) and the ledger's events: orders duplicated (an id sent twice, an intent written twice, an order the
    ledger never intended), ledger rows lost (ids the exchange filled with no fill in the ledger), each butterfly
    exit's naked time beyond `max_partial_ms` at the exchange (`naked_s`, summed: the venue's fill times, since a
    ledger learns of a fill late when its writer was down) and the flies whose exit closed one vertical and
    nothing else."""
    intents = [e.client_order_id for e in events if e.kind == "intent"]
    duplicated = (len(intents) - len(set(intents))) + (len(sent) - len(set(sent))) + len(set(sent) - set(intents))
    lost = len({f["client_order_id"] for f in fills} - {e.client_order_id for e in events if e.kind == "filled"})
    naked = naked_by_fly([(f["client_order_id"], f["time_ns"]) for f in fills], max_partial_ms)
    return {"duplicated": duplicated, "lost": lost, "naked_s": sum(naked.values()), "exits": len(naked),
            "left_naked": sorted(fly for fly, seconds in naked.items() if seconds == math.inf)}


def naked_by_fly(fills: list[tuple[str, int]], max_partial_ms: float) -> dict[str, float]:
    """Per butterfly whose exit closed its first vertical (ids `<fly>:x<n>:<part>`; each order of an exit has its
    own `x<n>`, so parts are grouped by fly), from (client order id, time) of fills: seconds from the first
    vertical's first fill to the first fill of any other part (the second vertical, or a leg closed singly) beyond
    the limit; inf when nothing else filled."""
    by_fly: dict[str, dict[str, int]] = {}
    for coid, time_ns in fills:
        parts = coid.rsplit(":", 2)
        if len(parts) == 3 and parts[1].startswith("x"):
            first = by_fly.setdefault(parts[0], {})
            first[parts[2]] = min(first.get(parts[2], time_ns), time_ns)
    naked: dict[str, float] = {}
    for fly, first in by_fly.items():
        start_ns = first.get("vertical_1")
        if start_ns is None:
            continue
        later = [t for part, t in first.items() if part != "vertical_1" and t >= start_ns]
        naked[fly] = max(0, min(later) - start_ns - int(max_partial_ms * 1e6)) / 1e9 if later else math.inf
    return naked


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv if argv is not None else [])
    run(args.kills, args.seed)


if __name__ == "__main__":
    main(sys.argv[1:])
