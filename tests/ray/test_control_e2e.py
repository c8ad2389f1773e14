"""The control plane drives a real paper session (the CLI's, as a child process, on the tests' Ray cluster, against
the paper exchange it starts): profile, activate, start, heartbeat, a fill in the orders, positions with marks,
halt through the risk gate, stop with nothing left working; figures checked against the session's own ledger."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from pathlib import Path

import pytest

from config.control import ControlConfig
from core.instruments import multiplier_of
from core.ledger import LedgerState, fold
from persistence.sqlite_ledger import SqliteLedgerStore
from tests.control import kit
from tests.control.kit import AUTH, client, run, template

SLACK_S = 240.0
until = partial(kit.until, slack_s=SLACK_S)


def test_the_control_plane_runs_a_paper_session_end_to_end(ray_cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster.get_runtime_context().gcs_address)
    ledger = tmp_path / "state" / "ledger.db"
    config = ControlConfig(state_dir=str(tmp_path / "state"), heartbeat_s=0.5, heartbeat_stale_s=30)

    async def check():
        async with client(f"sqlite+aiosqlite:///{tmp_path / 'control.db'}", config=config) as c:
            profile = await template(c, "e2e", symbols=["SPY"])
            settings = profile["settings"]
            settings["timing"].update(cancel_after_seconds=0.5, min_delay_between_attempts=0.2,
                                      max_delay_between_attempts=0.5)
            settings["executor"]["min_fill_rate"] = 0.0
            settings["broker"].update(quote_poll_ms=200, expirations_per_symbol=1, paper_expiry_days=[7])
            settings["book"]["mark_interval_s"] = 1
            settings["ledger"]["path"] = str(ledger)
            settings["runtime"]["ray_namespace"] = "t-control-e2e"
            created = await c.post("/api/configs", json=profile, headers=AUTH)
            assert created.status == 201, await created.text()
            await c.post(f"/api/configs/{(await created.json())['id']}/activate", headers=AUTH)
            started = await c.post("/api/trading/control", json={"action": "start"}, headers=AUTH)
            assert started.status == 202, await started.text()
            await until(c, "/api/trading/heartbeat", lambda b: b["session"]["status"] == "running", "running")
            orders = await until(c, "/api/trading/orders", lambda b: any(o["filled_quantity"] for o in b), "a fill")
            positions = await until(c, "/api/trading/positions",
                                    lambda b: b and all(p["mark_per_share"] is not None for p in b), "marks")
            halted = await (await c.post("/api/risk/halt", json={"reason": "e2e"}, headers=AUTH)).json()
            session_id = (await (await c.get("/api/trading/heartbeat", headers=AUTH)).json())["session"]["id"]
            recomputed = await _book_pnl_recomputed(tmp_path / "state" / "sessions" / session_id / "status.json",
                                                    ledger)
            stop = await c.post("/api/trading/control", json={"action": "stop"}, headers=AUTH)
            ended = await until(c, "/api/trading/heartbeat", lambda b: not b["running"], "stopped")
            final_orders = await (await c.get(f"/api/trading/orders?session_id={ended['session']['id']}&limit=5000",
                                              headers=AUTH)).json()
            board = await (await c.get(f"/api/analytics/dashboard?session_id={ended['session']['id']}",
                                       headers=AUTH)).json()
            return orders, positions, halted, stop.status, ended, final_orders, board, recomputed

    orders, positions, halted, stop, ended, final_orders, board, recomputed = run(check())
    book_pnl_usd, cash_plus_marked_usd = recomputed
    assert book_pnl_usd == pytest.approx(cash_plus_marked_usd, abs=0.05)
    assert positions and any(o["status"] in ("FILLED", "PARTIALLY_FILLED", "CANCELLED") for o in orders)
    assert halted["answer"] is not None and halted["answer"]["ok"], halted
    assert halted["answer"]["state"] == "HALTED"
    assert stop == 202
    assert ended["session"]["status"] == "stopped", ended
    store = SqliteLedgerStore(ledger)
    state = fold(store.events())
    store.close()
    assert not state.working()
    mirrored = {o["client_order_id"]: (o["status"], o["filled_quantity"]) for o in final_orders}
    assert mirrored == {coid: (o.status.value, o.filled) for coid, o in state.orders.items()}
    assert board["orders"] == len(state.orders)
    assert board["filled_orders"] == sum(1 for o in state.orders.values() if o.filled)


async def _book_pnl_recomputed(status_path: Path, ledger_path: Path) -> tuple[float, float]:
    """(the session book's P&L, the same recomputed from the ledger's fills as cash plus the open contracts at the
    book's marks), read once the halted session has nothing working and its book holds what its ledger holds."""
    last = None
    for _ in range(int(SLACK_S / 0.2)):
        store = SqliteLedgerStore(ledger_path)
        events = store.events()
        store.close()
        state = fold(events)
        book = (json.loads(status_path.read_text(encoding="utf-8")).get("status") or {}).get("book") or {}
        held = _held_in_book(book)
        last = (len(state.working()), held, state.positions)
        if not state.working() and held is not None and held == state.positions:
            marks = {_key(p): p["mark_per_share"] for p in book["positions"]}
            marked_usd = sum(q * marks[k] * multiplier_of(k[0]) for k, q in state.positions.items())
            return float(book["total"]["pnl_usd"]), _cash_usd(events, state) + marked_usd
        await asyncio.sleep(0.2)
    raise AssertionError(f"the book never caught up with the halted session's ledger: {last}")


def _key(position: dict) -> tuple:
    return position["symbol"], position["expiry"], float(position["strike"]), position["right"]


def _held_in_book(book: dict) -> dict | None:
    """Contracts per (symbol, expiry, strike, right) in the book, or None while a position has no mark."""
    if "positions" not in book or "total" not in book:
        return None
    held: dict[tuple, int] = {}
    for position in book["positions"]:
        if position["mark_per_share"] is None:
            return None
        held[_key(position)] = held.get(_key(position), 0) + int(position["quantity"])
    return {k: q for k, q in held.items() if q}


def _cash_usd(events: list, state: LedgerState) -> float:
    """Premium received minus premium paid over every fill, leg by leg at the leg's own fill price."""
    cash_usd = 0.0
    for event in events:
        if event.kind != "filled":
            continue
        order = state.orders[event.client_order_id]
        sign = 1 if order.side == "BUY" else -1
        for (symbol, _, _, _, ratio), leg_price in zip(order.legs, event.payload["leg_prices"]):
            cash_usd -= sign * ratio * event.payload["quantity"] * leg_price * multiplier_of(symbol)
    return cash_usd
