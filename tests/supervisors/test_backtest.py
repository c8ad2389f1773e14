"""The inline backtest: a small day runs end to end, is deterministic, and balances at the close."""

import hashlib

import pytest

from config import load_profile
from supervisors.backtest import build_backtest, pick_expirations, run_backtest
from supervisors.cli import main

SMALL = {"SPREADWRIGHT__SYMBOLS": "[SPY, IWM]", "SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "30",
         "SPREADWRIGHT__BACKTEST__EXPIRATIONS_DTE": "[0, 7]", "SPREADWRIGHT__BACKTEST__N_STRIKES": "40",
         "SPREADWRIGHT__EXCHANGE__MAX_QUOTE_AGE_MS": "60000"}


@pytest.fixture(scope="module")
def small_config():
    return load_profile("backtest", env=SMALL)


def test_a_day_trades_balances_and_writes_outputs(small_config, tmp_path):
    summary = run_backtest(small_config, tmp_path).summary
    assert (tmp_path / "trades.csv").is_file() and (tmp_path / "summary.md").is_file()
    assert summary["fills"] > 0 and len(summary["traders"]) == 4
    assert summary["position_summary"]["total_imbalance"] == 0          # forced flat by the close
    assert summary["exchange"]["working"] == 0
    for trader in summary["traders"].values():
        assert trader["session_attempts"] >= trader["session_fills"] > 0
        assert trader["current_contracts"] in range(1, 11)
    header = (tmp_path / "trades.csv").read_text().splitlines()[0]
    assert header == "time_ns,trader,symbol,expiration,part,client_order_id,quantity,price,intent,legs"


