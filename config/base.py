"""The base of every config model: frozen, strict, unknown fields rejected, content-hashed."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from core.errors import SpreadwrightError


class FrozenModel(BaseModel):
    """Frozen, keyword-only, strict; `config_id` is a content hash usable as a cache key."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, validate_default=True)

    @property
    def config_id(self) -> str:
        """First 16 hex digits of SHA-256 over the canonical JSON of every field."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def rule_error(field: str, reason: str) -> PydanticCustomError:
    """An error for a rule between fields, reported at `<model path>.<field>` by ConfigError."""
    return PydanticCustomError("field_rule", "{field}: {reason}", {"field": field, "reason": reason})


class ConfigError(SpreadwrightError, ValueError):
    """A config that failed to load; `problems` is a list of (field path, reason)."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "") -> None:
        self.problems = problems
        self.source = source
        head = f"invalid config {source}".rstrip() + ":"
        super().__init__("\n".join([head] + [f"  {path}: {reason}" for path, reason in problems]))

    @classmethod
    def from_validation(cls, error: ValidationError, source: str = "") -> ConfigError:
        problems = []
        for item in error.errors(include_url=False):
            loc = [str(part) for part in item["loc"]]
            reason = item["msg"]
            if item["type"] == "field_rule":
                loc.append(item["ctx"]["field"])
                reason = item["ctx"]["reason"]
            elif item["type"] == "extra_forbidden":
                reason = "unknown field"
            problems.append((".".join(loc) or "<root>", reason))
        return cls(problems, source)
