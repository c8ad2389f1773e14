"""Recovery: time from SIGKILL of an ExpirationTrader actor to its first new order after it replayed the ledger.

Runs a small Ray session (simulated exchange, market feed, gateway with a SQLite ledger, one trader
trading around the clock), kills the trader's worker process `--kills` times and prints each
recovery: Ray restart (new pid answering) and first new order intent at the gateway. For scale,
DESIGN.md measured Ray alone restarting an actor in about 0.8 s on this machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import ray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from actors import names  # noqa: E402
from actors.broker_gateway import BrokerGateway  # noqa: E402
from actors.expiration_trader import ExpirationTrader, TraderSettings  # noqa: E402
from actors.optimization_metrics import MetricsComponent
from actors.position_balancer import BalancerComponent  # noqa: E402
from actors.runtime.ray_runtime import RayRuntime  # noqa: E402
from config.execution import ExecutorConfig, TimingParameters  # noqa: E402
from config.runtime import RuntimeConfig  # noqa: E402
from persistence.sqlite_ledger import SqliteLedgerStore  # noqa: E402
from sim.exchange.simulated import SimulatedExchange  # noqa: E402
from sim.market.live import MarketFeed, MarketSpec  # noqa: E402


def poll(predicate, timeout_s=60.0, every_s=0.01):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception:  # noqa: BLE001 - the actor is down while Ray restarts it
            pass
        time.sleep(every_s)
    raise TimeoutError("no recovery within the timeout")


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    args = parser.parse_args(argv if argv is not None else [])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="bench-recovery")
    expiry = datetime.now(timezone.utc).date() + timedelta(days=7)
    settings = TraderSettings(timing=TimingParameters(cancel_after_seconds=0.5, min_delay_between_attempts=0.05,
                                                      max_delay_between_attempts=0.1),
                              executor=ExecutorConfig(min_fill_rate=0.0), session="bench", market_hours=False)
    trader = ExpirationTrader("SPY", expiry, settings)
    runtime = RayRuntime(RuntimeConfig(kind="ray", ray_namespace="bench-recovery", max_restarts=-1))
    ledger = Path(tempfile.mkdtemp()) / "ledger.db"
    for component in (
        SimulatedExchange(),
        BrokerGateway(SqliteLedgerStore(ledger)),
        MarketFeed(
            MarketSpec(symbols={"SPY": 600.0}, expiry_days=(7,), n_strikes=40, interval_ms=100),
            routes={("SPY", expiry.isoformat()): (trader.name,)},
        ),
        BalancerComponent(),
        MetricsComponent(),
        trader,
    ):
        runtime.add(component)
    runtime.start()
    handle = runtime.handle(trader.name)
    restart_s, trading_s = [], []
    try:
        poll(lambda: runtime.snapshot(names.GATEWAY)["intents"] >= 3)
        for _ in range(args.kills):
            pid = ray.get(handle.pid.remote())
            intents = runtime.snapshot(names.GATEWAY)["intents"]
            killed = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            poll(lambda: ray.get(handle.pid.remote(), timeout=1) != pid)
            restart_s.append(time.monotonic() - killed)
            poll(lambda: runtime.snapshot(names.GATEWAY, timeout_s=1)["intents"] > intents)
            trading_s.append(time.monotonic() - killed)
        duplicates = runtime.snapshot(names.GATEWAY)["duplicates_refused"]
    finally:
        runtime.stop()
        ray.shutdown()
    print(f"[recovery] {args.kills} SIGKILLs of a trader actor (Ray alone restarts an actor in ~0.8 s here)")
    print(f"  Ray restart (new pid answering): median {statistics.median(restart_s):.2f} s, max {max(restart_s):.2f} s")
    print(f"  trading again (first new order after ledger replay): median {statistics.median(trading_s):.2f} s, "
          f"max {max(trading_s):.2f} s; ids refused as duplicates: {duplicates}")
    return {"restart_median_s": statistics.median(restart_s), "trading_median_s": statistics.median(trading_s)}


if __name__ == "__main__":
    main(sys.argv[1:])