def test_same_profile_and_seed_same_bytes(small_config, tmp_path):
    digests = []
    for run in ("a", "b"):
        run_backtest(small_config, tmp_path / run)
        digests.append(hashlib.sha256((tmp_path / run / "trades.csv").read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    other = load_profile("backtest", env={**SMALL, "SPREADWRIGHT__RUNTIME__SEED": "8"})
    run_backtest(other, tmp_path / "c")
    assert hashlib.sha256((tmp_path / "c" / "trades.csv").read_bytes()).hexdigest() != digests[0]


def test_traders_expose_the_seed_properties(small_config):
    backtest = build_backtest(small_config)
    zero_dte = next(t for t in backtest.traders if t.expiration == small_config.backtest.day)
    backtest.runtime.run(until_ns=backtest.close_ns - 3600 * 10**9)
    assert zero_dte.days_to_expiry == 0 and zero_dte.expiration_category.value == "MONTHLY"
    assert zero_dte.is_optimal_expiration                     # the profile's range starts at 0 DTE
    assert 0.0 <= zero_dte.get_fill_rate() <= 1.0
    assert zero_dte.scan_opportunities(zero_dte.chain, zero_dte.spot)


def test_a_holiday_is_refused_at_load_with_the_field_and_the_next_session(tmp_path):
    with pytest.raises(ValueError, match="backtest.day: 2026-11-26 is not a trading session .*2026-11-27"):
        load_profile("backtest", env={**SMALL, "SPREADWRIGHT__BACKTEST__DAY": "2026-11-26"})


def test_cli_backtest_prints_where_outputs_are(tmp_path, capsys, monkeypatch):
    for key, value in SMALL.items():
        monkeypatch.setenv(key, value)
    assert main(["--log-level", "ERROR", "backtest", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "trades.csv") in out and "balanced chains" in out
    assert main(["backtest", "--profile", "paper"]) == 2


def test_pick_expirations_nearest_each_dte():
    from datetime import date

    from core.calendar import MarketCalendar

    assert pick_expirations(date(2026, 11, 20), (0, 7, 30), MarketCalendar()) == [
        date(2026, 11, 20), date(2026, 11, 27), date(2026, 12, 18)]


def test_status_summary_and_optimization_over_a_running_day(small_config):
    from supervisors.status import StatusView

    backtest = build_backtest(small_config)
    runtime = backtest.runtime
    supervisor = StatusView(runtime.snapshots, lambda name, m: runtime.component(name).on_message(m, runtime.now_ns))
    runtime.run(until_ns=backtest.close_ns - 2 * 3600 * 10**9)
    status = supervisor.get_status()
    assert status["active"] and len(status["traders"]) == 4
    trader = next(iter(status["traders"].values()))
    assert {"symbol", "expiration", "fill_rate", "session_attempts", "session_fills", "current_contracts"} <= set(
        trader
    )
    assert {"net_premium", "total_imbalance", "balanced_chains", "chains"} <= set(status["position_summary"])
    text = supervisor.get_llm_summary()
    assert text.startswith("Arbitrage Executor Status:") and "Active Traders: 4" in text
    assert "Performance by Contract Size:" in text and "Top Performing Expirations:" in text
    recommendations = supervisor.optimize_parameters()
    assert set(recommendations) == {"optimal_contracts", "optimal_hours", "optimal_cancel_ms"}
    told = supervisor.apply_optimization({"optimal_contracts": 2, "optimal_hours": [15], "optimal_cancel_ms": 1500})
    assert told == 4
    traders = backtest.traders
    assert all(t.contracts == 2 and t.allowed_hours == {15} and t.cancel_after_ns == 1_500_000_000 for t in traders)
    balanced = [t for t in traders if t.snapshot()["net_contracts"] == 0 and not t.working]
    assert balanced                                                  # otherwise the check below proves nothing
    orders_before = {t.name: t.sequence for t in balanced}
    runtime.run(until_ns=backtest.close_ns - 3600 * 10**9 - 60 * 10**9)     # 14:00-14:59: not an allowed hour
    assert all(t.sequence == orders_before[t.name] for t in balanced)


def test_every_fill_is_in_the_ledger(small_config, tmp_path):
    from core.ledger import fold

    backtest = build_backtest(small_config)
    backtest.runtime.run(until_ns=backtest.close_ns + 300 * 10**9)
    events = backtest.gateway.store.events()
    fills = sum(len(t.trades) for t in backtest.traders)
    assert sum(e.kind == "filled" and e.owner.startswith("trader-") for e in events) == fills > 0
    state = fold(events)
    assert len(state.orders) == backtest.gateway.snapshot()["intents"]
    traders_orders = [o for o in state.orders.values() if o.owner.startswith("trader-")]
    denied = backtest.topology.gate.snapshot()["denied"]          # refused before the ledger (risk checks)
    assert len(traders_orders) + denied == sum(t.sequence for t in backtest.traders)
    assert all(o.owner.startswith(("trader-", "flies-", "router")) for o in state.orders.values())
    assert state.working() == []
    assert backtest.gateway.snapshot()["unknown_events"] == 0


def test_a_sqlite_ledger_can_back_the_backtest(tmp_path):
    config = load_profile("backtest", env={**SMALL, "SPREADWRIGHT__SYMBOLS": "[IWM]",
                                           "SPREADWRIGHT__LEDGER__KIND": "sqlite",
                                           "SPREADWRIGHT__LEDGER__PATH": str(tmp_path / "ledger.db")})
    summary = run_backtest(config, tmp_path / "out").summary
    from persistence.sqlite_ledger import SqliteLedgerStore

    events = SqliteLedgerStore(tmp_path / "ledger.db").events()
    assert sum(e.kind == "filled" and e.owner.startswith("trader-") for e in events) == summary["fills"] > 0
    assert sum(e.kind == "filled" for e in events) > summary["fills"]          # and the butterflies' fills


def test_every_message_of_the_topology_survives_pickling(tmp_path):
    """With check_serializable every message is pickled on send, as Ray would; the day must run the same."""
    env = {**SMALL, "SPREADWRIGHT__SYMBOLS": "[IWM]", "SPREADWRIGHT__BACKTEST__EXPIRATIONS_DTE": "[7]"}
    checked = run_backtest(load_profile("backtest", env={**env, "SPREADWRIGHT__RUNTIME__CHECK_SERIALIZABLE": "true"}),
                           tmp_path / "checked").summary
    plain = run_backtest(load_profile("backtest", env=env), tmp_path / "plain").summary
    assert checked["fills"] == plain["fills"] > 0
    assert (tmp_path / "checked" / "trades.csv").read_bytes() == (tmp_path / "plain" / "trades.csv").read_bytes()


def test_add_symbol_while_the_day_runs(small_config):
    from datetime import date

    backtest = build_backtest(small_config)
    backtest.runtime.run(until_ns=backtest.close_ns - 4 * 3600 * 10**9)
    with pytest.raises(ValueError, match="symbol: 'TSLA' has no product spec"):
        backtest.add_symbol("TSLA", [date(2026, 11, 27)], 300.0)
    with pytest.raises(ValueError, match="symbol: 'TSLA' has no product spec"):     # refused again: nothing was left
        backtest.add_symbol("TSLA", [date(2026, 11, 27)], 300.0)
    assert not [name for name in backtest.runtime.snapshots() if "TSLA" in name]
    with pytest.raises(ValueError, match="expired"):
        backtest.add_symbol("QQQ", [date(2026, 11, 13)], 520.0)
    with pytest.raises(ValueError, match="already traded"):
        backtest.add_symbol("SPY", [date(2026, 11, 27)], 600.0)
    from supervisors.status import StatusView

    supervisor = StatusView(backtest.runtime.snapshots, lambda n, m: None, add_symbol=backtest.add_symbol)
    (added,) = supervisor.add_symbol("QQQ", [date(2026, 11, 27)], 520.0)
    backtest.runtime.run(until_ns=backtest.close_ns + 300 * 10**9)
    assert added.chain is not None and added.session_attempts > 0
    assert any(row["symbol"] == "QQQ" for t in backtest.traders for row in t.trades)
    assert backtest.balancer.snapshot()["total_imbalance"] == 0


def test_butterflies_are_entered_and_exited_through_the_router_as_two_verticals(small_config, tmp_path):
    backtest = build_backtest(small_config)
    assert backtest.strategists and "router" in backtest.runtime.snapshots()
    summary = run_backtest(small_config, tmp_path).summary
    flies = summary["butterflies"]
    assert flies["round_trips"] > 0 and flies["closed"] == flies["round_trips"]
    rows = (tmp_path / "butterflies.csv").read_text().splitlines()
    assert len(rows) == flies["round_trips"] + 1 and rows[0].startswith("position_id,symbol,expiration")
    again = tmp_path / "again"
    run_backtest(small_config, again)
    assert (again / "butterflies.csv").read_bytes() == (tmp_path / "butterflies.csv").read_bytes()
    assert summary["exchange"]["working"] == 0


def test_a_day_makes_no_reference_cycles(small_config):
    """The inline runtime pauses the cycle collector while it delivers; that is sound only while a
    day's messages and state form no cycles, which reference counting could not free."""
    import gc

    backtest = build_backtest(small_config)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)              # whatever a collection finds from here on is kept in gc.garbage
    try:
        backtest.runtime.run(until_ns=backtest.close_ns + 300 * 10**9)
        assert gc.isenabled() and sum(len(t.trades) for t in backtest.traders) > 0
        gc.collect()
        cycles = len(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert cycles == 0


def _zero_dte(rule: str) -> dict:
    """The shipped day's 0DTE attempts by intent under the limit rounding `rule`."""
    config = load_profile("backtest")
    config = config.model_copy(update={"executor": config.executor.model_copy(update={"limit_rounding": rule})})
    rows = run_backtest(config).summary["fill_rates"]
    return {r["intent"]: r for r in rows if r["dte"] == "0DTE"}


def test_penny_wide_0dte_orders_no_longer_fill_by_crossing_the_spread():
    """Rounded toward the natural, nearly every 0DTE order on the shipped day's penny-wide chains is a take that
    fills; rounded passively they rest as makes, fill far less often, and the few takes are counted apart."""
    toward, passive = _zero_dte("toward_natural"), _zero_dte("passive")
    assert toward["take"]["attempts"] > 0.9 * (toward["take"]["attempts"] + toward["make"]["attempts"])
    assert toward["take"]["fill_rate"] > 0.95
    assert passive["make"]["attempts"] > 10 * passive.get("take", {"attempts": 0})["attempts"]
    assert passive["make"]["fill_rate"] < 0.5


def test_a_backtest_with_the_strategist_on_explains_its_verdicts(tmp_path):
    """One RegimeStrategist per symbol on the kernel: its day's regime and every evaluation's no-trade reason in
    summary.json and summary.md."""
    config = load_profile("backtest", env={**SMALL, "SPREADWRIGHT__STRATEGIST__ENABLED": "true"})
    summary = run_backtest(config, tmp_path).summary
    strategists = summary["strategists"]
    assert set(strategists) == {"SPY", "IWM"}
    for snapshot in strategists.values():
        assert snapshot["evaluations"] > 10 and snapshot["day"]["regime"] != "NO_SIGNAL"
        assert sum(snapshot["no_trade"].values()) <= snapshot["evaluations"]
    markdown = (tmp_path / "summary.md").read_text()
    assert "## Strategist verdicts (why no trade)" in markdown and "| SPY | " in markdown


def test_a_multi_day_backtest_s_strategist_summary_counts_every_session(tmp_path):
    """Three sessions: the strategist's evaluations and no-trade reasons summed over all of them, each session's
    regime listed, the last session's verdict as the summary's `day`."""
    env = {**SMALL, "SPREADWRIGHT__SYMBOLS": "[SPY]", "SPREADWRIGHT__STRATEGIST__ENABLED": "true",
           "SPREADWRIGHT__BACKTEST__DAY": "2026-11-18", "SPREADWRIGHT__BACKTEST__END": "2026-11-20"}
    summary = run_backtest(load_profile("backtest", env=env), tmp_path).summary
    spy = summary["strategists"]["SPY"]
    assert [s["session"] for s in spy["sessions"]] == ["2026-11-18", "2026-11-19", "2026-11-20"]
    one_day = run_backtest(load_profile("backtest", env={**env, "SPREADWRIGHT__BACKTEST__END": "2026-11-18"}),
                           tmp_path / "one").summary["strategists"]["SPY"]
    assert spy["evaluations"] > 2.5 * one_day["evaluations"]
    assert sum(spy["no_trade"].values()) <= spy["evaluations"]
    assert spy["day"]["regime"] == spy["sessions"][-1]["regime"]
    row = next(line for line in (tmp_path / "summary.md").read_text().splitlines() if line.startswith("| SPY | "))
    assert sum(int(part.split()[-1]) for part in row.split("|")[2].split(",")) == 3         # sessions by regime


def test_a_labelled_path_sets_each_session_s_open_close_vols_and_the_strategist_s_history():
    from sim.market.labelled import labelled_path
    from supervisors.backtest import SessionRun
    from supervisors.batch.montecarlo_paths import sessions_from

    config = load_profile("config/profiles/strategy_montecarlo.yaml", env={
        "SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "600", "SPREADWRIGHT__BACKTEST__N_STRIKES": "40",
        "SPREADWRIGHT__EXCHANGE__MAX_QUOTE_AGE_MS": "1200000"})
    days = sessions_from(config.backtest.first_day, 2)
    path = labelled_path(5, days[0], 2, 60, s0=300.0)
    run = SessionRun(config, path)
    for index, day in enumerate(days):
        run.session(index, day)
        feed = run.last.feed
        bar = path.day(index)
        assert feed.paths["SPY"][0] == pytest.approx(bar.open) and feed.close_prices["SPY"] == bar.close
        assert (feed.vol, feed.implied_vol) == (bar.vol, bar.implied_vol)
    history = run.strategist_carry["SPY"].daily_bars
    assert len(history) == 62 and history.index[59] == path.history.index[-1]
    assert history.close.iloc[-1] == pytest.approx(path.bars[-1].close)


def test_a_labelled_path_is_refused_on_the_replayed_chain_or_with_two_symbols():
    from sim.market.labelled import labelled_path
    from supervisors.backtest import SessionRun

    config = load_profile("config/profiles/strategy.yaml")
    with pytest.raises(ValueError, match="one symbol on the simulated market"):
        SessionRun(config, labelled_path(1, config.backtest.first_day, 2, 10))
    simulated = load_profile("config/profiles/strategy_montecarlo.yaml")
    with pytest.raises(ValueError, match="starts on"):
        SessionRun(simulated, labelled_path(1, simulated.backtest.first_day.replace(day=23), 2, 10))
