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
    assert "traders 1; attempts 4, fills 3; net premium $12.50; imbalance 0" in out
