"""The broker goes away mid-session and comes back with an empty book (the paper exchange SIGKILLed and started
again on its port): the orders it lost are closed in the ledger with that reason, nothing halts, nothing is sent
twice, and the session trades on against the new book."""

import json
import urllib.request

from core.ledger import fold
from persistence.sqlite_ledger import SqliteLedgerStore
from supervisors.paper import PaperExchangeProcess, PaperSession
from tests.ray.test_paper_session import kill_session_env
from tests.ray.waiting import wait_for


def _orders(url, status=""):
    query = f"?status={status}&limit=1000" if status else "?limit=1000"
    with urllib.request.urlopen(f"{url}/orders{query}", timeout=5) as response:
        return json.load(response)["orders"]


def _lost_in_ledger(ledger_path, coids):
    events = SqliteLedgerStore(ledger_path).events()
    return {e.client_order_id for e in events if e.kind == "cancelled" and e.client_order_id in coids
            and "lost its book" in e.payload.get("reason", "")}


def test_a_broker_that_restarts_empty_closes_its_orders_with_a_reason_and_trading_goes_on(ray_cluster, tmp_path):
    exchange = PaperExchangeProcess("127.0.0.1", 0, (7,), seed=8, quote_interval_ms=200)
    env = {**kill_session_env(tmp_path, exchange.url, "[SPY]", "t-broker-away"),
           "SPREADWRIGHT__TIMING__CANCEL_AFTER_SECONDS": "60"}            # orders rest: some are working at the kill
    from config import load_profile

    session = PaperSession(load_profile("paper", env=env))
    ledger = tmp_path / "ledger.db"
    try:
        session.start()
        runtime = session.runtime
        seen = {}

        def resting():
            """The orders working at the exchange, kept from the same answer that found one (on a loaded machine
            the one working order ended between that answer and a second request, and nothing was left to lose)."""
            seen["working"] = {o["client_order_id"] for o in _orders(exchange.url, "working")}
            return bool(seen["working"])

        assert wait_for(resting, timeout_s=120)
        working = seen["working"]
        before = {o["client_order_id"] for o in _orders(exchange.url)}
        exchange.process.kill()                                   # SIGKILL: no goodbye, the book is gone
        exchange.process.wait(timeout=30)
        exchange = PaperExchangeProcess("127.0.0.1", exchange.port, (7,), seed=8, quote_interval_ms=200)
        assert wait_for(lambda: _lost_in_ledger(ledger, working) >= working - _filled(ledger), timeout_s=60), (
            working, _lost_in_ledger(ledger, working))
        assert _lost_in_ledger(ledger, working)                   # the path under test ran (resting orders rarely fill)
        assert wait_for(lambda: len(_orders(exchange.url)) >= 2, timeout_s=120)      # trading on, new book
        trader = session.traders[0].name
        assert not runtime.snapshot(trader)["halted"], runtime.snapshot(trader)
        assert runtime.snapshot("broker")["halts"] == 0
        summary = session.stop()
        after = {o["client_order_id"] for o in _orders(exchange.url)}
    finally:
        session.stop()
        exchange.stop()
    intents = [e.client_order_id for e in SqliteLedgerStore(ledger).events() if e.kind == "intent"]
    assert len(intents) == len(set(intents)) and not (before & after)          # nothing sent twice
    assert (before | after) <= set(intents)
    assert summary["ledger"]["working"] == 0 and not fold(SqliteLedgerStore(ledger).events()).working()


def _filled(ledger_path):
    """Orders the ledger shows filled in full before the broker went away (they are not lost)."""
    state = fold(SqliteLedgerStore(ledger_path).events())
    return {coid for coid, record in state.orders.items() if record.status.value == "FILLED"}
