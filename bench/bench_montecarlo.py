"""Monte Carlo on Ray: scaling 1 -> 2 workers, per-task overhead, driver memory at 1,000 vs 20,000 paths.

Each measurement runs in its own process with its own local Ray (`ray.init(num_cpus=N)`), after a
warm-up round so workers have imported the project. Figures:
- paths/s on 1 and 2 workers for the default profile's grid (paths cut to --paths per scenario),
  efficiency = rate(2) / (2 x rate(1)) (goal >= 90%), rounds interleaved, the fastest of each (this machine's
  noise moved one-shot figures from 89% to 110% between two runs); beside it, the machine's own ceiling:
  how fast a plain Python loop runs on both cores at once against alone;
- per-task overhead = (wall x workers - time inside tasks) / time inside tasks, on 1 worker (goal < 5%);
- driver peak RSS for 1,000 vs 20,000 paths (goal within 20%): the driver's work does not depend on how
  a path was computed, so these runs use a synthetic chunk with the real result shape (equity marks,
  fills) through the real executor, cache and report; computing 20,000 real paths would take hours here.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _config(paths: int, paths_per_task: int, **montecarlo):
    from config.loader import load_profile, validate_config

    data = load_profile(ROOT / "config" / "profiles" / "montecarlo.yaml").model_dump(mode="json")
    data["montecarlo"].update(paths=paths, paths_per_task=paths_per_task, **montecarlo)
    return validate_config(data, "bench")


def _scaling_child(workers: int, paths: int, paths_per_task: int) -> dict:
    import ray

    from supervisors.batch.montecarlo import run_montecarlo
    from supervisors.batch.montecarlo_ray import RayExecutor

    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    warm = _config(workers, 1, regimes=["normal"], parameters={})
    run_montecarlo(warm, Path(tempfile.mkdtemp()), RayExecutor(), progress=False)
    summary = run_montecarlo(_config(paths, paths_per_task), Path(tempfile.mkdtemp()), RayExecutor(), progress=False)
    run = summary["run"]
    return {"workers": workers, "paths": run["computed_paths"], "wall_s": run["wall_seconds"],
            "task_s": run["task_seconds_total"]}


def synthetic_chunk(task) -> dict:
    """A chunk result of the real shape (28 marks, 40 fills per path) made in microseconds."""
    import numpy as np

    rng = np.random.default_rng([task.root_seed, task.first_path])
    paths = np.arange(task.first_path, task.first_path + task.n_paths)
    equity = rng.normal(0, 1000, (task.n_paths, 28)).cumsum(axis=1)
    trades = [(task.scenario_id, int(p), 0, 1_800_000_000_000_000_000 + i, f"coid-{p}-{i}", "trader-SPY", "BUY", 1,
               1.25, "+1x600C2026-12-18 -1x610C2026-12-18") for p in paths for i in range(40)]
    return {"scenario_id": task.scenario_id, "first_path": task.first_path, "paths": paths, "seeds": paths,
            "pnl_usd": equity[:, -1].copy(), "max_drawdown_usd": np.abs(equity).max(axis=1),
            "fills": np.full(task.n_paths, 40), "equity_usd": equity, "mark_labels": [f"m{i}" for i in range(28)],
            "trades": trades, "task_seconds": 0.0, "node_id": "synthetic"}


def _memory_child(paths: int) -> dict:
    import ray

    from supervisors.batch.montecarlo import run_montecarlo
    from supervisors.batch.montecarlo_ray import RayExecutor

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    executor = RayExecutor(chunk_function=synthetic_chunk)
    config = _config(paths, 20, regimes=["normal"], parameters={})
    started = time.perf_counter()
    run_montecarlo(config, Path(tempfile.mkdtemp()), executor, progress=False)
    return {"paths": paths, "wall_s": time.perf_counter() - started,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(argv: list[str]) -> dict:
    return json.loads(subprocess.run([sys.executable, __file__, "--child", *argv], check=True, capture_output=True,
                                     text=True, cwd=ROOT).stdout.strip().splitlines()[-1])


def _busy_loop_s(_: int = 0) -> float:
    """A fixed pure-Python loop (ints and a dict, no I/O): seconds it takes."""
    started = time.perf_counter()
    total, table = 0, {}
    for i in range(3_000_000):
        total += i * i % 7
        if i % 10 == 0:
            table[i % 5000] = total
    return time.perf_counter() - started


def _machine_ceiling() -> float:
    """How much slower the same CPU-bound loop runs when both cores run one: the efficiency this machine allows
    any 2-worker run (shared caches, memory bandwidth, or the hypervisor), with no Ray and no backtest involved."""
    import multiprocessing

    alone = min(_busy_loop_s() for _ in range(3))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        together = min(max(pool.map(_busy_loop_s, [0, 1])) for _ in range(3))
    return alone / together


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paths", type=int, default=10, help="paths per scenario of the default grid (4 scenarios)")
    parser.add_argument("--paths-per-task", type=int, default=None, help="default: the profile's")
    parser.add_argument("--memory-paths", default="1000,20000", help="'' to skip the memory runs")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved 1- and 2-worker rounds (best of each)")
    parser.add_argument("--child", nargs="+", default=None)
    args = parser.parse_args(argv or [])
    if args.child:
        kind, *rest = args.child
        out = (_scaling_child(int(rest[0]), int(rest[1]), int(rest[2])) if kind == "scaling"
               else _memory_child(int(rest[0])))
        print(json.dumps(out))
        return
    per_task = str(args.paths_per_task or _config(1, 1).montecarlo.paths_per_task)
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for round_no in range(args.rounds):            # interleaved, order alternated; the fastest round of each counts
        for workers in ((1, 2) if round_no % 2 == 0 else (2, 1)):
            runs[workers].append(_child(["scaling", str(workers), str(args.paths), per_task]))
    one, two = (max(runs[w], key=lambda r: r["paths"] / r["wall_s"]) for w in (1, 2))
    rate1, rate2 = one["paths"] / one["wall_s"], two["paths"] / two["wall_s"]
    print("rounds, paths/s (1 worker / 2 workers): " + ", ".join(
        f"{a['paths'] / a['wall_s']:.2f} / {b['paths'] / b['wall_s']:.2f}" for a, b in zip(runs[1], runs[2])))
    overhead = (one["wall_s"] - one["task_s"]) / one["task_s"]
    busy = two["task_s"] / (2 * two["wall_s"])
    print(
        f"monte carlo (default profile, {one['paths']} paths, {per_task} per task, best of {args.rounds}): "
        f"1 worker {rate1:.2f} paths/s, "
        f"2 workers {rate2:.2f} paths/s; efficiency {rate2 / (2 * rate1):.0%} (goal >= 90%); time inside tasks "
        f"{one['task_s']:.1f} s on 1 worker, {two['task_s']:.1f} s on 2 (more on 2 = the cores slow each other)"
    )
    print(f"fan-out efficiency on 2 workers (time inside tasks / (2 x wall)): {busy:.0%}; same work "
          f"{two['task_s'] / one['task_s'] - 1:+.0%} slower per task with both cores busy")
    ceiling = _machine_ceiling()
    print(f"this machine's ceiling: a plain Python loop on both cores at once runs at {ceiling:.0%} of its speed alone "
          f"(so 2-worker efficiency {rate2 / (2 * rate1):.0%} is {rate2 / (2 * rate1) / ceiling:.0%} of what the cores "
          "allow)")
    print(f"per-task overhead on 1 worker: {overhead:.1%} of task time (wall {one['wall_s']:.1f} s, in tasks "
          f"{one['task_s']:.1f} s; goal < 5%)")
    if not args.memory_paths:
        return
    memory = [_child(["memory", n]) for n in args.memory_paths.split(",")]
    low, high = memory[0], memory[-1]
    print("driver peak RSS: " + ", ".join(f"{m['paths']:,} paths {m['peak_rss_mb']:.0f} MB ({m['wall_s']:.0f} s)"
                                          for m in memory)
          + f"; {high['peak_rss_mb'] / low['peak_rss_mb'] - 1:+.1%} (goal within 20%)")


if __name__ == "__main__":
    main(sys.argv[1:])
