"""/api/trading and /api/risk with a stand-in session process (tests/control/fake_session.py): start, heartbeat,
orders and positions mirrored, dashboard, halt and resume through the channel, stop, restart, failures, and the
409s of start-while-running and stop-while-stopped."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from config.control import ControlConfig
from control.app import SESSIONS_KEY
from tests.control.kit import AUTH, client, run, template, until

FAKE = Path(__file__).with_name("fake_session.py")
ROOT = Path(__file__).resolve().parents[2]
SLACK_S = 120.0
"""How long a stand-in session's process may take to end (a generous limit, never a timing)."""


def fake_launcher(env: dict[str, str] | None = None):
    def launch(folder: Path, profile: Path, heartbeat_s: float) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, str(FAKE), str(folder), str(profile), str(heartbeat_s)],
                                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                                start_new_session=True)
    return launch


def config_in(tmp_path: Path) -> ControlConfig:
    return ControlConfig(state_dir=str(tmp_path / "state"), heartbeat_s=0.2, snapshot_every_s=0.2, stop_timeout_s=60)


async def active_profile(c) -> int:
    created = await (await c.post("/api/configs", json=await template(c), headers=AUTH)).json()
    await c.post(f"/api/configs/{created['id']}/activate", headers=AUTH)
    return created["id"]


def test_start_follow_halt_resume_and_stop_a_session(control_db_url, tmp_path):
    async def check():
        async with client(control_db_url, config=config_in(tmp_path), launcher=fake_launcher()) as c:
            no_profile = await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            await active_profile(c)
            started = await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            again = await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            beat = await until(c, "/api/trading/heartbeat", lambda b: b["session"]["status"] == "running"
                               and b["answering"], "a running heartbeat")
            orders = await until(c, "/api/trading/orders", lambda b: len(b) == 2, "both orders mirrored")
            positions = await until(c, "/api/trading/positions", lambda b: len(b) == 2, "positions")
            board = await until(c, "/api/analytics/dashboard", lambda b: len(b["series"]["at"]) >= 2, "a P&L series")
            halted = await (await c.post("/api/risk/halt", json={"reason": "test"}, headers=AUTH)).json()
            risk = await until(c, "/api/risk", lambda b: b["trading_states"].get("session") == "HALTED", "halted")
            resumed = await (await c.post("/api/risk/resume", json={}, headers=AUTH)).json()
            stopping = await c.post("/api/trading/control", json={"action": "stop", "reason": "end of test"},
                                    headers=AUTH)
            ended = await until(c, "/api/trading/heartbeat", lambda b: b["session"]["status"] == "stopped",
                                "stopped")
            orders_after = await (await c.get(f"/api/trading/orders?session_id={ended['session']['id']}",
                                              headers=AUTH)).json()
            stop_again = await c.post("/api/trading/control", json={"action": "stop"}, headers=AUTH)
            audit = [a["action"] for a in await (await c.get("/api/audit", headers=AUTH)).json()]
            return (no_profile.status, started.status, await started.json(), again.status, beat, orders, positions,
                    board, halted, risk, resumed, stopping.status, ended, orders_after, stop_again.status, audit)

    (no_profile, started, session, again, beat, orders, positions, board, halted, risk, resumed, stopping, ended,
     orders_after, stop_again, audit) = run(check())
    assert no_profile == 409
    assert started == 202 and session["status"] == "starting" and session["mode"] == "paper"
    assert again == 409
    assert beat["heartbeat_age_s"] is not None and not beat["active_differs"]
    by_id = {o["client_order_id"]: o for o in orders}
    assert by_id["fake-1"]["status"] == "FILLED" and by_id["fake-1"]["filled_quantity"] == 2
    assert by_id["fake-2"]["status"] == "ACCEPTED"
    assert [(p["strike"], p["quantity"], p["mark_per_share"]) for p in positions] == [(600.0, -2, 7.6),
                                                                                       (605.0, 2, 6.2)]
    assert board["pnl_usd"] == -30.0 and board["orders"] == 2 and board["filled_orders"] == 1
    assert board["fill_rate"] == 0.5 and board["open_contracts"] == 4
    assert halted["state"] == "HALTED" and halted["answer"] == {"ok": True, "state": "HALTED", "working": 1}
    assert risk["denials_by_code"] == {"price_collar": 2}
    assert resumed["answer"]["state"] == "ACTIVE"
    assert stopping == 202
    assert ended["session"]["stop_reason"] == "end of test" and not ended["running"]
    assert {o["client_order_id"]: o["status"] for o in orders_after} == {"fake-1": "FILLED", "fake-2": "CANCELLED"}
    assert stop_again == 409
    assert audit[:5] == ["stop", "active", "halted", "start", "activate"]


