"""Helpers shared by the benchmarks: pin to one core, time the median of repeats, run a paper session, and read
the order path's log events from the Ray workers' logs (the latency benches' probes)."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Callable


def pin_one_core() -> str:
    """Pin this process to one CPU so 'per core' figures mean what they say."""
    if hasattr(os, "sched_setaffinity"):
        cpu = sorted(os.sched_getaffinity(0))[-1]
        os.sched_setaffinity(0, {cpu})
        return f"pinned to cpu {cpu}"
    return "not pinned (no sched_setaffinity)"


def median_seconds(fn: Callable[[], object], repeats: int = 7, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def interleaved_medians(fns: dict[str, Callable[[], object]], repeats: int = 9, warmup: int = 2) -> dict[str, float]:
    """Median seconds of each function, timed in alternation so machine noise hits all alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def random_options(n: int, seed: int, min_t_years: float):
    """(is_call, spot, strike, t_years, vol) arrays of `n` random European options near the money."""
    import numpy as np

    rng = np.random.default_rng(seed)
    spot = rng.uniform(50, 150, n)
    strike = spot * rng.uniform(0.8, 1.2, n)
    t_years = rng.uniform(min_t_years, 2.0, n)
    vol = rng.uniform(0.1, 0.8, n)
    return rng.random(n) < 0.5, spot, strike, t_years, vol


RAY_LOGS = Path("/tmp/ray/session_latest/logs")


def ray_log_offsets(logs_dir: Path = RAY_LOGS) -> dict[Path, int]:
    """How far each worker log file goes now: pass it to `ray_log_events` to read only what comes after."""
    return {path: path.stat().st_size for path in _worker_logs(logs_dir)}


def _worker_logs(logs_dir: Path) -> list[Path]:
    """Each Ray worker's stdout and stderr files (structlog writes to one or the other, as configured)."""
    return sorted([*logs_dir.glob("worker-*.out"), *logs_dir.glob("worker-*.err")])


def ray_log_events(names: set[str], since: dict[Path, int] | None = None, logs_dir: Path = RAY_LOGS) -> list[dict]:
    """The structured log events named `names` that the actors of the local Ray session wrote after `since`
    (one JSON object a line in each worker's log files). The order path's probes (`order_sent`,
    `order_to_adapter`, `second_vertical_sent`) carry the times a latency bench needs, so no component keeps
    marks in its state."""
    import json

    since = since or {}
    found = []
    for path in _worker_logs(logs_dir):
        with path.open("rb") as handle:
            handle.seek(since.get(path, 0))
            text = handle.read().decode(errors="replace")
        for line in text.splitlines():
            start = line.find("{")
            if start < 0 or '"event"' not in line:
                continue
            try:
                event = json.loads(line[start:])
            except ValueError:
                continue
            if event.get("event") in names:
                found.append(event)
    return found


def paper_session_snapshots(env: dict[str, str], duration_s: float) -> dict[str, dict]:
    """Run the paper profile (with `env` overrides and a throwaway ledger) for `duration_s`; the actors'
    snapshots taken just before the ordered stop."""
    import os
    import tempfile
    from pathlib import Path

    from config import load_profile
    from supervisors.paper import PaperSession

    ledger = Path(tempfile.mkdtemp(prefix="sw-bench")) / "ledger.db"
    overrides = {**os.environ, "SPREADWRIGHT__LEDGER__PATH": str(ledger), **env}
    session = PaperSession(load_profile("paper", env=overrides))
    try:
        session.start()
        session.run(duration_s, status_every_s=1e9)
        return session.runtime.snapshots()
    finally:
        session.stop()
