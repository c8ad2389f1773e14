"""The Monte Carlo driver in one process (no Ray): grid, determinism, cache, failures, outputs."""

import json

import numpy as np
import pandas as pd
import pytest

from config import ConfigError
from persistence.montecarlo_cache import ChunkCache
from reports.montecarlo_report import IncompleteRunError
from supervisors.batch.montecarlo import InProcessExecutor, build_scenarios, chunk_key, chunk_tasks, run_montecarlo
from supervisors.batch.montecarlo_paths import ChunkTask, path_seed, run_chunk
from tests.supervisors.batch.montecarlo_fixtures import tiny_config


def test_the_grid_is_underlyings_x_regimes_x_parameter_combinations():
    config = tiny_config(
        underlyings={"SPY": 600.0, "QQQ": 520.0},
        regimes=["low", "high"],
        parameters={"butterflies.max_hold_s": [1800, 3600, 5400], "timing.cancel_after_seconds": [2.0, 4.0]},
    )
    scenarios = build_scenarios(config)
    assert len(scenarios) == 2 * 2 * 3 * 2
    assert len({s.scenario_id for s in scenarios}) == len(scenarios)
    one = next(s for s in scenarios if s.label == "QQQ high max_hold_s=3600 cancel_after_seconds=4.0")
    assert one.config.symbols == ("QQQ",) and one.config.backtest.regime == "high"
    assert one.config.butterflies.max_hold_s == 3600 and one.config.timing.cancel_after_seconds == 4.0
    assert one.config.backtest.start_prices == {"QQQ": 520.0}


@pytest.mark.parametrize(
    "key, value, named",
    [
        ("butterflies.max_hold_secs", 10, "max_hold_secs"),
        ("butterflies.max_hold_s", -5, "montecarlo.parameters.butterflies.max_hold_s"),
        ("timing", 3, "timing"),
    ],
)
def test_a_bad_grid_key_or_value_fails_before_any_work_naming_the_field(key, value, named):
    with pytest.raises(ConfigError) as err:
        build_scenarios(tiny_config(parameters={key: [value]}))
    assert named in str(err.value)


def test_path_seeds_do_not_depend_on_chunking_and_scenarios_share_them():
    config = tiny_config(paths=3)
    by_one = [run_chunk(ChunkTask("s", build_scenarios(config)[0].config.model_dump_json(), p, 1, 1, 5, 1800.0))
              for p in range(3)]
    whole = run_chunk(ChunkTask("s", build_scenarios(config)[0].config.model_dump_json(), 0, 3, 1, 5, 1800.0))
    assert [r["pnl_usd"][0] for r in by_one] == whole["pnl_usd"].tolist()
    assert whole["seeds"].tolist() == [path_seed(5, p) for p in range(3)]
    assert len(set(whole["pnl_usd"].tolist())) == 3            # different seeds, different markets
    assert whole["equity_usd"].shape == (3, len(whole["mark_labels"]))
    assert len(whole["trades"]) == whole["fills"].sum() > 0           # one trade row per fill


def test_a_run_writes_every_output_and_a_rerun_comes_from_the_cache_byte_for_byte(tmp_path):
    config = tiny_config()
    first = run_montecarlo(config, tmp_path, InProcessExecutor(), progress=False)
    outputs = {name: (tmp_path / name).read_bytes() for name in ("scenarios.csv", "paths.csv", "trades.csv",
                                                               "equity_quantiles.csv")}
    second = run_montecarlo(config, tmp_path, InProcessExecutor(), progress=False)
    assert first["run"]["computed_paths"] == 8 and second["run"]["computed_paths"] == 0
    assert second["run"]["cached_paths"] == 8
    assert {name: (tmp_path / name).read_bytes() for name in outputs} == outputs
    paths = pd.read_csv(tmp_path / "paths.csv")
    assert sorted(paths.groupby("scenario").path.apply(list).tolist()) == [[0, 1, 2, 3]] * 2
    scenarios = pd.read_csv(tmp_path / "scenarios.csv")
    for column in ("mean_pnl_usd", "var95_usd", "cvar95_usd", "var99_usd", "cvar99_usd", "p_loss",
                   "mean_max_drawdown_usd", "mean_ci95_low_usd", "mean_ci95_high_usd"):
        assert scenarios[column].notna().all(), column
    assert np.allclose(scenarios.mean_pnl_usd, paths.groupby("scenario_id", sort=False).pnl_usd.mean().to_numpy(),
                       atol=1e-3)
    html = (tmp_path / "report.html").read_text()
    assert html.count('class="plotly-graph-div"') >= 3         # PnL and drawdown distributions, fan charts
    assert "SPY normal max_hold_s=5400" in (tmp_path / "report.md").read_text()


def test_aggregates_do_not_depend_on_task_size(tmp_path):
    run_montecarlo(tiny_config(paths_per_task=1), tmp_path / "one", InProcessExecutor(), progress=False)
    run_montecarlo(tiny_config(paths_per_task=3), tmp_path / "three", InProcessExecutor(), progress=False)
    for name in ("scenarios.csv", "paths.csv", "equity_quantiles.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "three" / name).read_bytes(), name


class _FailingOnce(InProcessExecutor):
    def run(self, tasks):
        for task, outcome in super().run(tasks):
            if task.first_path == 2 and '"max_hold_s":5400' in task.config_json and not getattr(self, "failed", False):
                self.failed = True
                yield task, RuntimeError("boom in path 2")
            else:
                yield task, outcome


def test_a_failed_chunk_is_reported_not_cached_and_retried_by_the_next_run(tmp_path):
    config = tiny_config()
    executor = _FailingOnce()
    summary = run_montecarlo(config, tmp_path, executor, progress=False)
    assert summary["run"]["failed"][0]["n_paths"] == 2 and "boom" in summary["run"]["failed"][0]["error"]
    rows = {r["scenario"]: r for r in summary["scenarios"]}
    assert rows["SPY normal max_hold_s=5400"]["paths"] == 2 and rows["SPY normal max_hold_s=1800"]["paths"] == 4
    assert "boom in path 2" in (tmp_path / "report.md").read_text()
    again = run_montecarlo(config, tmp_path, executor, progress=False)
    assert again["run"]["computed_paths"] == 2 and not again["run"]["failed"]


def test_a_repeated_or_missing_path_in_the_cache_is_an_error(tmp_path):
    config = tiny_config()
    scenarios = build_scenarios(config)
    tasks = chunk_tasks(scenarios, config)
    cache = ChunkCache(tmp_path / "cache")
    for task in tasks:
        cache.put(chunk_key(task), run_chunk(task))
    duplicate = run_chunk(tasks[0])
    cache.put(chunk_key(tasks[1]), duplicate)              # the second chunk's file now holds paths 0-1 again
    from reports.montecarlo_report import write_reports
    from supervisors.batch.montecarlo_paths import TRADE_COLUMNS

    keys = {s.scenario_id: [chunk_key(t) for t in tasks if t.scenario_id == s.scenario_id] for s in scenarios}
    run = {"failed": [], "wall_seconds": 0, "computed_paths": 0, "cached_paths": 0, "nodes": [], "workers": 1,
           "task_seconds_mean": 0}
    with pytest.raises(IncompleteRunError, match="distinct"):
        write_reports(config, scenarios, keys, TRADE_COLUMNS, cache, tmp_path, run)


def test_summary_json_names_the_run(tmp_path):
    summary = run_montecarlo(tiny_config(paths=2), tmp_path, InProcessExecutor(), progress=False)
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["paths_per_scenario"] == 2 and len(saved["scenarios"]) == 2 == len(summary["scenarios"])
