"""The crypto strangle backtest's outputs: `trades.csv` (one row per strangle) and `summary.json`."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

TRADE_COLUMNS = ("opened_utc", "closed_utc", "expiry", "put_strike", "call_strike", "contracts", "reason",
                 "pnl_coin", "pnl_usd")


def write_strangle_report(out_dir: Path, summary: dict[str, Any], trades: list[dict[str, Any]]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "trades.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=TRADE_COLUMNS)
        writer.writeheader()
        for trade in trades:
            writer.writerow({"opened_utc": _utc(trade["opened_ns"]), "closed_utc": _utc(trade["closed_ns"]),
                             **{k: trade[k] for k in TRADE_COLUMNS if k in trade}})
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True), encoding="utf-8")


def _utc(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
