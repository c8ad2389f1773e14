"""Positions at the broker that the ledger does not show: a session refuses to start, naming them, or adopts
them into the ledger with the reason (`broker.unknown_positions`)."""

import json
import urllib.request

import pytest

from adapters.protocol import BrokerError
from config import load_profile
from core.ledger import ADOPTED_OWNER, fold
from persistence.sqlite_ledger import SqliteLedgerStore
from supervisors.paper import PaperExchangeProcess, PaperSession, broker_positions, check_positions

SHARES = {"symbol": "SPY", "expiry": "", "strike": 0, "right": "S", "ratio": 1}


def _buy_shares(url, quantity):
    body = json.dumps({"client_order_id": "elsewhere-1", "legs": [SHARES], "side": "BUY", "quantity": quantity,
                       "limit_price": 100_000}).encode()
    request = urllib.request.Request(url + "/orders", data=body, headers={"Content-Type": "application/json"},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.load(answer)


@pytest.fixture(scope="module")
def exchange_holding_shares():
    exchange = PaperExchangeProcess("127.0.0.1", 0, (7,), seed=2, quote_interval_ms=200)
    try:
        _buy_shares(exchange.url, 100)
        yield exchange
    finally:
        exchange.stop()


def _config(tmp_path, url, policy):
    return load_profile("paper", env={"SPREADWRIGHT__BROKER__URL": url, "SPREADWRIGHT__SYMBOLS": "[SPY]",
                                      "SPREADWRIGHT__LEDGER__PATH": str(tmp_path / "ledger.db"),
                                      "SPREADWRIGHT__BROKER__UNKNOWN_POSITIONS": policy})


def test_a_session_refuses_to_start_on_positions_its_ledger_does_not_show(exchange_holding_shares, tmp_path):
    session = PaperSession(_config(tmp_path, exchange_holding_shares.url, "refuse"))
    with pytest.raises(BrokerError, match=r"SPY shares 0S: broker \+100, ledger \+0.*unknown_positions: adopt"):
        session.start()
    assert session.runtime is None                               # refused before any actor was started


def test_adopted_positions_are_in_the_ledger_with_the_reason_and_adopted_once(exchange_holding_shares, tmp_path):
    config = _config(tmp_path, exchange_holding_shares.url, "adopt")
    held = broker_positions(exchange_holding_shares.url, config.broker)
    assert held == {("SPY", "", 0.0, "S"): 100}
    assert check_positions(config, held) == held
    events = SqliteLedgerStore(tmp_path / "ledger.db").events()
    assert fold(events).positions == held
    assert [e.owner for e in events if e.kind == "adopted"] == [ADOPTED_OWNER]
    assert "not in the ledger" in [e.payload["reason"] for e in events if e.kind == "adopted"][0]
    assert check_positions(config, held) == {}                   # the next start finds them in the ledger


def test_what_the_ledger_held_at_a_broker_that_since_started_a_new_book_is_closed_as_lost(tmp_path):
    """The paper exchange a session starts is new each time: the ledger's positions from the last session are
    closed with that reason (no refusal); an expired contract in the ledger is never a difference."""
    from datetime import date

    from core.ledger import adoption_events

    config = _config(tmp_path, "http://127.0.0.1:1", "refuse")
    store = SqliteLedgerStore(tmp_path / "ledger.db")
    earlier = {("SPY", "2026-12-18", 600.0, "C"): 2, ("SPY", "2026-11-20", 590.0, "P"): -1}
    for event in adoption_events(earlier, 1_000, "an earlier session's fills"):
        store.append(event)
    store.close()
    with pytest.raises(BrokerError, match="2026-12-18 600C: broker \\+0, ledger \\+2"):
        check_positions(config, {}, book_since_ns=500, today=date(2026, 12, 1))       # same book: refused
    assert check_positions(config, {}, book_since_ns=2_000, today=date(2026, 12, 1)) == {}
    events = SqliteLedgerStore(tmp_path / "ledger.db").events()
    assert fold(events).positions == {("SPY", "2026-11-20", 590.0, "P"): -1}           # expired: left alone
    assert any("lost with the broker's book" in e.payload.get("reason", "") for e in events if e.kind == "adopted")