def test_a_session_that_fails_at_start_is_closed_with_its_reason(control_db_url, tmp_path):
    async def check():
        async with client(control_db_url, config=config_in(tmp_path),
                          launcher=fake_launcher({"FAKE_SESSION_FAIL": "1"})) as c:
            await active_profile(c)
            await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            beat = await until(c, "/api/trading/heartbeat", lambda b: b["session"]["status"] == "failed", "failed")
            sessions = await (await c.get("/api/trading/sessions", headers=AUTH)).json()
            halt = await c.post("/api/risk/halt", json={}, headers=AUTH)
            return beat, sessions, halt.status

    beat, sessions, halt = run(check())
    assert "the broker refused the key" in beat["session"]["stop_reason"]
    assert [s["status"] for s in sessions] == ["failed"] and halt == 409


def test_restart_stops_the_session_and_starts_the_active_profile(control_db_url, tmp_path):
    async def check():
        async with client(control_db_url, config=config_in(tmp_path), launcher=fake_launcher()) as c:
            await active_profile(c)
            first = await (await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)).json()
            await until(c, "/api/trading/heartbeat", lambda b: b["session"]["status"] == "running", "running")
            second = await (await c.post("/api/trading/control", json={"action": "restart"}, headers=AUTH)).json()
            await until(c, "/api/trading/heartbeat", lambda b: b["session"]["status"] == "running", "running again")
            sessions = await (await c.get("/api/trading/sessions", headers=AUTH)).json()
            await c.post("/api/trading/control", json={"action": "stop"}, headers=AUTH)
            await until(c, "/api/trading/heartbeat", lambda b: not b["running"], "stopped")
            return first, second, sessions

    first, second, sessions = run(check())
    assert first["id"] != second["id"]
    assert {s["id"]: s["status"] for s in sessions} == {first["id"]: "stopped", second["id"]: "running"}


def test_the_heartbeat_says_when_the_active_profile_is_not_the_running_one(control_db_url, tmp_path):
    async def check():
        async with client(control_db_url, config=config_in(tmp_path), launcher=fake_launcher()) as c:
            profile = await active_profile(c)
            await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            await until(c, "/api/trading/heartbeat", lambda b: b["session"]["status"] == "running", "running")
            await c.put(f"/api/configs/{profile}", json=await template(c, symbols=["SPY"]), headers=AUTH)
            beat = await until(c, "/api/trading/heartbeat", lambda b: b["active_differs"], "differs")
            await c.post("/api/trading/control", json={"action": "stop"}, headers=AUTH)
            await until(c, "/api/trading/heartbeat", lambda b: not b["running"], "stopped")
            return beat

    assert run(check())["active_differs"] is True


def test_a_server_that_stops_stops_its_session_in_order_and_records_it(control_db_url, tmp_path):
    from persistence.control.store import ControlStore

    async def check():
        async with client(control_db_url, config=config_in(tmp_path), launcher=fake_launcher()) as c:
            await active_profile(c)
            await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            await until(c, "/api/trading/heartbeat", lambda b: b["session"]["status"] == "running", "running")
            child = c.server.app[SESSIONS_KEY].followed.child
        store = await ControlStore(control_db_url).open()
        [session] = await store.sessions()
        await store.close()
        return child, session

    child, session = run(check())
    assert child.poll() == 0
    assert (session.status, session.stop_reason) == ("stopped", "the control plane stopped")


