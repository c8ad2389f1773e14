"""structlog, configured once per process: JSON lines in sessions, readable output on a terminal.

Context bound with `bind_session` (session) and carried by `Component.log`
(component, plus what the component adds, e.g. symbol and expiration) appears on
every line. Components log through `Component.log`; nothing here reads a clock
except structlog's own timestamper.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import IO, Any

import structlog

from config.runtime import LoggingConfig

_configured: dict[str, Any] = {}


class _CurrentStderr:
    """Writes to whatever sys.stderr is at the time (test captures and redirections come and go)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(config: LoggingConfig | None = None, *, stream: IO[str] | None = None,
                      force: bool = False) -> str:
    """Configure structlog for this process; returns the format chosen ('json' or 'console')."""
    config = config or LoggingConfig()
    stream = stream or _CurrentStderr()
    if _configured and not force:
        return _configured["format"]
    fmt = config.format
    if fmt == "auto":
        fmt = "console" if getattr(stream, "isatty", lambda: False)() else "json"
    renderer = (structlog.processors.JSONRenderer(sort_keys=True) if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(config.level)),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    _configured.update(format=fmt, level=config.level)
    return fmt


def bind_session(session: str, **context: Any) -> None:
    """Put `session` (and any other key) on every line logged from this process and context."""
    structlog.contextvars.bind_contextvars(session=session, **context)


_SECRET_KEYS = re.compile(r"(api_?key|token|secret|password|authorization|credential)", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)\S+")


def redact_secrets(_, __, event: dict[str, Any]) -> dict[str, Any]:
    """No secret reaches a log line: values under secret-looking keys are replaced, bearer tokens cut."""
    for key, value in event.items():
        if _SECRET_KEYS.search(key):
            event[key] = "[redacted]"
        elif isinstance(value, str) and "Bearer " in value:
            event[key] = _BEARER.sub(r"\1[redacted]", value)
    return event


def get_logger(**context: Any) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger().bind(**context)


def configuration_key() -> tuple[int, int, int]:
    """Changes whenever structlog is reconfigured (processors, level, output): a logger bound
    before that must be bound again (`Component.log` caches its logger on this key). Ids are safe
    here: a cached logger holds its configuration's processors list, so no new list can take its id."""
    config = structlog.get_config()
    return id(config["processors"]), id(config["wrapper_class"]), id(config["logger_factory"])
