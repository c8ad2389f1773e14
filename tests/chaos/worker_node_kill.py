"""Run by test_worker_node_kill in its own process (the tests' local cluster owns the pytest process's Ray): a head
node and two worker nodes (`ray.cluster_utils.Cluster`), a paper session whose actors may run only on the worker
nodes (`runtime.actor_resources`), butterflies entered and exited every few seconds. When a fly's exit sends its
first vertical, the node hosting the order path (gate, gateway, exit router, broker bridge) is killed with SIGKILL
(`remove_node(allow_graceful=False)`); the session goes on until that exit has finished, then stops. Prints one
JSON line: where the order path ran before and after, how long until it answered again and until the exit finished,
and the chaos figures of `bench.bench_chaos.chaos_figures` (orders duplicated, ledger rows lost, naked time)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import ray
from ray.cluster_utils import Cluster

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from actors import names  # noqa: E402
from bench.bench_chaos import all_rows, chaos_figures, get_json, naked_by_fly  # noqa: E402
from config import load_profile  # noqa: E402
from persistence.sqlite_ledger import SqliteLedgerStore  # noqa: E402
from supervisors.paper import PaperExchangeProcess, PaperSession  # noqa: E402
from tests.ray.waiting import SLACK  # noqa: E402

FAST_HEALTH_CHECKS = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500,
                      "health_check_failure_threshold": 4}
"""The GCS declares a silent node dead after ~2 s instead of Ray's default ~15 s, so the test waits less."""


def _wait(predicate, timeout_s: float, tick=lambda: None) -> bool:
    """Poll `predicate` for SLACK x `timeout_s` (an exception counts as not yet: the actor may be restarting),
    calling `tick` between."""
    deadline = time.monotonic() + SLACK * timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - the actor or its node is going away or coming back
            pass
        tick()
        time.sleep(0.02)
    return False


def _every(period_s: float, call):
    """`call`, at most once a `period_s`: a poll at 20 Hz must not ping every actor at 20 Hz."""
    last = [0.0]

    def maybe() -> None:
        if time.monotonic() - last[0] >= period_s:
            last[0] = time.monotonic()
            call()
    return maybe


def _kill_mid_exit(cluster, victim, runtime, url: str, second_vertical: str, reconcile) -> dict:
    """SIGKILL the order path's node (`victim`) now; wait until the order path answers from another node and the
    fly whose `second_vertical` works at the exchange has filled a part other than its first vertical."""
    node_before = victim.node_id
    killed = time.monotonic()
    cluster.remove_node(victim, allow_graceful=False)
    fly = second_vertical.rsplit(":", 2)[0]
    report = {"exit_in_flight": fly}
    report["order_path_answered"] = _wait(
        lambda: ray.get(runtime.handle(names.GATEWAY).node_id.remote(), timeout=2) != node_before, 120, reconcile)
    report["order_path_back_s"] = time.monotonic() - killed
    report["alive_nodes"] = [node["NodeID"] for node in ray.nodes() if node["Alive"]]
    report["order_path_node_after"] = ray.get(runtime.handle(names.GATEWAY).node_id.remote(), timeout=60)
    report["exit_finished"] = _wait(lambda: any(
        f["client_order_id"].startswith(f"{fly}:x") and not f["client_order_id"].endswith(":vertical_1")
        for f in all_rows(url, "/fills", "fills")), 120, reconcile)
    report["exit_finished_s"] = time.monotonic() - killed
    return report


