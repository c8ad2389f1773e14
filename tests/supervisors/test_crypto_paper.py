"""The crypto strangle as a paper session against the paper exchange quoting the simulated crypto market (a real
child process over HTTP): it sells both legs through the bridge and the gateway's ledger, says so in its status
line, and stops in order with nothing left working at the exchange."""

from __future__ import annotations

import time

from config.crypto import crypto_config, load_crypto_profile
from core.ledger import fold
from persistence.sqlite_ledger import SqliteLedgerStore
from supervisors.crypto_paper import CryptoPaperSession

LIMIT_S = 180.0


def test_a_paper_session_sells_the_strangle_and_stops_with_nothing_working(tmp_path):
    shipped = load_crypto_profile("strangle_paper").model_dump(mode="json")
    shipped["strangle"].update(decide_every_s=1, reprice_after_s=3, max_reprices=2)
    shipped["ledger"]["path"] = str(tmp_path / "ledger.db")
    lines: list[str] = []
    session = CryptoPaperSession(crypto_config(shipped), quote_interval_ms=500, out=lines.append)
    try:
        session.start()
        deadline = time.monotonic() + LIMIT_S
        while time.monotonic() < deadline and session.snapshot()["trader"]["counts"]["fills"] < 2:
            session.run(duration_s=1.0, status_every_s=0.5, route_every_s=0.5)
        counts = session.snapshot()["trader"]["counts"]
    finally:
        summary = session.stop()
    assert counts["orders"] >= 2 and counts["fills"] >= 2, (counts, lines[-3:])
    assert summary["working_at_stop"] == 0
    assert any("BTC $" in line and "orders" in line for line in lines)
    store = SqliteLedgerStore(tmp_path / "ledger.db")
    state = fold(store.events())
    store.close()
    assert not state.working()
    assert {key[0] for key in state.positions} <= {"BTC"} and state.orders
    assert all(order.legs[0][0] == "BTC" and order.limit_price > 0 for order in state.orders.values())
