"""The real SPX chain replay: what the loader keeps, which expirations a day trades, and a replayed backtest."""

from datetime import date

import numpy as np
import pytest

from config import load_profile
from core.errors import InvalidFieldError
from sim.market.chain_file import load_chain_file, pick_replay_expirations
from supervisors.backtest import run_backtest

REPLAY = {"SPREADWRIGHT__SYMBOLS": "[SPX]", "SPREADWRIGHT__BACKTEST__MARKET": "cboe_spx_2019",
          "SPREADWRIGHT__BACKTEST__DAY": "2019-05-08", "SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "300",
          "SPREADWRIGHT__BACKTEST__EXPIRATIONS_DTE": "[0, 7]", "SPREADWRIGHT__EXCHANGE__MAX_QUOTE_AGE_MS": "400000",
          "SPREADWRIGHT__BUTTERFLIES__ENABLED": "false"}


def test_the_file_gives_56_sessions_of_ordered_quotes_and_never_trades_an_expiry_on_its_day():
    chain_file = load_chain_file()
    assert len(chain_file.days) == 56 and date(2019, 5, 10) not in chain_file.days     # the file's known holes
    day = date(2019, 5, 8)
    strikes, is_call, bid, ask = chain_file.chain(day, chain_file.expirations(day)[0])
    assert strikes.size > 100 and is_call.any() and (~is_call).any() and np.all(ask >= bid)
    assert day in chain_file.expirations(day)
    picked = pick_replay_expirations(chain_file, day, (0, 7))
    assert day not in picked and all(e > day for e in picked) and len(picked) == 2


def test_a_replayed_backtest_settles_in_cash_and_says_what_a_snapshot_cannot_show(tmp_path):
    result = run_backtest(load_profile("backtest", env=REPLAY), tmp_path, end=date(2019, 5, 13))
    assert list(result.daily.day) == ["2019-05-08", "2019-05-09", "2019-05-13"]
    assert result.summary["replay"]["missing_sessions"] == ["2019-05-10"]
    assert "settled_cash" in set(result.lines.kind) or "expired_worthless" in set(result.lines.kind)
    assert not (result.lines.kind == "assigned").any()                       # SPX settles in cash
    assert result.summary["pnl"]["unpriced_contracts"] == 0
    assert "intraday path" in (tmp_path / "report.html").read_text()
    assert "intraday path" in (tmp_path / "summary.md").read_text()


def test_a_symbol_or_a_day_the_file_lacks_is_refused_with_the_field():
    with pytest.raises(InvalidFieldError, match="symbols"):
        run_backtest(load_profile("backtest", env={**REPLAY, "SPREADWRIGHT__SYMBOLS": "[SPY]"}))
    with pytest.raises(InvalidFieldError, match="backtest.day"):
        run_backtest(load_profile("backtest", env={**REPLAY, "SPREADWRIGHT__BACKTEST__DAY": "2019-05-10"}))


def test_the_spy_2021_file_is_a_market_of_twenty_contracts_a_day():
    chain_file = load_chain_file(market="spy_2021")
    assert chain_file.symbol == "SPY" and len(chain_file.days) == 252
    day = date(2021, 3, 1)
    total = sum(chain_file.chain(day, e)[0].size for e in chain_file.expirations(day))
    assert total == 20 and chain_file.underlying(day) == pytest.approx(389.58, abs=0.05)
    assert all(e > day for e in chain_file.expirations(day))


def test_a_spy_2021_strategy_backtest_reads_the_real_history_up_to_each_day_and_names_the_file_s_limits(tmp_path):
    from sim.market.replay import load_daily

    config = load_profile("config/profiles/strategy_spy2021.yaml", env={
        "SPREADWRIGHT__BACKTEST__DAY": "2021-06-01", "SPREADWRIGHT__BACKTEST__END": "2021-06-03",
        "SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "600"})
    result = run_backtest(config, tmp_path)
    assert list(result.daily.day) == ["2021-06-01", "2021-06-02", "2021-06-03"]
    assert "20 contracts a day" in result.summary["replay"]["limits"]
    history = load_daily("SPY")
    assert history.index[-1] == np.datetime64("2021-12-31") and history.index.is_monotonic_increasing
    assert history.loc["2021-05-28", "close"] == pytest.approx(420.04, abs=0.01)       # past the Lean file's end
    with pytest.raises(InvalidFieldError, match="the spy_2021 market quotes only"):
        run_backtest(load_profile("config/profiles/strategy_spy2021.yaml", env={"SPREADWRIGHT__SYMBOLS": "[SPX]"}))
