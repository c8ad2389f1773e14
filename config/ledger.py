"""Where the write-ahead ledger lives: in memory (backtests) or a SQLite file in WAL mode."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from config.base import FrozenModel, rule_error


class LedgerConfig(FrozenModel):
    kind: Literal["memory", "sqlite"] = "memory"
    path: str | None = None
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"

    @model_validator(mode="after")
    def _path_for_sqlite(self) -> LedgerConfig:
        if self.kind == "sqlite" and not self.path:
            raise rule_error("path", "a sqlite ledger needs a file path")
        return self
