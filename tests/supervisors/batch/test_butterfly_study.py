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


def _difference(scale: float, trades: int = 1000) -> tuple[float, str]:
    from reports.butterfly_report import bootstrap_ci, paired_differences, verdict

    config = StudyConfig(trades=trades, seed=11, sweep_trades=0)
    rows = pd.DataFrame(run_trades(config, range(trades), StudyAssumptions(combo_penalty_scale=scale)))
    mean, low, high = bootstrap_ci(paired_differences(rows)["pnl_diff"].to_numpy(), 2000, 11)
    return mean, verdict(mean, low, high)


def test_the_verdict_rests_on_the_combo_penalty_and_flips_without_it():
    """The same 1,000 trades: with the fly's book as thick as a vertical's (penalty scale 0) the whole fly wins;
    with a thin one (scale 4) the split comes out ahead, so the sweep has a break-even between."""
    from reports.butterfly_report import break_even

    without, verdict_without = _difference(0.0)
    thin, _ = _difference(4.0)
    assert verdict_without == "whole fly wins"
    assert thin > 0
    assert 0.0 < break_even([0.0, 4.0], [without, thin]) < 4.0


def test_break_even_interpolates_the_first_sign_change_and_says_none_without_one():
    from reports.butterfly_report import break_even, rests_on

    assert break_even([0.0, 1.0, 2.0], [-1.0, -0.5, 0.5]) == 1.5
    assert break_even([2.0, 0.0, 1.0], [0.5, -1.0, -0.5]) == 1.5        # sorted by value first
    assert break_even([0.0, 1.0], [1.0, 2.0]) is None
    sweep = pd.DataFrame({"assumption": ["combo_penalty_scale"] * 2 + ["leg_latency_ms"] * 2,
                          "value": [0.0, 2.0, 1.0, 150.0], "diff_mean": [-1.0, 1.0, 0.2, 0.3]})
    assert rests_on(sweep) == "it rests on combo_penalty_scale (break-even 1)"