def test_a_database_that_goes_away_mid_session_gets_503s_and_the_session_trades_on(postgres, tmp_path):
    url = postgres.new_database()

    async def check():
        async with client(url, config=config_in(tmp_path), launcher=fake_launcher()) as c:
            await active_profile(c)
            await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            await until(c, "/api/trading/heartbeat", lambda b: b["session"]["status"] == "running", "running")
            child = c.server.app[SESSIONS_KEY].followed.child
            postgres.stop()
            try:
                away = [await c.get(p, headers=AUTH) for p in ("/api/trading/heartbeat", "/api/configs")]
                away_bodies = [await a.json() for a in away]
                health = await (await c.get("/api/health")).json()
                await asyncio.sleep(3 * config_in(tmp_path).heartbeat_s)
                alive = child.poll() is None
            finally:
                postgres.start_again()
            back = await until(c, "/api/trading/orders", lambda b: len(b) == 2, "orders after the database")
            await c.post("/api/trading/control", json={"action": "stop"}, headers=AUTH)
            await until(c, "/api/trading/heartbeat", lambda b: not b["running"], "stopped")
            return [a.status for a in away], away_bodies, health, alive, back

    statuses, bodies, health, alive, back = run(check())
    assert statuses == [503, 503] and {b["error"] for b in bodies} == {"database_unavailable"}
    assert health == {"status": "degraded", "database": "unavailable", "version": health["version"]}
    assert alive and len(back) == 2


def test_live_needs_the_servers_permission_and_the_brokers_credentials(control_db_url, tmp_path, monkeypatch):
    monkeypatch.delenv("SPREADWRIGHT__BROKER__API_KEY", raising=False)
    live = {"mode": "live", "broker": {"url": "https://broker.example.com/api"}}

    async def check():
        refused = {}
        async with client(control_db_url, config=config_in(tmp_path), launcher=fake_launcher()) as c:
            refused["create"] = (await c.post("/api/configs", json=await template(c, **live), headers=AUTH)).status
        allowed = config_in(tmp_path).model_copy(update={"allow_live": True})
        async with client(control_db_url, config=allowed, launcher=fake_launcher()) as c:
            created = await (await c.post("/api/configs", json=await template(c, "live", **live), headers=AUTH)).json()
            await c.post(f"/api/configs/{created['id']}/activate", headers=AUTH)
            start = await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            refused["start"] = (start.status, (await start.json())["detail"])
            refused["sessions"] = await (await c.get("/api/trading/sessions", headers=AUTH)).json()
        return refused

    refused = run(check())
    assert refused["create"] == 422
    assert refused["start"][0] == 409 and "SPREADWRIGHT__BROKER__API_KEY" in refused["start"][1]
    assert refused["sessions"] == []


def test_a_session_left_active_by_a_server_that_died_is_closed_at_start(control_db_url, tmp_path):
    from datetime import datetime, timezone

    from persistence.control.store import ControlStore
    from persistence.control.tables import StrategySession

    async def check():
        store = await ControlStore(control_db_url).open()
        await store.create_session(StrategySession(
            id="orphan", configuration_id=None, content_hash="h", mode="paper", status="running",
            started_at=datetime.now(timezone.utc), stop_reason="", ledger_path="", detail={}), "token")
        await store.close()
        async with client(control_db_url, config=config_in(tmp_path)) as c:
            beat = await until(c, "/api/trading/heartbeat", lambda b: not b["running"], "the orphan closed")
        return beat["session"]

    session = run(check())
    assert session["id"] == "orphan" and session["status"] == "failed"
    assert "control plane restarted" in session["stop_reason"]


def test_the_dashboard_figures_are_the_snapshots_recomputed():
    from datetime import datetime, timedelta, timezone

    from control.trading import dashboard

    t0 = datetime(2026, 12, 7, tzinfo=timezone.utc)
    pnl = [0.0, 120.0, 80.0, 150.0, -40.0, 10.0]
    rows = [(t0 + timedelta(seconds=i), 10.0 * i, p - 10.0 * i, i, 2 * i) for i, p in enumerate(pnl)]
    board = dashboard("s", rows, orders=8, filled=3)
    assert board.series.pnl_usd == pnl
    assert board.max_drawdown_usd == 190.0                   # from the peak 150 to -40
    assert (board.pnl_usd, board.realized_usd, board.unrealized_usd) == (10.0, 50.0, -40.0)
    assert (board.fills, board.open_contracts, board.fill_rate) == (5, 10, 0.375)
    empty = dashboard(None, [], 0, 0)
    assert (empty.pnl_usd, empty.max_drawdown_usd, empty.fill_rate, empty.series.at) == (0.0, 0.0, None, [])


