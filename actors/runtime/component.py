"""The contract between a component and the runtime that hosts it.

A component never imports ray, never reads a clock and never sleeps: the runtime
hands it the time with every callback and gives it a `Port` to send messages and
set timers. The same instance runs inline (virtual clock) or inside a Ray actor.
"""

from __future__ import annotations

from typing import Any, Hashable, Protocol

from actors.runtime.logs import configuration_key, get_logger
from actors.runtime.telemetry import NULL_TELEMETRY


class Port(Protocol):
    """What a component may ask of its runtime. A port may subclass it for `send_all`'s default; the other
    methods it must write (they raise here, so a missing one fails loudly)."""

    __slots__ = ()

    def send(self, receiver: str, message: Any) -> None:
        """Deliver `message` to the component named `receiver`, later (fire and forget)."""
        raise NotImplementedError

    def send_all(self, receiver: str, messages: tuple[Any, ...]) -> None:
        """Deliver `messages`, sent at one instant, to `receiver` in order: as `send` of each (this default, for
        ports that subclass `Port`), except that a runtime with simulated delays delivers them together after one
        delay (one tick's chains, one packet)."""
        for message in messages:
            self.send(receiver, message)

    def schedule(self, delay_ns: int, tag: Hashable) -> None:
        """Call this component's `on_timer(tag, now_ns)` after `delay_ns` nanoseconds."""
        raise NotImplementedError

    def now_ns(self) -> int:
        """The runtime's clock, in nanoseconds since the Unix epoch (virtual in backtests)."""
        raise NotImplementedError


class Component:
    """Base class of every trading component. Subclasses override the `on_*` hooks.

    `telemetry` is the metrics facade (`actors.runtime.telemetry`); the runtime sets it, disabled by default.
    """

    telemetry = NULL_TELEMETRY

    def __init__(self, name: str) -> None:
        if not name or "->" in name:
            raise ValueError(f"component name {name!r} must be non-empty and must not contain '->'")
        self.name = name
        self.port: Port | None = None

    def bind(self, port: Port) -> None:
        self.port = port

    def log_context(self) -> dict[str, Any]:
        """Keys put on every log line of this component; subclasses add symbol, expiration, ..."""
        return {"component": self.name}

    @property
    def log(self):
        """A structlog logger bound to `log_context()`: bound again only when the context or structlog's
        configuration changed (binding costs ~30 us, a tenth of an order's path in a backtest); never
        pickled, so components stay picklable."""
        context, key = self.log_context(), configuration_key()
        cached = self.__dict__.get("_bound_log")
        if cached is None or cached[0] != key or cached[1] != context:
            cached = self.__dict__["_bound_log"] = (key, context, get_logger(**context))
        return cached[2]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_bound_log", None)
        return state

    def on_start(self, now_ns: int) -> None:
        """Called once before any message."""

    def on_message(self, message: Any, now_ns: int) -> None:
        raise NotImplementedError(f"{type(self).__name__} handles no messages")

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        """A timer set with `port.schedule` has fired."""

    def on_stop(self, now_ns: int) -> None:
        """Called once when the runtime stops; release what you hold."""

    def snapshot(self) -> dict[str, Any]:
        """Plain, picklable state for status pages and tests."""
        return {}
