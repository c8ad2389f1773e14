"""Load a SessionConfig from a YAML profile plus SPREADWRIGHT__* environment overrides.

An override `SPREADWRIGHT__TIMING__CANCEL_AFTER_SECONDS=2.0` sets `timing.cancel_after_seconds`;
its value is parsed as a YAML scalar (so `true`, `3`, `[30, 90]` keep their types), except a secret
(`SECRET_FIELDS`: `broker.api_key`), which is taken as the plain string it is and never printed. An error
in a value that came from the environment names the variable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from config.base import ConfigError
from config.control import ControlConfig
from config.session import SessionConfig

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
ENV_PREFIX = "SPREADWRIGHT__"
SECRET_FIELDS = frozenset({"broker.api_key"})
CONTROL_ENV_PREFIX = "SPREADWRIGHT_CONTROL__"


def profile_path(name_or_path: str | os.PathLike) -> Path:
    """A path as given if it exists, else `config/profiles/<name>.yaml`."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = PROFILES_DIR / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    known = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
    raise ConfigError([("profile", f"no file {str(path)!r} and no built-in profile of that name (built-in: {known})")])


def load_profile(name_or_path: str | os.PathLike, env: Mapping[str, str] | None = None) -> SessionConfig:
    """Read, override from `env` (os.environ by default) and validate; raises ConfigError naming each field."""
    path = profile_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as err:
        raise ConfigError([("<file>", f"not UTF-8 text ({err.reason} at byte {err.start})")], str(path)) from None
    except (yaml.YAMLError, ValueError) as err:          # ValueError: a date YAML reads that does not exist
        raise ConfigError([("<yaml>", str(err))], str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError([("<root>", "a profile must be a mapping of settings")], str(path))
    env = os.environ if env is None else env
    data = apply_env_overrides(data, env)
    try:
        return validate_config(data, str(path))
    except ConfigError as err:
        raise _name_variables(err, env) from None


def _name_variables(error: ConfigError, env: Mapping[str, str], prefix: str = ENV_PREFIX) -> ConfigError:
    """The same problems, each whose field an environment variable set saying which one."""
    by_field = {".".join(part.lower() for part in key[len(prefix):].split("__")): key
                for key in env if key.startswith(prefix)}
    problems = []
    for field, reason in error.problems:
        variable = next((by_field[f] for f in by_field if field == f or field.startswith(f + ".")), None)
        problems.append((field, f"{reason} (set by {variable})" if variable else reason))
    return ConfigError(problems, error.source)


def load_control_config(path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> ControlConfig:
    """The control plane's settings: a YAML file (optional) with SPREADWRIGHT_CONTROL__* overrides; the token
    (SPREADWRIGHT_CONTROL__TOKEN) is a plain string, never YAML-parsed or printed."""
    data: Any = {}
    source = str(path) if path is not None else "(defaults)"
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as err:
            raise ConfigError([("<file>", f"cannot read it: {err.strerror}")], source) from None
        except UnicodeDecodeError as err:
            raise ConfigError([("<file>", f"not UTF-8 text ({err.reason} at byte {err.start})")], source) from None
        except (yaml.YAMLError, ValueError) as err:
            raise ConfigError([("<yaml>", str(err))], source) from None
        if not isinstance(data, dict):
            raise ConfigError([("<root>", "control settings must be a mapping")], source)
    env = os.environ if env is None else env
    data = apply_env_overrides(data, env, CONTROL_ENV_PREFIX, frozenset({"token"}))
    try:
        return ControlConfig.model_validate_json(json.dumps(data, default=str))
    except ValidationError as err:
        raise _name_variables(ConfigError.from_validation(err, source), env, CONTROL_ENV_PREFIX) from None


def validate_config(data: Mapping[str, Any], source: str = "") -> SessionConfig:
    """Validate plain data in JSON mode, so YAML lists become tuples and strings become enums."""
    try:
        return SessionConfig.model_validate_json(json.dumps(data, default=str))
    except ValidationError as err:
        raise ConfigError.from_validation(err, source) from None


def apply_env_overrides(data: dict[str, Any], env: Mapping[str, str], prefix: str = ENV_PREFIX,
                        secrets: frozenset[str] = SECRET_FIELDS) -> dict[str, Any]:
    """A copy of `data` with every SPREADWRIGHT__A__B=value (`prefix`A__B) applied as data[a][b] = value; the
    fields in `secrets` are taken as plain strings."""
    merged = json.loads(json.dumps(data, default=str))
    for key, raw in sorted(env.items()):
        if not key.startswith(prefix):
            continue
        path = [part.lower() for part in key[len(prefix):].split("__")]
        node = merged
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError([(".".join(path), f"override {key} goes below a value that is not a mapping")])
            node = child
        if ".".join(path) in secrets or not raw.strip():
            node[path[-1]] = raw
            continue
        try:
            node[path[-1]] = yaml.safe_load(raw)
        except (yaml.YAMLError, ValueError) as err:
            reason = str(err).splitlines()[0]
            raise ConfigError([(".".join(path), f"{key} is not a YAML value: {reason}")]) from None
    return merged
