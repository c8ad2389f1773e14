"""SIGKILL an ExpirationTrader actor mid-session: it restarts, replays the ledger, and no order is duplicated."""

import os
import signal
from datetime import datetime, timedelta

from actors.expiration_trader import ExpirationTrader, TraderSettings
from actors.optimization_metrics import MetricsComponent
from actors.position_balancer import BalancerComponent
from actors.runtime.ray_runtime import RayRuntime
from config.execution import ExecutorConfig, TimingParameters
from config.runtime import RuntimeConfig
from core.calendar import MarketCalendar
from core.expirations import nearest_listed
from core.ledger import fold
from core.units import NEW_YORK
from persistence.sqlite_ledger import SqliteLedgerStore
from sim.exchange.simulated import SimulatedExchange
from sim.market.live import MarketFeed, MarketSpec
from tests.kit.topologies import order_path
from tests.ray.waiting import wait_for


def test_killed_trader_restarts_from_the_ledger_without_duplicate_orders(ray_cluster, tmp_path):
    today = datetime.now(NEW_YORK).date()
    expiry = nearest_listed(today, (7,), MarketCalendar().sessions(today, today + timedelta(days=130)))[0]
    settings = TraderSettings(timing=TimingParameters(cancel_after_seconds=0.5, min_delay_between_attempts=0.2,
                                                      max_delay_between_attempts=0.4),
                              executor=ExecutorConfig(min_fill_rate=0.0, optimal_expiry_range=(0, 180)),
                              session="fault", market_hours=False)
    trader = ExpirationTrader("SPY", expiry, settings)
    store_path = tmp_path / "ledger.db"
    runtime = RayRuntime(RuntimeConfig(kind="ray", ray_namespace="t-trader-restart", max_restarts=-1))
    order_path(runtime, SimulatedExchange(), SqliteLedgerStore(store_path),
               MarketFeed(MarketSpec(symbols={"SPY": 600.0}, expiry_days=(7,), n_strikes=40, interval_ms=200),
                          routes={("SPY", expiry.isoformat()): (trader.name,)}),
               BalancerComponent(), MetricsComponent(), trader)
    runtime.start()
    try:
        assert wait_for(lambda: runtime.snapshot("broker")["intents"] >= 5), runtime.snapshots()
        handle = runtime.handle(trader.name)
        old_pid = ray_cluster.get(handle.pid.remote())
        os.kill(old_pid, signal.SIGKILL)
        assert wait_for(lambda: ray_cluster.get(handle.pid.remote(), timeout=2) != old_pid), "trader never came back"
        assert ray_cluster.get(handle.was_restarted.remote())
        intents_at_restart = runtime.snapshot("broker")["intents"]
        assert wait_for(lambda: runtime.snapshot("broker")["intents"] >= intents_at_restart + 5), runtime.snapshots()
        runtime.stop(names=[trader.name])          # no new orders, so the counts below cannot race the ledger
        assert wait_for(lambda: runtime.snapshot("exchange")["submitted"] == runtime.snapshot("broker")["intents"],
                        10), runtime.snapshots()
        broker, exchange = runtime.snapshot("broker"), runtime.snapshot("exchange")
    finally:
        runtime.stop()
    ledger = SqliteLedgerStore(store_path).events()
    intents = [e.client_order_id for e in ledger if e.kind == "intent"]
    assert len(intents) == len(set(intents))                      # no client order id twice in the ledger
    assert exchange["submitted"] == len(intents) == broker["intents"]   # every order at the exchange has its intent
    assert broker["duplicates_refused"] == 0                      # the restarted trader never reused an id
    assert len(fold(ledger).orders) == len(intents)