def main(folder: Path, gcs_port: int) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "gcs_server_port": gcs_port, "include_dashboard": False, "object_store_memory": 80 * 2**20,
        "_system_config": FAST_HEALTH_CHECKS})
    workers = [cluster.add_node(num_cpus=1, resources={"trading": 100}, object_store_memory=80 * 2**20)
               for _ in range(2)]
    cluster.wait_for_nodes()
    exchange = PaperExchangeProcess("127.0.0.1", 0, (7,), seed=5, quote_interval_ms=200)
    env = {"SPREADWRIGHT__BROKER__URL": exchange.url, "SPREADWRIGHT__SYMBOLS": "[SPY]",
           "SPREADWRIGHT__LEDGER__PATH": str(folder / "ledger.db"),
           "SPREADWRIGHT__RUNTIME__RAY_ADDRESS": cluster.address,
           "SPREADWRIGHT__RUNTIME__RAY_NAMESPACE": "chaos-node",
           "SPREADWRIGHT__RUNTIME__ACTOR_RESOURCES": '{"*": {"trading": 0.01}}',
           "SPREADWRIGHT__METRICS__ENABLED": "false",
           "SPREADWRIGHT__BUTTERFLIES__ENABLED": "true", "SPREADWRIGHT__BUTTERFLIES__ENTRY_INTERVAL_S": "2",
           "SPREADWRIGHT__BUTTERFLIES__MAX_HOLD_S": "3", "SPREADWRIGHT__BUTTERFLIES__EXIT_RESEND_S": "1",
           "SPREADWRIGHT__TIMING__CANCEL_AFTER_SECONDS": "0.5",
           "SPREADWRIGHT__TIMING__MIN_DELAY_BETWEEN_ATTEMPTS": "0.5",
           "SPREADWRIGHT__TIMING__MAX_DELAY_BETWEEN_ATTEMPTS": "1.0", "SPREADWRIGHT__EXECUTOR__MIN_FILL_RATE": "0.0",
           "SPREADWRIGHT__BROKER__QUOTE_POLL_MS": "200", "SPREADWRIGHT__BROKER__EXPIRATIONS_PER_SYMBOL": "1",
           "SPREADWRIGHT__BROKER__PAPER_EXPIRY_DAYS": "[7]"}
    config = load_profile("paper", env=env)
    session = PaperSession(config)
    report: dict = {"worker_nodes": [node.node_id for node in workers]}
    try:
        session.start()
        runtime = session.runtime
        reconcile = _every(2.0, lambda: session.health.reconcile(time.time_ns()))      # the session's own loop
        report["order_path_node_before"] = node_before = ray.get(runtime.handle(names.GATEWAY).node_id.remote(),
                                                                 timeout=60)
        victim = next(node for node in workers if node.node_id == node_before)
        second_vertical: list[str] = []

        def second_vertical_working() -> bool:
            working = get_json(f"{exchange.url}/orders?status=working&limit=1000")["orders"]
            second_vertical[:] = [o["client_order_id"] for o in working
                                  if o["client_order_id"].endswith(":vertical_2")]
            return bool(second_vertical)

        report["exit_seen"] = _wait(second_vertical_working, 240, reconcile)
        if report["exit_seen"]:
            report.update(_kill_mid_exit(cluster, victim, runtime, exchange.url, second_vertical[0], reconcile))
        _wait(lambda: False, 3 / SLACK, reconcile)                      # three more seconds of trading
        session.stop()
        report["orders"] = [o["client_order_id"] for o in all_rows(exchange.url, "/orders", "orders")]
        report["fills"] = all_rows(exchange.url, "/fills", "fills")
    finally:
        session.stop()
        exchange.stop()
        ray.shutdown()
        cluster.shutdown()
    report["max_partial_exposure_ms"] = config.router.max_partial_exposure_ms
    fills = report.pop("fills")
    report.update(chaos_figures(report.pop("orders"), fills, SqliteLedgerStore(folder / "ledger.db").events(),
                                config.router.max_partial_exposure_ms))
    report["killed_fly_naked_s"] = naked_by_fly([(f["client_order_id"], f["time_ns"]) for f in fills],
                                                config.router.max_partial_exposure_ms).get(report.get("exit_in_flight"))
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: worker_node_kill.py LEDGER_FOLDER GCS_PORT")
    main(Path(sys.argv[1]), int(sys.argv[2]))
