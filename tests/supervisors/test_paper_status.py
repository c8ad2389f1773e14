"""A paper session's status line (no Ray: the supervisor is a stand-in)."""

from __future__ import annotations

from config import load_profile
from supervisors.paper import PaperSession


class _SlowSupervisor:
    def __init__(self, answers):
        self.answers = list(answers)

    def get_status(self):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


STATUS = {"traders": {"t": {"session_attempts": 4, "session_fills": 3}},
          "position_summary": {"net_premium": 12.5, "total_imbalance": 0}}


def test_a_status_that_times_out_is_reported_and_the_session_goes_on(capsys):
    session = PaperSession(load_profile("paper"))
    session.supervisor = _SlowSupervisor([TimeoutError("Get timed out: some object(s) not ready."), STATUS])
    session.print_status()
    session.print_status()
    out = capsys.readouterr().out
    assert "status not available in time: Get timed out" in out and "status_unavailable" in out
    assert "P&L not marked yet; traders 1; attempts 4, fills 3; net premium (cash flow) $12.50; imbalance 0" in out


def test_the_status_line_leads_with_the_book_s_pnl():
    from supervisors.paper import status_line

    book = {"total": {"pnl_usd": -1234.5, "unrealized_usd": -234.5, "delta_usd": 56789.0}}
    assert status_line({**STATUS, "book": book}).startswith("P&L $-1,234.50 (unrealized $-234.50), delta $56,789; ")


def test_the_cli_prints_the_status_taken_at_the_stop(monkeypatch, capsys):
    """The last word of a session is its final status (also when every periodic line came too late)."""
    import supervisors.paper
    from supervisors.cli import main

    answers = [{**STATUS, "ledger": {"intents": 14, "working": 0}}, {"ledger": {"intents": 2, "working": 0}}]
    monkeypatch.setattr(supervisors.paper, "run_paper", lambda *args, **kwargs: answers.pop(0))
    assert main(["paper", "--profile", "config/profiles/paper.yaml", "--duration-s", "1"]) == 0
    out = capsys.readouterr().out
    assert ("status as the stop began: P&L not marked yet; traders 1; attempts 4, fills 3; net premium (cash flow) "
            "$12.50; imbalance 0") in out
    assert "stopped: 14 orders sent, 0 left working" in out
    assert main(["paper", "--profile", "config/profiles/paper.yaml", "--duration-s", "1"]) == 0
    out = capsys.readouterr().out
    assert "status as the stop began" not in out and "stopped: 2 orders sent" in out    # none came: none invented
