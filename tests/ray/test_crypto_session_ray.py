"""The crypto strangle as a paper session on Ray actors (the default for a session): it sells both legs; its
strangle actor, SIGKILLed while the strangle is held, restarts and holds the same strangle again from the ledger
(not bought back, not sold twice), and again when the supervisor replaces its actor with a new one (the bridge's
quotes reach the new actor); the session's supervision loop goes on writing its status throughout (a call that
meets the dead actor is skipped, not the end of the session); the ordered stop leaves nothing working."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

from config.crypto import crypto_config, load_crypto_profile
from core.ledger import fold
from persistence.sqlite_ledger import SqliteLedgerStore
from supervisors.crypto_session import CryptoSessionRunner
from supervisors.paper import SessionChannel
from tests.ray.waiting import wait_for


def supervise(session, channel, failures: list) -> None:
    try:
        session.run(None, status_every_s=0.2, route_every_s=0.5, channel=channel)
    except BaseException as err:  # noqa: BLE001 - the test asserts there was none
        failures.append(repr(err))


def held_and_quoted(session) -> bool:
    """The strangle is held again and marked: its ledger replay and the bridge's quotes reach it."""
    trader = session.snapshot()["trader"]
    return trader["phase"] == "held" and "total" in trader["book"] and trader["expiries_quoted"] != []


def channel_says(tmp_path, since_ns: int) -> bool:
    """The supervision loop wrote a status after the restart, with the strangle held."""
    status = json.loads((tmp_path / "channel" / "status.json").read_text())
    return status["time_ns"] > since_ns and status["status"]["strangle"]["phase"] == "held"


def test_a_crypto_session_on_ray_survives_its_strangle_actor_killed_while_held(ray_cluster, tmp_path):
    shipped = load_crypto_profile("strangle_paper").model_dump(mode="json")
    shipped["strangle"].update(decide_every_s=1, reprice_after_s=2, max_reprices=2, max_profit_usd=1e9,
                               max_loss_usd=1e9, trailing=[])
    shipped["ledger"]["path"] = str(tmp_path / "ledger.db")
    shipped["runtime"].update(kind="ray", ray_namespace="t-crypto-ray")
    lines: list[str] = []
    failures: list[str] = []
    session = CryptoSessionRunner(crypto_config(shipped), quote_interval_ms=500, out=lines.append)
    try:
        session.start()
        trader = session.session.trader.name
        assert wait_for(lambda: session.snapshot()["trader"]["phase"] == "held", 180), session.snapshot()
        before = session.snapshot()["trader"]["book"]["positions"]
        session.report_status(None)
        old_pid = ray_cluster.get(session.host.runtime.handle(trader).pid.remote())
        channel = SessionChannel(tmp_path / "channel")
        supervising = threading.Thread(target=supervise, args=(session, channel, failures), daemon=True)
        supervising.start()                         # the control plane's loop: a status every 0.2 s meets the kill
        os.kill(old_pid, signal.SIGKILL)
        assert wait_for(lambda: ray_cluster.get(session.host.runtime.handle(trader).pid.remote(), timeout=2)
                        != old_pid, 120), "never came back"       # restarted by Ray, or (loaded) by the supervisor
        assert wait_for(lambda: held_and_quoted(session), 120), session.snapshot()
        after = session.snapshot()["trader"]["book"]["positions"]
        back_ns = time.time_ns()
        assert wait_for(lambda: channel_says(tmp_path, back_ns), 60), lines[-3:]     # the loop went on after it
        session.host.runtime.recreate(trader)        # the supervisor's way: a new actor under the same name
        assert wait_for(lambda: held_and_quoted(session), 120), session.snapshot()   # the bridge reaches the new one
        again = session.snapshot()["trader"]["book"]["positions"]
        session.request_stop()
        supervising.join(60)
    finally:
        summary = session.stop()
    assert not failures, failures
    assert json.loads((tmp_path / "channel" / "status.json").read_text())["state"] == "running"
    assert "BTC $" in lines[-1] and "held" in lines[-1] and "fills" in lines[-1], lines
    key = ("expiry", "strike", "right", "quantity")
    assert sorted(tuple(p[k] for k in key) for p in after) == sorted(tuple(p[k] for k in key) for p in before)
    assert sorted(tuple(p[k] for k in key) for p in again) == sorted(tuple(p[k] for k in key) for p in before)
    assert summary["working_at_stop"] == 0
    store = SqliteLedgerStore(tmp_path / "ledger.db")
    events = store.events()
    store.close()
    intents = [e.client_order_id for e in events if e.kind == "intent"]
    assert len(intents) == len(set(intents)) and not fold(events).working()
    assert sorted(-q for q in fold(events).positions.values() if q) == [10, 10]      # still short both legs
