"""The butterfly exit study with its chunks as Ray tasks gives the rows computed in one process."""

from config.study import StudyConfig
from supervisors.batch.study import InlineFanOut, simulate


def test_ray_tasks_give_the_in_process_rows(ray_cluster):
    from supervisors.batch.study_ray import RayFanOut

    config = StudyConfig(trades=12, sweep_trades=0)
    fan_out = RayFanOut(max_in_flight=2)
    assert fan_out.workers == 2
    assert simulate(config, 12, fan_out, chunk=4).equals(simulate(config, 12, InlineFanOut(), chunk=12))
