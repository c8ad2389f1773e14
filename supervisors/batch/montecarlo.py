"""Monte Carlo backtests: the scenario grid x N seeded paths, fanned out as Ray tasks.

The driver builds every scenario's config (validated: a bad grid key fails before any work),
splits each scenario's paths into chunks of `paths_per_task` and keeps at most `max_in_flight`
tasks running (backpressure: results are consumed as they finish). Each finished chunk is
written to the cache at once, under a key hashing the scenario config, the path range, the
days, the seed and the marks, and dropped from memory; the report is built from the cache one
scenario at a time, so the driver's memory does not grow with N. A rerun finds its chunks in the
cache and skips them. A worker that dies has its task retried by Ray (`max_retries`); a task that
raises is counted as failed, its paths reported missing, and the run exits non-zero.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from actors.runtime.telemetry import NULL_TELEMETRY, Telemetry
from config.loader import ConfigError, validate_config
from config.session import SessionConfig
from persistence.montecarlo_cache import ChunkCache
from reports.montecarlo_report import write_reports
from supervisors.batch.montecarlo_paths import TRADE_COLUMNS, ChunkTask, run_chunk

CACHE_VERSION = 1


@dataclass(frozen=True)
class Scenario:
    scenario_id: str                   # content hash of the scenario's session config
    label: str
    underlying: str
    regime: str
    parameters: tuple[tuple[str, Any], ...]
    config: SessionConfig


@dataclass
class RunState:
    """What the driver tracks while tasks run: counts only, never results."""

    total_paths: int
    done_paths: int = 0
    cached_paths: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    nodes: set[str] = field(default_factory=set)
    task_seconds_total: float = 0.0
    tasks_done: int = 0

    @property
    def failed_paths(self) -> int:
        return sum(f["n_paths"] for f in self.failed)


def build_scenarios(config: SessionConfig) -> list[Scenario]:
    """Every (underlying, regime, parameter combination) as a validated session config."""
    settings = config.montecarlo
    base = config.model_dump(mode="json")
    base["montecarlo"] = {}
    keys = sorted(settings.parameters)
    scenarios = []
    for underlying, price in settings.underlyings.items():
        for regime in settings.regimes:
            for values in itertools.product(*(settings.parameters[k] for k in keys)):
                data = json.loads(json.dumps(base))
                data.update(symbols=[underlying], name=f"mc-{underlying}-{regime}")
                data["backtest"].update(regime=regime, start_prices={underlying: price})
                for key, value in zip(keys, values):
                    _set_dotted(data, key, value)
                scenario_config = _validated(data, keys)
                label = " ".join([underlying, regime, *(f"{k.split('.')[-1]}={v}" for k, v in zip(keys, values))])
                scenarios.append(Scenario(scenario_config.config_id, label, underlying, regime,
                                          tuple(zip(keys, values)), scenario_config))
    return scenarios


def chunk_tasks(scenarios: list[Scenario], config: SessionConfig) -> list[ChunkTask]:
    settings = config.montecarlo
    step = settings.paths_per_task
    tasks = []
    for scenario in scenarios:
        config_json = scenario.config.model_dump_json()
        tasks += [ChunkTask(scenario.scenario_id, config_json, first, min(step, settings.paths - first), settings.days,
                            settings.seed, settings.mark_every_s) for first in range(0, settings.paths, step)]
    return tasks


def chunk_key(task: ChunkTask) -> str:
    """Cache key: everything the chunk's result depends on (aligned chunks stay valid when N grows)."""
    material = json.dumps([CACHE_VERSION, task.config_json, task.first_path, task.n_paths, task.days,
                           task.root_seed, task.mark_every_s])
    return hashlib.sha256(material.encode()).hexdigest()[:20]


