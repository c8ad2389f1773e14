"""Pydantic models for every setting, YAML profiles and their loader."""

from config.base import ConfigError, FrozenModel
from config.execution import BalancerConfig, CreditMaximizerConfig, ExecutorConfig, SizingParameters, TimingParameters
from config.loader import load_profile, profile_path
from config.router import FallbackAction, RouterRiskConfig, RoutingPreferences
from config.runtime import LatencySpec, LoggingConfig, RuntimeConfig
from config.session import Mode, SessionConfig

__all__ = [
    "BalancerConfig", "ConfigError", "CreditMaximizerConfig", "ExecutorConfig", "FallbackAction",
    "FrozenModel", "LatencySpec", "LoggingConfig", "Mode", "RouterRiskConfig", "RoutingPreferences",
    "RuntimeConfig", "SessionConfig", "SizingParameters", "TimingParameters", "load_profile", "profile_path",
]
