"""The Runtime protocol: what the inline, asyncio and Ray runtimes all offer, and what a handler failure means.

A handler that raises (`on_start`, `on_message`, `on_timer` of any component) is handled the same way
on every runtime:

1. it is logged once, as `component_handler_failed`, with the component's name and the error;
2. it is kept in the runtime's `errors` (a `HandlerFailure` each, in the order they happened);
3. the other deliveries go on: one bad message never stops the components that did nothing wrong.

Then the caller hears of it: `InlineRuntime.run()` re-raises the first failure of that run once it has
delivered what it could (a backtest with a failing component fails loudly, never with a quiet gap); a Ray
actor's call raises it to whoever awaits that call; the asyncio runtime raises a failed `on_start` from
`start()` and keeps a failed message in `errors` (its loop has no caller to tell). Nothing is retried: an order
path must never send twice.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from actors.runtime.component import Component
from actors.runtime.logs import get_logger


class HandlerFailure(NamedTuple):
    """A handler that raised: which component, in which hook, and the exception."""

    component: str
    hook: str
    error: BaseException


def record_failure(errors: list[HandlerFailure], component: str, hook: str, error: BaseException) -> None:
    """Log a failed handler and keep it (the one place every runtime reports a failure)."""
    errors.append(HandlerFailure(component, hook, error))
    get_logger(component=component).error("component_handler_failed", hook=hook,
                                          error=f"{type(error).__name__}: {error}", exc_info=error)


def hook_of(handler: Any) -> tuple[str, str]:
    """(component name, hook name) of a bound handler such as `trader.on_message`."""
    owner = getattr(handler, "__self__", None)
    return getattr(owner, "name", repr(owner)), getattr(handler, "__name__", "handler")


class Runtime(Protocol):
    """What every runtime offers the kernel and the supervisors."""

    errors: list[HandlerFailure]

    def add(self, component: Component) -> Component:
        """Host `component`; it is started with the others at `start()`. Added after `start()`, the inline runtime
        starts it at once, the asyncio runtime leaves its start to the caller, and the Ray runtime gives it an
        actor only at the next `start()`."""

    def start(self) -> None:
        """Call every hosted component's `on_start`."""

    def stop(self) -> Any:
        """Call every hosted component's `on_stop`."""