def run_montecarlo(config: SessionConfig, out_dir: Path, executor: "ChunkExecutor",
                   progress: bool = True, telemetry: Telemetry = NULL_TELEMETRY) -> dict[str, Any]:
    """Run (or find in the cache) every chunk, then aggregate and write the reports."""
    scenarios = build_scenarios(config)
    tasks = chunk_tasks(scenarios, config)
    cache = ChunkCache(out_dir / "cache")
    todo = [t for t in tasks if not cache.has(chunk_key(t))]
    state = RunState(total_paths=sum(t.n_paths for t in tasks))
    state.cached_paths = state.done_paths = state.total_paths - sum(t.n_paths for t in todo)
    started = time.perf_counter()
    with _Progress(state, enabled=progress) as bar:
        for task, outcome in executor.run(todo):
            if isinstance(outcome, BaseException):
                state.failed.append({"scenario_id": task.scenario_id, "first_path": task.first_path,
                                     "n_paths": task.n_paths, "error": f"{type(outcome).__name__}: {outcome}"})
                telemetry.count("spreadwright_montecarlo_paths_total", task.n_paths, outcome="failed")
            else:
                cache.put(chunk_key(task), outcome)
                state.done_paths += task.n_paths
                state.task_seconds_total += outcome.get("task_seconds", 0.0)
                telemetry.count("spreadwright_montecarlo_paths_total", task.n_paths, outcome="done")
                telemetry.observe("spreadwright_montecarlo_task_seconds", outcome.get("task_seconds", 0.0))
                state.tasks_done += 1
                if outcome.get("node_id"):
                    state.nodes.add(outcome["node_id"])
            bar.update(task.n_paths)
    wall_s = time.perf_counter() - started
    run = {"wall_seconds": wall_s, "computed_paths": state.total_paths - state.cached_paths,
           "cached_paths": state.cached_paths, "failed": state.failed, "nodes": sorted(state.nodes),
           "workers": executor.workers, "task_seconds_mean": state.task_seconds_total / max(state.tasks_done, 1),
           "task_seconds_total": state.task_seconds_total}
    failed = {(f["scenario_id"], f["first_path"]) for f in state.failed}
    keys = {s.scenario_id: [chunk_key(t) for t in tasks if t.scenario_id == s.scenario_id
                            and (t.scenario_id, t.first_path) not in failed] for s in scenarios}
    return write_reports(config, scenarios, keys, TRADE_COLUMNS, cache, out_dir, run)


class _Progress:
    """A tqdm bar on stderr: paths done (cached ones counted at start), rate, ETA, failures."""

    def __init__(self, state: RunState, enabled: bool) -> None:
        self.state, self.enabled, self.bar = state, enabled, None

    def __enter__(self) -> "_Progress":
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=self.state.total_paths, initial=self.state.done_paths, unit="path",
                            desc="monte carlo", file=sys.stderr, dynamic_ncols=True, mininterval=0.5)
            self.bar.set_postfix(failed=0, cached=self.state.cached_paths)
        return self

    def update(self, n_paths: int) -> None:
        if self.bar is not None:
            self.bar.set_postfix(failed=self.state.failed_paths, cached=self.state.cached_paths, refresh=False)
            self.bar.update(n_paths)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.close()


class ChunkExecutor:
    """Runs chunks and yields (task, result or exception) as each finishes, in any order."""

    workers: int = 1

    def run(self, tasks: list[ChunkTask]) -> Iterator[tuple[ChunkTask, Any]]:
        raise NotImplementedError


class InProcessExecutor(ChunkExecutor):
    """The reference: every chunk in this process, in order (no Ray)."""

    def run(self, tasks: list[ChunkTask]) -> Iterator[tuple[ChunkTask, Any]]:
        for task in tasks:
            started = time.perf_counter()
            try:
                result = run_chunk(task)
            except Exception as err:      # reported per chunk as failed paths, never dropped
                yield task, err
                continue
            result["task_seconds"] = time.perf_counter() - started
            yield task, result


def _set_dotted(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            raise ConfigError([(f"montecarlo.parameters.{key}", f"{part!r} is not a settings section")])
        node = node[part]
    if parts[-1] not in node:
        raise ConfigError(
            [(f"montecarlo.parameters.{key}", f"no setting {parts[-1]!r} in {'.'.join(parts[:-1]) or 'the profile'}")]
        )
    node[parts[-1]] = value


def _validated(data: dict, keys: Iterable[str]) -> SessionConfig:
    try:
        return validate_config(data, "montecarlo scenario")
    except ConfigError as err:
        keys = set(keys)
        raise ConfigError([(f"montecarlo.parameters.{path}" if path in keys else path, reason)
                           for path, reason in err.problems], "(a Monte Carlo scenario)") from None
