"""The study's fan-out: the same rows whether trades run here or in worker processes."""

from config.study import StudyConfig
from supervisors.batch.study import InlineFanOut, ProcessFanOut, simulate


def test_worker_processes_give_the_rows_computed_in_this_process():
    config = StudyConfig(trades=12, sweep_trades=0)
    here = simulate(config, 12, InlineFanOut(), chunk=5)
    there = simulate(config, 12, ProcessFanOut(2), chunk=3)
    assert len(here) == 24 and here.equals(there)
