from supervisors.cli import main


def test_pingpong_inline_prints_what_happened(capsys):
    assert main(["--log-format", "json", "pingpong", "--runtime", "inline", "--messages", "2000"]) == 0
    out = capsys.readouterr().out
    assert "inline: done=True" in out and "'count': 1000" in out


def test_study_butterfly_exits_writes_its_reports(tmp_path, capsys):
    from supervisors.cli import main

    assert main(["--log-level", "ERROR", "study", "butterfly-exits", "--trades", "20", "--sweep-trades", "6",
                 "--workers", "1", "--no-real-data", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "split - whole fly:" in out and "trades/s" in out
    for name in ("butterfly_exit_comparison.csv", "butterfly_exit_aggregate.csv", "butterfly_exit_report.md",
                 "butterfly_exit_report.html", "sensitivity.png", "equity_curves.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_strategies_montecarlo_runs_paired_paths_and_refuses_what_it_cannot_run(tmp_path, capsys, monkeypatch):
    import pytest

    monkeypatch.setenv("SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S", "600")
    monkeypatch.setenv("SPREADWRIGHT__EXCHANGE__MAX_QUOTE_AGE_MS", "1200000")
    assert main(["--log-level", "ERROR", "strategies", "--montecarlo", "--paths", "2", "--days", "2", "--warmup",
                 "30", "--workers", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 labelled paths x 2 sessions" in out and "routed - it" in out
    assert (tmp_path / "strategy_montecarlo.md").is_file()
    with pytest.raises(SystemExit) as exit_info:
        main(["strategies", "--montecarlo", "--paths", "1"])
    assert exit_info.value.code == 2 and "want a whole number >= 2" in capsys.readouterr().err
    assert main(["strategies", "--montecarlo", "--profile", "config/profiles/strategy.yaml", "--paths", "2"]) == 2
    assert "runs one symbol on the simulated market" in capsys.readouterr().err


def test_crypto_session_refusals_are_messages_not_tracebacks(tmp_path, capsys, monkeypatch):
    profile = tmp_path / "live.yaml"
    profile.write_text("mode: live\nallow_live: true\nvenue: {kind: deribit, url: 'http://127.0.0.1:9'}\n"
                       f"ledger: {{kind: sqlite, path: '{tmp_path / 'ledger.db'}'}}\n")
    monkeypatch.delenv("SPREADWRIGHT_DERIBIT_CLIENT_ID", raising=False)
    assert main(["crypto-session", "--profile", str(profile)]) == 2
    assert "SPREADWRIGHT_DERIBIT_CLIENT_ID" in capsys.readouterr().err
    monkeypatch.setenv("SPREADWRIGHT_DERIBIT_CLIENT_ID", "id")
    monkeypatch.setenv("SPREADWRIGHT_DERIBIT_CLIENT_SECRET", "secret")
    assert main(["crypto-session", "--profile", str(profile)]) == 1            # nothing listens on port 9
    err = capsys.readouterr().err
    assert "could not start" in err and "Traceback" not in err
    assert main(["crypto-backtest", "--profile", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read it" in capsys.readouterr().err


def test_a_study_sent_to_a_cluster_runs_there_as_the_same_study_joining_that_cluster():
    """`study --address http://head:8265` submits this command as a Ray job (the submission itself is shown for
    `montecarlo`, through the same helper, in tests/ray/test_job_submit.py)."""
    from supervisors.cli import _study_job_command, build_parser

    args = build_parser().parse_args(["study", "butterfly-exits", "--address", "http://head:8265", "--trades", "8",
                                      "--sweep-trades", "0", "--no-real-data", "--out", "/tmp/study-out"])
    command = _study_job_command(args)
    assert command[:5] == ["python", "-m", "supervisors.cli", "study", "butterfly-exits"]
    assert command[command.index("--address") + 1] == "auto"
    assert command[command.index("--trades") + 1] == "8" and command[command.index("--sweep-trades") + 1] == "0"
    assert "--no-real-data" in command and command[command.index("--out") + 1] == "/tmp/study-out"
