"""A paper session on Ray against the paper exchange over HTTP: faults, clean stops, nothing duplicated."""

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from actors import names
from config import load_profile
from core.ledger import fold
from persistence.sqlite_ledger import SqliteLedgerStore
from supervisors.paper import PaperExchangeProcess, PaperSession
from tests.ray.waiting import FAST_SESSION_ENV, wait_for

ROOT = Path(__file__).parents[2]


def exchange_orders(url):
    with urllib.request.urlopen(url + "/orders", timeout=5) as response:
        return json.load(response)["orders"]


def kill_session_env(tmp_path, url, symbols, namespace):
    return {**FAST_SESSION_ENV, "SPREADWRIGHT__LEDGER__PATH": str(tmp_path / "ledger.db"),
            "SPREADWRIGHT__BROKER__URL": url, "SPREADWRIGHT__SYMBOLS": symbols,
            "SPREADWRIGHT__RUNTIME__RAY_NAMESPACE": namespace}


def sigkill_and_wait_for_restart(ray_cluster, runtime, name):
    old_pid = ray_cluster.get(runtime.handle(name).pid.remote())
    os.kill(old_pid, signal.SIGKILL)
    assert wait_for(lambda: ray_cluster.get(runtime.handle(name).pid.remote(), timeout=2) != old_pid)


def assert_nothing_twice_nothing_working(ledger_path, orders, summary):
    """Every order at the exchange has its ledger intent, no order or intent twice, nothing left working."""
    intents = [e.client_order_id for e in SqliteLedgerStore(ledger_path).events() if e.kind == "intent"]
    sent = [o["client_order_id"] for o in orders]
    assert len(intents) == len(set(intents)) and len(sent) == len(set(sent)) and set(sent) <= set(intents)
    assert all(o["status"] in ("FILLED", "CANCELLED", "REJECTED") for o in orders)
    assert summary["ledger"]["working"] == 0
    assert not fold(SqliteLedgerStore(ledger_path).events()).working()
    return intents, sent


def test_killed_trader_in_a_paper_session_resumes_without_duplicate_orders(ray_cluster, tmp_path):
    exchange = PaperExchangeProcess("127.0.0.1", 0, (7,), seed=3, quote_interval_ms=200)
    session = PaperSession(load_profile("paper", env=kill_session_env(tmp_path, exchange.url, "[SPY, QQQ, NOPE]",
                                                                      "t-paper-kill")))
    try:
        session.start()
        assert sorted(t.symbol for t in session.traders) == ["QQQ", "SPY"]     # NOPE is logged and left out
        runtime = session.runtime
        assert wait_for(lambda: runtime.snapshot("broker")["intents"] >= 6), runtime.snapshots()
        trader = session.traders[0].name
        sigkill_and_wait_for_restart(ray_cluster, runtime, trader)
        before = runtime.snapshot(trader)["session_attempts"]
        assert wait_for(lambda: runtime.snapshot(trader)["session_attempts"] >= before + 3), runtime.snapshot(trader)
        summary = session.stop()
        orders = exchange_orders(exchange.url)
    finally:
        session.stop()
        exchange.stop()
    intents, sent = assert_nothing_twice_nothing_working(tmp_path / "ledger.db", orders, summary)
    assert sorted(sent) == sorted(intents) and len(intents) == summary["ledger"]["intents"]   # the gateway never died
    assert summary["ledger"]["duplicates_refused"] == 0


def test_killed_order_path_actor_comes_back_whole_and_nothing_is_duplicated(ray_cluster, tmp_path):
    """The gateway and the broker bridge (and the router, with flies on) share one actor: SIGKILL it mid-session.
    Ray restarts it, the gateway rebuilds from the ledger and reconciles with the broker, trading resumes. An
    intent written just before the kill may never have reached the exchange: it is closed, never resent."""
    exchange = PaperExchangeProcess("127.0.0.1", 0, (7,), seed=4, quote_interval_ms=200)
    session = PaperSession(load_profile("paper", env=kill_session_env(tmp_path, exchange.url, "[SPY]",
                                                                      "t-paper-kill-gateway")))
    try:
        session.start()
        runtime = session.runtime
        assert sorted(runtime.co_hosted_with("broker")) == sorted(
            [names.RISK, names.GATEWAY, names.BRIDGE]
        )  # no router: flies are off
        assert wait_for(lambda: runtime.snapshot("broker")["intents"] >= 6), runtime.snapshots()
        sigkill_and_wait_for_restart(ray_cluster, runtime, "broker")
        assert ray_cluster.get(runtime.handle("broker").was_restarted.remote())
        assert wait_for(lambda: runtime.snapshot("broker")["intents"] >= 4), runtime.snapshots()   # new orders
        summary = session.stop()
        orders = exchange_orders(exchange.url)
    finally:
        session.stop()
        exchange.stop()
    assert_nothing_twice_nothing_working(tmp_path / "ledger.db", orders, summary)


