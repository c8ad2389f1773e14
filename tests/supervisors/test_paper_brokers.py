"""A US session reaches its broker through the one adapter its settings name: the paper exchange's client, or
Tradier's (live only, with its account and token), for the expirations, positions and book a session reads at
start (here against Tradier's local fake; the bridge's use of the adapter is tested in tests/adapters)."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.paper_http import HttpBroker
from adapters.protocol import BrokerError
from adapters.tradier import TradierAdapter
from config import ConfigError, load_profile
from supervisors.paper import broker_adapter, broker_book_since_ns, broker_positions, listed_expirations
from tests.adapters.fakes.common import served_in_thread
from tests.adapters.fakes.tradier import EXPIRY, FakeTradier


def tradier_profile(url: str, env_extra: dict[str, str] | None = None):
    env = {"SPREADWRIGHT__MODE": "live", "SPREADWRIGHT__BROKER__KIND": "tradier", "SPREADWRIGHT__BROKER__URL": url,
           "SPREADWRIGHT__BROKER__ACCOUNT_ID": "VA000001", **(env_extra or {})}
    return load_profile("paper", env=env)


def test_the_paper_exchange_and_tradier_each_get_their_adapter():
    paper = load_profile("paper", env={})
    assert broker_adapter("http://127.0.0.1:1", paper.broker).func is HttpBroker
    live = tradier_profile("https://sandbox.tradier.com", {"SPREADWRIGHT__BROKER__API_KEY": "token"})
    assert broker_adapter(live.broker.url, live.broker).func is TradierAdapter
    with pytest.raises(BrokerError, match="SPREADWRIGHT__BROKER__API_KEY"):
        broker_adapter(live.broker.url, tradier_profile("https://sandbox.tradier.com").broker)


def test_tradier_is_live_only_and_needs_its_account():
    with pytest.raises(ConfigError) as paper_at_tradier:
        load_profile("paper", env={"SPREADWRIGHT__BROKER__KIND": "tradier",
                                   "SPREADWRIGHT__BROKER__URL": "https://sandbox.tradier.com",
                                   "SPREADWRIGHT__BROKER__ACCOUNT_ID": "VA1"})
    with pytest.raises(ConfigError) as no_account:
        load_profile("paper", env={"SPREADWRIGHT__MODE": "live", "SPREADWRIGHT__BROKER__KIND": "tradier",
                                   "SPREADWRIGHT__BROKER__URL": "https://sandbox.tradier.com"})
    assert "broker.kind" in str(paper_at_tradier.value) and "account_id" in str(no_account.value)


def test_a_session_reads_expirations_positions_and_book_from_tradier():
    fake = FakeTradier()
    fake.positions["SPY261218C00600000"] = -2
    with served_in_thread(fake) as url:
        config = tradier_profile(url, {"SPREADWRIGHT__BROKER__API_KEY": "token"})
        listed = listed_expirations(broker_adapter(url, config.broker), ("SPY", "QQQ"), 3, date(2026, 12, 1))
        held = broker_positions(url, config.broker)
        since = broker_book_since_ns(url, config.broker)
    assert listed == {"SPY": [date.fromisoformat(EXPIRY)]}            # QQQ lists nothing here: left out
    assert held == {("SPY", EXPIRY, 600.0, "C"): -2} and since == 0
