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
