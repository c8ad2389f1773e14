"""`spreadwright signals`: verdicts for a real daily history, reasons counted, the gates compared."""

from __future__ import annotations

import pandas as pd

from supervisors.cli import main


def test_signals_writes_verdicts_and_a_report_that_counts_every_session(tmp_path, capsys):
    assert main(["signals", "--symbol", "IWM", "--out", str(tmp_path), "--score-paths", "4", "--score-days",
                 "300"]) == 0
    out = capsys.readouterr().out
    verdicts = pd.read_csv(tmp_path / "verdicts.csv", index_col=0)
    report = (tmp_path / "signals.md").read_text()
    assert "vol gates on real VIX" in out and len(verdicts) > 5000
    assert set(verdicts.regime) <= {"RANGE_BOUND", "MEAN_REVERSION", "TREND", "CAUTION", "NO_SIGNAL"}
    for regime, count in verdicts.regime.value_counts().items():
        assert f"| {regime} | {count:,} |" in report
    assert "seed 003 (IV percentile < 35)" in report and (tmp_path / "regimes.png").stat().st_size > 10_000
    confusion = pd.read_csv(tmp_path / "confusion.csv", index_col=0)
    assert confusion.to_numpy().sum() == 4 * 300 and "detector accuracy" in out


def test_the_detector_beats_chance_on_labelled_paths_and_finds_caution():
    from core.strategy.verdict import SignalSettings
    from supervisors.batch.signals import accuracy, score_detector

    confusion = score_detector(SignalSettings(), 20, 500, seed=3)
    assert confusion.to_numpy().sum() == 20 * 500
    judged = confusion.drop(columns="NO_SIGNAL")
    assert accuracy(confusion) > 0.4
    assert judged.loc["CAUTION", "CAUTION"] > 0.6 * judged.loc["CAUTION"].sum()
    assert judged.loc["TREND", "TREND"] > 0.35 * judged.loc["TREND"].sum()


def test_a_bad_strategist_setting_is_a_message_not_a_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SPREADWRIGHT__STRATEGIST__REGIME__RSI_HIGH", "10")
    assert main(["signals", "--out", str(tmp_path), "--score-paths", "0"]) == 2
    assert "strategist.regime.rsi_low" in capsys.readouterr().err
