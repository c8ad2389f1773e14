from supervisors.cli import main


def test_pingpong_inline_prints_what_happened(capsys):
    assert main(["--log-format", "json", "pingpong", "--runtime", "inline", "--messages", "2000"]) == 0
    out = capsys.readouterr().out
    assert "inline: done=True" in out and "'count': 1000" in out