def test_cli_paper_session_starts_its_exchange_and_stops_cleanly_on_ctrl_c(ray_cluster, tmp_path):
    address = ray_cluster.get_runtime_context().gcs_address
    env = {**os.environ, **FAST_SESSION_ENV, "SPREADWRIGHT__LEDGER__PATH": str(tmp_path / "ledger.db"),
           "SPREADWRIGHT__RUNTIME__RAY_NAMESPACE": "t-paper-cli", "PYTHONPATH": str(ROOT)}
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "supervisors.cli", "paper", "--profile", "paper",
                                    "--address", address, "--status-every-s", "1"], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "fills" in line and "attempts 0," not in line:
                break
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    lines.append(out)
    assert process.returncode == 0, "".join(lines) + "\nstderr (last 3000 characters):\n" + \
        stderr_path.read_text()[-3000:]
    assert "0 left working" in out
    store = SqliteLedgerStore(tmp_path / "ledger.db")
    assert fold(store.events()).orders and not fold(store.events()).working()


def _fly_net_contracts(ledger_path, position_id):
    """Net contracts per leg that the fly's entry and its exit orders traded (ledger fills)."""
    from actors.butterfly_router_state import parse_exit_order_id

    events = SqliteLedgerStore(ledger_path).events()
    state = fold(e for e in events if e.client_order_id == position_id + ":open"
                 or (parse_exit_order_id(e.client_order_id) or (None,))[0] == position_id)
    return state.positions


def test_killed_order_path_actor_mid_fly_exit_resumes_the_exit_and_leaves_no_leg_open(ray_cluster, tmp_path):
    """With flies on, the router shares the order-path actor. SIGKILL it while it is closing a fly: the new
    router rebuilds that exit from the ledger when the strategist re-sends it, and the fly ends flat, every
    leg closed exactly once (no naked short body, no leg closed twice)."""
    exchange = PaperExchangeProcess("127.0.0.1", 0, (7,), seed=5, quote_interval_ms=200)
    env = {**kill_session_env(tmp_path, exchange.url, "[SPY]", "t-paper-kill-router"),
           "SPREADWRIGHT__BUTTERFLIES__ENABLED": "true", "SPREADWRIGHT__BUTTERFLIES__ENTRY_INTERVAL_S": "1",
           "SPREADWRIGHT__BUTTERFLIES__MAX_HOLD_S": "1", "SPREADWRIGHT__BUTTERFLIES__EXIT_RESEND_S": "1",
           "SPREADWRIGHT__BUTTERFLIES__MIN_DAYS_TO_EXPIRY": "0",
           "SPREADWRIGHT__ROUTER__ROUTING__FIRST_ORDER_TIMEOUT_MS": "4000",
           "SPREADWRIGHT__ROUTER__ROUTING__REPRICE_INTERVAL_MS": "1000"}
    session = PaperSession(load_profile("paper", env=env))
    try:
        session.start()
        runtime = session.runtime
        assert sorted(runtime.co_hosted_with("router")) == sorted([names.RISK, names.GATEWAY, names.BRIDGE,
                                                                   names.ROUTER])
        assert wait_for(lambda: runtime.snapshot("router")["working"] >= 1, timeout_s=90), runtime.snapshots()
        cut_short = runtime.snapshot("router")["exiting"]
        sigkill_and_wait_for_restart(ray_cluster, runtime, "router")
        assert wait_for(lambda: runtime.snapshot("router")["resumed"] >= 1), runtime.snapshot("router")
        ledger = tmp_path / "ledger.db"
        assert wait_for(lambda: all(_fly_net_contracts(ledger, p) == {} for p in cut_short)), \
            {p: _fly_net_contracts(ledger, p) for p in cut_short}
        summary = session.stop()
        orders = exchange_orders(exchange.url)
    finally:
        session.stop()
        exchange.stop()
    assert_nothing_twice_nothing_working(ledger, orders, summary)