def test_a_session_that_cannot_be_started_is_closed_and_the_next_start_works(control_db_url, tmp_path):
    def broken(folder, profile, heartbeat_s):
        raise OSError(8, "Exec format error")

    async def check():
        async with client(control_db_url, config=config_in(tmp_path), launcher=broken) as c:
            await active_profile(c)
            failed = await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            body = await failed.json()
            sessions = await (await c.get("/api/trading/sessions", headers=AUTH)).json()
            manager = c.server.app[SESSIONS_KEY]
            manager.launcher = fake_launcher()
            again = await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            await until(c, "/api/trading/heartbeat", lambda b: b["session"]["status"] == "running", "running")
            await c.post("/api/trading/control", json={"action": "stop"}, headers=AUTH)
            await until(c, "/api/trading/heartbeat", lambda b: not b["running"], "stopped")
            return failed.status, body, sessions, again.status

    status, body, sessions, again = run(check())
    assert status == 503 and body["error"] == "session_not_started" and "Exec format error" in body["detail"]
    assert [(s["status"], "Exec format error" in s["stop_reason"]) for s in sessions] == [("failed", True)]
    assert again == 202


def test_the_watcher_survives_an_error_and_goes_on_following(control_db_url, tmp_path):
    async def check():
        async with client(control_db_url, config=config_in(tmp_path), launcher=fake_launcher()) as c:
            store = c.server.app[SESSIONS_KEY].store
            original, failures = store.replace_positions, []

            async def failing_once(*args, **kwargs):
                if not failures:
                    failures.append(1)
                    raise RuntimeError("a bug in one round")
                return await original(*args, **kwargs)

            store.replace_positions = failing_once
            await active_profile(c)
            await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            positions = await until(c, "/api/trading/positions", lambda b: len(b) == 2, "positions after the error")
            await c.post("/api/trading/control", json={"action": "stop"}, headers=AUTH)
            beat = await until(c, "/api/trading/heartbeat", lambda b: not b["running"], "stopped")
            return failures, positions, beat["session"]["status"]

    failures, positions, status = run(check())
    assert failures == [1] and len(positions) == 2 and status == "stopped"


def test_a_session_gets_the_servers_environment_less_its_settings_and_profile_overrides():
    from control.sessions import session_environment

    environment = session_environment({"PATH": "/bin", "RAY_ADDRESS": "10.0.0.1:6379",
                                       "SPREADWRIGHT_CONTROL__TOKEN": "control-token-0123456789",
                                       "SPREADWRIGHT__BROKER__API_KEY": "broker-key",
                                       "SPREADWRIGHT__SIZING__MAX_CONTRACTS": "50"})
    assert environment == {"PATH": "/bin", "RAY_ADDRESS": "10.0.0.1:6379",
                           "SPREADWRIGHT__BROKER__API_KEY": "broker-key"}


def test_orders_written_while_the_database_was_away_reach_it_when_it_is_back(postgres, tmp_path):
    from core.ledger import fold
    from persistence.sqlite_ledger import SqliteLedgerStore

    url = postgres.new_database()

    async def check():
        launcher = fake_launcher({"FAKE_SESSION_FILL_EVERY_S": "0.2"})
        async with client(url, config=config_in(tmp_path), launcher=launcher) as c:
            await active_profile(c)
            await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            await until(c, "/api/trading/orders", lambda b: len(b) >= 3, "orders")
            postgres.stop()
            try:
                await asyncio.sleep(2.0)                       # the session writes orders meanwhile
            finally:
                postgres.start_again()
            await c.post("/api/trading/control", json={"action": "stop"}, headers=AUTH)
            ended = await until(c, "/api/trading/heartbeat", lambda b: not b["running"], "stopped")
            return await (await c.get(f"/api/trading/orders?session_id={ended['session']['id']}&limit=5000",
                                      headers=AUTH)).json()

    orders = run(check())
    ledger = SqliteLedgerStore(tmp_path / "state" / "ledger.db")
    in_ledger = fold(ledger.events()).orders
    ledger.close()
    assert {o["client_order_id"] for o in orders} == set(in_ledger) and len(in_ledger) >= 8
