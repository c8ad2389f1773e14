"""The strategy Monte Carlo with its jobs as Ray tasks gives the results computed in one process."""

import pandas as pd

from config import load_profile

QUICK = {"SPREADWRIGHT__BACKTEST__QUOTE_INTERVAL_S": "600", "SPREADWRIGHT__BACKTEST__N_STRIKES": "40",
         "SPREADWRIGHT__EXCHANGE__MAX_QUOTE_AGE_MS": "1200000"}


def test_ray_tasks_give_the_in_process_paths(ray_cluster, tmp_path):
    from supervisors.batch.montecarlo_ray import RayExecutor
    from supervisors.batch.strategy_montecarlo import ProcessJobs, run_path_job, run_strategy_montecarlo

    config = load_profile("config/profiles/strategy_montecarlo.yaml", env=QUICK)
    settings = dict(paths=2, days=2, warmup_days=30, root_seed=4, variants=("routed", "jade_lizard"))
    on_ray = run_strategy_montecarlo(config, tmp_path / "ray", executor=RayExecutor(chunk_function=run_path_job),
                                     **settings)
    inline = run_strategy_montecarlo(config, tmp_path / "inline", executor=ProcessJobs(1), **settings)
    assert on_ray["failed"] == [] and on_ray["paired_paths"] == inline["paired_paths"] == 2
    columns = ["variant", "path", "seed", "pnl_usd", "labels"]
    ray_rows = pd.read_csv(tmp_path / "ray" / "strategy_montecarlo.csv")[columns]
    inline_rows = pd.read_csv(tmp_path / "inline" / "strategy_montecarlo.csv")[columns]
    pd.testing.assert_frame_equal(ray_rows, inline_rows)