def test_a_paper_session_s_book_holds_the_ledger_s_fills_and_shows_in_the_status(ray_cluster, tmp_path):
    """The same book as a backtest's: every ledger fill folded, marked on the session's chains, in get_status."""
    exchange = PaperExchangeProcess("127.0.0.1", 0, (7,), seed=5, quote_interval_ms=200)
    env = {**kill_session_env(tmp_path, exchange.url, "[SPY]", "t-paper-book"),
           "SPREADWRIGHT__BOOK__MARK_INTERVAL_S": "1"}
    session = PaperSession(load_profile("paper", env=env))
    try:
        session.start()
        runtime = session.runtime
        assert wait_for(lambda: runtime.snapshot(names.BOOK).get("fills", 0) >= 4), runtime.snapshot(names.BOOK)
        filled_by_ns = runtime.snapshot(names.BOOK).get("marked_ns", 0)
        # the valuation is as of the last mark: wait for one made after those fills (a loaded machine took the
        # snapshot between the fourth fill and the next mark, and the book showed no position yet)
        assert wait_for(lambda: runtime.snapshot(names.BOOK).get("marked_ns", 0) > filled_by_ns), \
            runtime.snapshot(names.BOOK)
        status = session.supervisor.get_status()["book"]
        summary = session.stop()
    finally:
        session.stop()
        exchange.stop()
    assert set(status["total"]) >= {"pnl_usd", "realized_usd", "unrealized_usd", "delta_usd", "open_contracts"}
    assert "SPY" in status["by_symbol"] and status["total"]["unpriced"] == 0
    events = SqliteLedgerStore(tmp_path / "ledger.db").events()
    intents = {e.client_order_id: e.payload for e in events if e.kind == "intent"}
    cash = 0.0
    fills = [e for e in events if e.kind == "filled"]
    for event in fills:
        sign = 1 if intents[event.client_order_id]["side"] == "BUY" else -1
        for leg, price in zip(intents[event.client_order_id]["legs"], event.payload["leg_prices"]):
            cash -= sign * leg[4] * event.payload["quantity"] * price * 100
    book = summary["book"]
    assert book["fills"] == len(fills) and book["refused_fills"] == 0
    assert book["cash_flow_usd"] == pytest.approx(cash, abs=0.01)


def test_spreadwright_halt_stops_a_running_session_and_resume_lets_it_trade_again(ray_cluster, tmp_path, capsys):
    """`spreadwright halt` reaches the session's risk gate through Ray: working orders are cancelled, nothing new
    leaves, the state is in the ledger; `resume` lets the traders send again."""
    from supervisors.cli import main

    exchange = PaperExchangeProcess("127.0.0.1", 0, (7,), seed=4, quote_interval_ms=200)
    session = PaperSession(load_profile("paper", env=kill_session_env(tmp_path, exchange.url, "[SPY]", "t-halt")))
    try:
        session.start()
        runtime = session.runtime
        assert wait_for(lambda: runtime.snapshot("broker")["intents"] >= 2), runtime.snapshots()
        assert main(["halt", "--namespace", "t-halt", "--reason", "test halt"]) == 0
        assert "session: HALTED" in capsys.readouterr().out
        assert wait_for(lambda: runtime.snapshot("broker")["working"] == 0), runtime.snapshot("broker")
        halted_at = runtime.snapshot("broker")["intents"]
        denied_before = runtime.snapshot("risk")["denied"]
        import time

        time.sleep(2.0)                                       # traders paused: nothing sent, nothing even tried
        assert runtime.snapshot("broker")["intents"] == halted_at
        assert runtime.snapshot("risk")["denied"] - denied_before <= 2
        assert main(["resume", "--namespace", "t-halt"]) == 0
        assert wait_for(lambda: runtime.snapshot("broker")["intents"] > halted_at), runtime.snapshots()
        session.stop()
    finally:
        session.stop()
        exchange.stop()
    states = [(e.owner, e.payload["state"], e.payload["trigger"])
              for e in SqliteLedgerStore(tmp_path / "ledger.db").events() if e.kind == "trading_state"]
    assert states == [("session", "HALTED", "manual"), ("session", "ACTIVE", "manual")]


def test_halt_without_a_session_says_so_without_a_traceback(ray_cluster, capsys):
    from supervisors.cli import main

    assert main(["resume", "--namespace", "no-such-session"]) == 2
    assert "no running session" in capsys.readouterr().err
