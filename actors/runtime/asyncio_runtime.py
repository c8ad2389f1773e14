"""AsyncioRuntime: components on one asyncio event loop, on the wall clock.

For processes that are servers already (the paper exchange) and for the seed facade: messages
are delivered with `loop.call_soon_threadsafe` (FIFO, so per-sender order holds; a component's
helper thread may send too), timers with `loop.call_later`. With
`check_serializable` each message is pickled on send, as in the other runtimes.
"""

from __future__ import annotations

import asyncio
import pickle
import time
from typing import Any, Hashable

from actors.runtime.component import Component, Port
from actors.runtime.protocol import HandlerFailure, hook_of, record_failure


class AsyncioPort(Port):
    __slots__ = ("_runtime", "_component")

    def __init__(self, runtime: AsyncioRuntime, component: Component) -> None:
        self._runtime = runtime
        self._component = component

    def send(self, receiver: str, message: Any) -> None:
        target = self._runtime.components.get(receiver)
        if target is None:
            raise KeyError(f"{self._component.name} sent to {receiver!r}, which is not a component here")
        if self._runtime.check_serializable:
            message = pickle.loads(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        self._runtime.loop.call_soon_threadsafe(self._runtime._deliver, target.on_message, message)

    def schedule(self, delay_ns: int, tag: Hashable) -> None:
        if delay_ns < 0:
            raise ValueError(f"delay_ns must be >= 0, got {delay_ns}")
        self._runtime.loop.call_later(delay_ns / 1e9, self._runtime._deliver, self._component.on_timer, tag)

    def now_ns(self) -> int:
        return time.time_ns()


class AsyncioRuntime:
    """Create inside a running loop (or pass one); `start()` calls every component's on_start."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, check_serializable: bool = False) -> None:
        self.loop = loop or asyncio.get_running_loop()
        self.check_serializable = check_serializable
        self.components: dict[str, Component] = {}
        self.errors: list[HandlerFailure] = []

    def add(self, component: Component) -> Component:
        if component.name in self.components:
            raise ValueError(f"a component named {component.name!r} is already added")
        self.components[component.name] = component
        component.bind(AsyncioPort(self, component))
        return component

    def start(self) -> None:
        """Start every component; one whose `on_start` raises is recorded and logged like any handler, the others
        still start, and `start()` then raises the first such failure (a facade must not report a dead component
        as started)."""
        failed_before = len(self.errors)
        for component in list(self.components.values()):
            try:
                component.on_start(time.time_ns())
            except Exception as err:  # noqa: BLE001 - recorded and logged, re-raised below
                record_failure(self.errors, component.name, "on_start", err)
        if len(self.errors) > failed_before:
            raise self.errors[failed_before].error

    def tell(self, receiver: str, message: Any) -> None:
        """Deliver `message` to `receiver` from any thread (a supervisor outside the loop), like a send."""
        target = self.components[receiver]
        self.loop.call_soon_threadsafe(self._deliver, target.on_message, message)

    def _deliver(self, handler, payload) -> None:
        try:
            handler(payload, time.time_ns())
        except Exception as err:   # noqa: BLE001 - recorded and logged; one bad message must not stop the loop
            record_failure(self.errors, *hook_of(handler), err)

    def stop(self) -> None:
        for component in self.components.values():
            component.on_stop(time.time_ns())
