"""The command center runs the crypto strangle too: a crypto profile (a `strangle` section) is checked by its own
models, stored, and started as `spreadwright crypto-session` (a real child process here, against the paper
exchange quoting the simulated crypto market); its orders, positions, P&L and trading states reach the database and
the API as a spreads session's do, and what the database shows is what the session's ledger holds."""

from __future__ import annotations

from pathlib import Path

from config.control import ControlConfig
from config.crypto import crypto_config
from core.ledger import fold
from persistence.sqlite_ledger import SqliteLedgerStore
from tests.control.kit import AUTH, client, run, until

FAST = {"decide_every_s": 1, "reprice_after_s": 2, "max_reprices": 2}


async def crypto_template(c, name: str = "btc", **settings) -> dict:
    body = await (await c.get("/api/configs/template?kind=crypto", headers=AUTH)).json()
    body["name"] = name
    for section, values in settings.items():
        body["settings"][section] = {**body["settings"].get(section, {}), **values} \
            if isinstance(values, dict) else values
    return body


def test_crypto_profiles_are_checked_by_their_own_models(control_db_url, tmp_path, monkeypatch):
    monkeypatch.delenv("SPREADWRIGHT_DERIBIT_CLIENT_ID", raising=False)
    config = ControlConfig(state_dir=str(tmp_path / "state"), allow_live=True)
    live = {"mode": "live", "allow_live": True, "venue": {"kind": "deribit", "url": "https://test.deribit.com"}}

    async def check():
        async with client(control_db_url, config=config) as c:
            created = await (await c.post("/api/configs", json=await crypto_template(c), headers=AUTH)).json()
            band = await c.post("/api/configs", json=await crypto_template(c, "band", strangle={"delta_band": [0.3,
                                                                                                         0.2]}),
                                headers=AUTH)
            backtest = await c.post("/api/configs", json=await crypto_template(c, "bt", mode="backtest",
                                                                runtime={"kind": "inline"}),
                                    headers=AUTH)
            live_row = await (await c.post("/api/configs", json=await crypto_template(c, "live", **live),
                                           headers=AUTH)).json()
            await c.post(f"/api/configs/{live_row['id']}/activate", headers=AUTH)
            start = await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            return created, band.status, await band.json(), backtest.status, await backtest.json(), start.status, \
                await start.json()

    created, band, band_body, backtest, backtest_body, start, start_body = run(check())
    assert created["settings"]["strangle"]["symbol"] == "BTC"
    assert created["content_hash"] == crypto_config(created["settings"]).config_id
    assert created["settings"]["ledger"]["path"].startswith(str(tmp_path / "state"))
    assert band == 422 and [p["field"] for p in band_body["problems"]] == ["settings.strangle.delta_band"]
    assert backtest == 422 and "crypto-backtest" in backtest_body["detail"]
    assert start == 409 and "SPREADWRIGHT_DERIBIT_CLIENT_ID" in start_body["detail"]


def test_a_crypto_strangle_session_is_started_followed_halted_and_stopped(postgres, tmp_path):
    """On PostgreSQL only (the store's two backends are each tested in test_trading.py)."""
    control_db_url = postgres.new_database()
    config = ControlConfig(state_dir=str(tmp_path / "state"), heartbeat_s=0.5, snapshot_every_s=0.5,
                           stop_timeout_s=120)

    async def check():
        async with client(control_db_url, config=config) as c:
            body = await crypto_template(c, strangle=FAST, runtime={"kind": "asyncio"})   # no Ray in a child here
            created = await (await c.post("/api/configs", json=body, headers=AUTH)).json()
            await c.post(f"/api/configs/{created['id']}/activate", headers=AUTH)
            started = await (await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)).json()
            await until(c, "/api/trading/heartbeat", lambda b: b["session"]["status"] == "running", "running",
                        slack_s=180)
            positions = await until(c, "/api/trading/positions", lambda b: len(b) == 2
                                    and all(p["mark_per_share"] is not None for p in b), "both legs held",
                                    slack_s=240)
            board = await until(c, "/api/analytics/dashboard", lambda b: len(b["series"]["at"]) >= 1, "a P&L point")
            halted = await (await c.post("/api/risk/halt", json={"reason": "test"}, headers=AUTH)).json()
            await c.post("/api/trading/control", json={"action": "stop", "reason": "end of test"}, headers=AUTH)
            ended = await until(c, "/api/trading/heartbeat", lambda b: b["session"]["status"] != "stopping"
                                and not b["running"], "ended", slack_s=180)
            orders = await (await c.get(f"/api/trading/orders?session_id={started['id']}", headers=AUTH)).json()
            return started, positions, board, halted, ended, orders, created["settings"]["ledger"]["path"]

    started, positions, board, halted, ended, orders, ledger_path = run(check())
    assert started["detail"]["kind"] == "crypto" and started["mode"] == "paper"
    assert {p["right"] for p in positions} == {"C", "P"} and all(p["quantity"] < 0 for p in positions)
    assert all(p["symbol"] == "BTC" and p["mark_per_share"] > 0 for p in positions)
    assert board["pnl_usd"] is not None
    assert halted["answer"]["ok"] and halted["answer"]["state"] == "HALTED", halted
    assert ended["session"]["status"] == "stopped", ended
    store = SqliteLedgerStore(Path(ledger_path))
    ledger = fold(store.events())
    store.close()
    assert not ledger.working()
    assert {o["client_order_id"]: (o["status"], o["filled_quantity"]) for o in orders} == {
        coid: (order.status.value, order.filled) for coid, order in ledger.orders.items()}


def test_positions_the_strangle_does_not_manage_are_shown_from_the_ledger():
    from datetime import datetime, timezone

    from control.follower import position_rows
    from core.ledger import LedgerState

    ledger = LedgerState()
    ledger.positions.update({("BTC", "2026-11-03", 95_000.0, "C"): -10, ("BTC", "2026-11-02", 99_000.0, "C"): -3,
                             ("BTC", "2026-11-01", 80_000.0, "P"): 0})
    book = {"positions": [{"symbol": "BTC", "expiry": "2026-11-03", "strike": 95_000.0, "right": "C",
                           "quantity": -10, "mark_per_share": 270.0, "unrealized_usd": 12.0, "delta_shares": -0.13,
                           "gamma_shares_per_usd": None, "vega_usd_per_vol_point": None, "theta_usd_per_day": None}]}
    rows = position_rows({"book": book}, ledger, datetime(2026, 11, 2, tzinfo=timezone.utc))
    assert [(r.expiry, r.quantity, r.mark_per_share) for r in rows] == [("2026-11-03", -10, 270.0),
                                                                         ("2026-11-02", -3, None)]
