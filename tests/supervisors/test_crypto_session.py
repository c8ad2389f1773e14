"""The crypto strangle live at a real venue (here its local fake) only with mode live, allow_live and the
credentials in the environment; a session's settings. A paper session against the paper exchange runs in
tests/control/test_crypto.py (one process, started by the control plane) and tests/ray/test_crypto_session_ray.py
(on Ray)."""

from __future__ import annotations

import time

import pytest

from adapters.protocol import BrokerError
from config.base import ConfigError
from config.crypto import crypto_config
from supervisors.crypto_session import CredentialsError, CryptoSessionRunner
from tests.adapters.fakes.common import served_in_thread
from tests.adapters.fakes.delta_exchange import FakeDeltaExchange
from tests.adapters.fakes.deribit import FakeDeribit

LIMIT_S = 180.0
DURABLE = {"kind": "sqlite", "path": "var/never-opened.db"}


def test_a_real_venue_is_live_and_live_needs_allow_live_and_credentials():
    with pytest.raises(ConfigError) as paper_at_deribit:
        crypto_config({"mode": "paper", "venue": {"kind": "deribit", "url": "https://test.deribit.com"}})
    with pytest.raises(ConfigError) as not_allowed:
        crypto_config({"mode": "live", "venue": {"kind": "deribit", "url": "https://test.deribit.com"}})
    with pytest.raises(ConfigError) as live_on_paper:
        crypto_config({"mode": "live", "allow_live": True})
    assert [p for p, _ in paper_at_deribit.value.problems] == ["venue"]
    assert [p for p, _ in not_allowed.value.problems] == ["mode"]
    assert [p for p, _ in live_on_paper.value.problems] == ["venue"]
    live = crypto_config({"mode": "live", "allow_live": True, "ledger": DURABLE,
                          "venue": {"kind": "deribit", "url": "https://test.deribit.com"}})
    with pytest.raises(CredentialsError) as missing:
        CryptoSessionRunner(live, env={"SPREADWRIGHT_DERIBIT_CLIENT_ID": "id"})
    assert "SPREADWRIGHT_DERIBIT_CLIENT_SECRET" in str(missing.value)
    assert "SPREADWRIGHT_DERIBIT_CLIENT_ID " not in str(missing.value)


@pytest.mark.parametrize("venue", ["deribit", "delta_exchange"])
def test_a_live_session_trades_the_strangle_at_a_venues_fake(venue, tmp_path):
    fake = FakeDeribit(now_ns=time.time_ns()) if venue == "deribit" else FakeDeltaExchange(now_ns=time.time_ns())
    env = {"SPREADWRIGHT_DERIBIT_CLIENT_ID": "id", "SPREADWRIGHT_DERIBIT_CLIENT_SECRET": "secret",
           "SPREADWRIGHT_DELTA_API_KEY": "key", "SPREADWRIGHT_DELTA_API_SECRET": "secret"}
    with served_in_thread(fake) as url:
        config = crypto_config({
            "mode": "live", "allow_live": True, "venue": {"kind": venue, "url": url, "quote_poll_ms": 200},
            "runtime": {"kind": "asyncio"},
            "strangle": {"entry_start_ist": "00:00", "entry_end_ist": "23:59", "decide_every_s": 0.5,
                         "expiry_buffer_minutes": 0, "max_expiry_days": 400, "exit_start_ist": "00:00",
                         "exit_end_ist": "00:00"},
            "ledger": {"kind": "sqlite", "path": str(tmp_path / "ledger.db")}})
        session = CryptoSessionRunner(config, out=lambda line: None, env=env)
        try:
            session.start()
            deadline = time.monotonic() + LIMIT_S
            while time.monotonic() < deadline and session.snapshot()["trader"]["counts"]["orders"] < 2:
                assert not session.host.runtime.errors, session.host.runtime.errors
                session.run(duration_s=0.5, status_every_s=10, route_every_s=10)
            counts = session.snapshot()["trader"]["counts"]
        finally:
            summary = session.stop()
    assert counts["orders"] >= 2 and summary["working_at_stop"] == 0
    placed = fake.orders.values()
    assert len(placed) >= 2
    assert all((o.get("order_state") or o.get("state")) in ("cancelled", "filled", "closed") for o in placed)



