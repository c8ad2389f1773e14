"""The Monte Carlo results cache: finished chunks of paths on disk, keyed by everything their result depends on.

A run that is stopped and started again finds its finished chunks here and skips them; the report is
built from the cache one chunk at a time, so a large study never holds every path's fills in memory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np


class ChunkCache:
    """Finished chunks on disk, one .npz (arrays) and one .json (fills, labels) per key, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def has(self, key: str) -> bool:
        return (self.root / f"{key}.npz").exists() and (self.root / f"{key}.json").exists()

    def put(self, key: str, result: dict[str, Any]) -> None:
        arrays = {k: result[k] for k in ("paths", "seeds", "pnl_usd", "max_drawdown_usd", "fills", "equity_usd")}
        extras = {"scenario_id": result["scenario_id"], "mark_labels": result["mark_labels"],
                  "trades": result["trades"]}
        _atomic(self.root / f"{key}.json", lambda tmp: tmp.write_text(json.dumps(extras)))
        _atomic(self.root / f"{key}.npz", lambda tmp: np.savez(tmp, **arrays))

    def arrays(self, key: str) -> dict[str, np.ndarray]:
        with np.load(self.root / f"{key}.npz") as data:
            return {k: data[k] for k in data.files}

    def extras(self, key: str) -> dict[str, Any]:
        """scenario_id, mark_labels and the chunk's fills (read one chunk at a time: fills are the bulk)."""
        return json.loads((self.root / f"{key}.json").read_text())


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    write(tmp)
    tmp.replace(path)


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file and rename it, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    write(tmp)
    tmp.replace(path)
