"""Every runtime handles a handler that raises the same way: recorded with the component's name, logged, and
the other deliveries go on (actors.runtime.protocol)."""

from __future__ import annotations

import asyncio

import pytest

from actors.runtime.asyncio_runtime import AsyncioRuntime
from actors.runtime.component import Component
from actors.runtime.inline import InlineRuntime
from actors.runtime.protocol import HandlerFailure


class Sender(Component):
    def __init__(self) -> None:
        super().__init__("sender")

    def on_start(self, now_ns: int) -> None:
        for value in range(4):
            self.port.send("fragile", value)
            self.port.send("steady", value)


class Fragile(Component):
    def __init__(self) -> None:
        super().__init__("fragile")
        self.seen: list[int] = []

    def on_message(self, message: int, now_ns: int) -> None:
        if message == 1:
            raise ValueError("cannot take 1")
        self.seen.append(message)


class Steady(Component):
    def __init__(self) -> None:
        super().__init__("steady")
        self.seen: list[int] = []

    def on_message(self, message: int, now_ns: int) -> None:
        self.seen.append(message)


def _topology(runtime) -> tuple[Fragile, Steady]:
    fragile, steady = Fragile(), Steady()
    for component in (Sender(), fragile, steady):
        runtime.add(component)
    return fragile, steady


def _check(runtime, fragile: Fragile, steady: Steady) -> None:
    assert steady.seen == [0, 1, 2, 3]                     # the others go on
    assert fragile.seen == [0, 2, 3]                       # and so does the failing one, with its next message
    (failure,) = runtime.errors
    assert isinstance(failure, HandlerFailure) and failure.component == "fragile"
    assert failure.hook == "on_message" and "cannot take 1" in str(failure.error)


def test_inline_records_goes_on_and_raises_the_first_failure_at_the_end_of_run():
    runtime = InlineRuntime()
    fragile, steady = _topology(runtime)
    with pytest.raises(ValueError, match="cannot take 1"):
        runtime.run()
    _check(runtime, fragile, steady)
    assert runtime.run() == 0                              # a later run does not raise the old failure again


def test_asyncio_records_and_goes_on():
    async def scenario() -> tuple:
        runtime = AsyncioRuntime()
        fragile, steady = _topology(runtime)
        runtime.start()
        for _ in range(20):
            await asyncio.sleep(0)
        return runtime, fragile, steady

    _check(*asyncio.run(scenario()))


def test_a_failing_on_start_is_recorded_like_a_message():
    class Broken(Component):
        def on_start(self, now_ns: int) -> None:
            raise RuntimeError("no start")

    runtime = InlineRuntime()
    runtime.add(Broken("broken"))
    with pytest.raises(RuntimeError, match="no start"):
        runtime.run()
    assert [(f.component, f.hook) for f in runtime.errors] == [("broken", "on_start")]


def test_the_asyncio_runtime_starts_the_others_then_raises_a_failed_start():
    class Broken(Component):
        def on_start(self, now_ns: int) -> None:
            raise RuntimeError("no start")

    class Starts(Component):
        started = False

        def on_start(self, now_ns: int) -> None:
            self.started = True

    async def scenario():
        runtime = AsyncioRuntime()
        runtime.add(Broken("broken"))
        starts = runtime.add(Starts("starts"))
        with pytest.raises(RuntimeError, match="no start"):
            runtime.start()
        return runtime, starts

    runtime, starts = asyncio.run(scenario())
    assert starts.started and [(f.component, f.hook) for f in runtime.errors] == [("broken", "on_start")]


class BatchSender(Component):
    def __init__(self) -> None:
        super().__init__("sender")

    def on_start(self, now_ns: int) -> None:
        self.port.send_all("fragile", (0, 1, 2, 3))
        self.port.send_all("steady", (0, 1, 2, 3))


def test_a_batch_is_delivered_in_order_and_a_failing_message_does_not_stop_it_in_either_runtime():
    async def scenario() -> tuple:
        runtime = AsyncioRuntime()
        fragile, steady = Fragile(), Steady()
        for component in (BatchSender(), fragile, steady):
            runtime.add(component)
        runtime.start()
        for _ in range(20):
            await asyncio.sleep(0)
        return runtime, fragile, steady

    _check(*asyncio.run(scenario()))
    inline = InlineRuntime()
    fragile, steady = Fragile(), Steady()
    for component in (BatchSender(), fragile, steady):
        inline.add(component)
    with pytest.raises(ValueError, match="cannot take 1"):
        inline.run()
    _check(inline, fragile, steady)