def test_a_contract_size_that_is_not_the_venues_is_refused():
    with pytest.raises(ConfigError) as raised:
        crypto_config({"mode": "live", "allow_live": True, "strangle": {"contract_size": 0.1}, "ledger": DURABLE,
                       "venue": {"kind": "delta_exchange", "url": "https://api.delta.exchange"}})
    assert "delta_exchange's BTC options are 0.001 BTC a contract" in str(raised.value)
    assert crypto_config({"strangle": {"contract_size": 0.1}}).strangle.contract_size == 0.1     # paper: Deribit's


def test_a_session_needs_a_durable_ledger_and_a_quantity_the_gate_takes():
    with pytest.raises(ConfigError) as in_memory:
        crypto_config({"mode": "paper"})
    with pytest.raises(ConfigError) as too_many:
        crypto_config({"strangle": {"quantity": 500}})
    assert [p for p, _ in in_memory.value.problems] == ["ledger"]
    assert "max_contracts_per_order" in str(too_many.value)


def test_sessions_run_on_ray_unless_the_profile_says_asyncio_and_backtests_inline():
    assert crypto_config({"mode": "paper", "ledger": DURABLE}).runtime.kind == "ray"
    assert crypto_config({"mode": "paper", "ledger": DURABLE, "runtime": {"kind": "asyncio"}}).runtime.kind == "asyncio"
    assert crypto_config({}).runtime.kind == "inline"
    with pytest.raises(ConfigError) as inline_session:
        crypto_config({"mode": "paper", "ledger": DURABLE, "runtime": {"kind": "inline"}})
    with pytest.raises(ConfigError) as ray_backtest:
        crypto_config({"runtime": {"kind": "ray"}})
    assert [p for p, _ in inline_session.value.problems] == ["runtime"]
    assert "virtual clock" in str(ray_backtest.value)


def test_a_live_session_refuses_to_start_when_the_venue_holds_what_the_ledger_does_not(tmp_path):
    fake = FakeDeribit(now_ns=time.time_ns())
    fake.positions[next(iter(fake.instruments))] = -0.5                 # 5 contracts short, unknown to the ledger
    env = {"SPREADWRIGHT_DERIBIT_CLIENT_ID": "id", "SPREADWRIGHT_DERIBIT_CLIENT_SECRET": "secret"}
    with served_in_thread(fake) as url:
        config = crypto_config({"mode": "live", "allow_live": True, "venue": {"kind": "deribit", "url": url},
                                "runtime": {"kind": "asyncio"},
                                "ledger": {"kind": "sqlite", "path": str(tmp_path / "ledger.db")}})
        session = CryptoSessionRunner(config, out=lambda line: None, env=env)
        with pytest.raises(BrokerError, match="positions differ from the ledger's"):
            session.start()
        session.stop()


def test_a_component_that_does_not_answer_skips_a_status_and_answers_a_command_with_why(tmp_path):
    """On Ray a call that meets an actor being restarted raises Ray's error: the session turns it into
    ComponentUnavailableError (a TimeoutError), skips that status line and answers the command with the reason."""
    import ray.exceptions

    from supervisors.crypto_session import ComponentUnavailableError, _unavailable_as_timeout
    from supervisors.paper import SessionChannel

    with pytest.raises(ComponentUnavailableError, match="strangle-BTC did not answer"):
        with _unavailable_as_timeout("strangle-BTC"):
            raise ray.exceptions.ActorUnavailableError("restarting", None)

    class Restarting:
        def snapshot(self, name):
            raise ComponentUnavailableError(f"{name} did not answer: ActorUnavailableError")

        deliver = lambda self, name, message: self.snapshot(name)      # noqa: E731

    config = crypto_config({"mode": "paper", "ledger": DURABLE})
    lines: list[str] = []
    session = CryptoSessionRunner(config, out=lines.append)
    session.host, session.session = Restarting(), type("S", (), {"trader": type("T", (), {"name": "strangle-BTC"}),
                                                                "gate": type("G", (), {"name": "risk"})})
    session.report_status(None)
    channel = SessionChannel(tmp_path)
    (channel.commands / "c1.json").write_text('{"id": "c1", "state": "HALTED", "reason": "test"}')
    session.carry_out(channel)
    assert "status not available" in lines[-1]
    assert channel.answers["c1"] == {"ok": False, "error": "ComponentUnavailableError: risk did not answer: "
                                                           "ActorUnavailableError"}
