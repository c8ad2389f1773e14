"""The exit study's simulation: paired, seeded, independent of how trades are split across workers."""

import pandas as pd

from config.study import StudyAssumptions, StudyConfig
from supervisors.batch.butterfly_study import ROW_COLUMNS, entry_and_signal, make_trade, run_trades

CONFIG = StudyConfig(trades=12, seed=7, sweep_trades=0)


def test_rows_are_paired_and_identical_whatever_the_split_of_trades():
    together = pd.DataFrame(run_trades(CONFIG, range(0, 12)))
    apart = pd.DataFrame(run_trades(CONFIG, range(0, 5)) + run_trades(CONFIG, range(5, 12)))
    pd.testing.assert_frame_equal(together, apart)
    assert list(together.columns) == list(ROW_COLUMNS)
    for _, pair in together.groupby("trade_id"):
        assert sorted(pair.exit_method) == ["split_verticals", "whole_fly"]
        same = ["symbol", "entry_debit", "exit_signal", "dte_bucket", "regime", "center", "width"]
        assert (pair[same].nunique() == 1).all()                 # the same signal for both methods


def test_pnl_is_credit_minus_debit_and_slippage_is_against_the_signal_mid():
    rows = pd.DataFrame(run_trades(CONFIG, range(0, 12)))
    assert ((rows.exit_credit - rows.entry_debit) * 100 - rows.pnl).abs().max() < 0.02
    assert set(rows.path) <= {"normal", "repriced", "fallback", "missed"}
    assert rows.latency_ms.ge(0).all()


def test_trades_cover_buckets_regimes_and_symbols_and_exit_for_a_reason():
    trades = [make_trade(StudyConfig(seed=1), i) for i in range(300)]
    assert {t.dte_bucket for t in trades} == {"0DTE", "1-3", "5-15"}
    assert {t.regime for t in trades} == {"low", "normal", "high"}
    assert {t.symbol for t in trades} == {"SPY", "QQQ", "IWM"}
    reasons = {entry_and_signal(t, StudyConfig(seed=1)).exit_reason for t in trades[:60]}
    assert reasons <= {"target", "atr_stop", "time"} and len(reasons) >= 2


def test_a_much_thinner_fly_book_makes_the_whole_fly_exit_worse_on_the_same_trades():
    thin = StudyAssumptions(combo_rate_factor=0.02, combo_extra_width=2.0)
    thick = StudyAssumptions(combo_rate_factor=1.0, combo_extra_width=0.0)
    config = StudyConfig(trades=40, seed=3, sweep_trades=0)
    whole = {name: pd.DataFrame(run_trades(config, range(40), a)).query("exit_method == 'whole_fly'")
             for name, a in (("thin", thin), ("thick", thick))}
    assert whole["thin"].latency_ms.mean() > whole["thick"].latency_ms.mean()
