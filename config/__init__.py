"""Pydantic models for every setting, YAML profiles and their loader.

The names below are imported on first use (PEP 562), so a process that needs one small part of the settings
(an actor restarting with its logging settings, `config.runtime`) does not import every model and what they
import (the strategist's models pull in pandas and scipy): a restarted actor answers that much sooner."""

from __future__ import annotations

import importlib
from typing import Any

from config.base import ConfigError, FrozenModel

_HOMES = {
    "BalancerConfig": "config.execution", "CreditMaximizerConfig": "config.execution",
    "ExecutorConfig": "config.execution", "SizingParameters": "config.execution",
    "TimingParameters": "config.execution",
    "load_profile": "config.loader", "profile_path": "config.loader",
    "FallbackAction": "config.router", "RouterRiskConfig": "config.router", "RoutingPreferences": "config.router",
    "LatencySpec": "config.runtime", "LoggingConfig": "config.runtime", "RuntimeConfig": "config.runtime",
    "Mode": "config.session", "SessionConfig": "config.session",
}

__all__ = ["ConfigError", "FrozenModel", *_HOMES]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'config' has no attribute {name!r}")
    value = globals()[name] = getattr(importlib.import_module(home), name)
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
