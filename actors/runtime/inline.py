"""InlineRuntime: every component in one process, on a virtual clock, deterministic for a seed.

Events are ordered by (delivery time, order of enqueueing). Zero-delay deliveries
take a FIFO fast path instead of the heap; when the clock advances to t, every heap
entry due at t moves to that FIFO in order, so the total order stays deterministic (an
entry alone at t, most of them, is delivered straight from the heap: the FIFO is empty then).
Messages on one route (sender -> receiver) arrive in the order sent, as over Ray or a TCP
connection: a delay drawn shorter than the previous message's still delivers after it (else a
fill reporting 4 of 4 contracts could overtake the one reporting 3 of 4 and be dropped as stale).
With `check_serializable` every message is pickled and unpickled on send, so a
payload that could not cross a Ray boundary fails here too.

Python's cycle collector is paused while `run` delivers (and restored after, also when a
handler raises): every message is a new tuple, so the collector ran some 500 times a backtest day,
walking the day's growing state (the trades, the ledger's events) for about a tenth of the day's
CPU time, and found nothing: a backtest day makes no reference cycles (a test holds it to that).
Reference counting still frees every message as soon as it is handled.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import pickle
from collections import deque
from typing import Any, Callable, Hashable

from actors import names
from actors.runtime.component import Component
from actors.runtime.latency import make_sampler, route_spec
from actors.runtime.protocol import HandlerFailure, hook_of, record_failure
from config.runtime import RuntimeConfig


class UnknownComponentError(KeyError):
    """A message was addressed to a name no component has."""


class InlinePort:
    """The port of one component: routes [receiver, delay sampler, last due time] are resolved once and cached."""

    __slots__ = ("_runtime", "_sender", "_routes", "_on_timer")

    def __init__(self, runtime: InlineRuntime, component: Component) -> None:
        self._runtime = runtime
        self._sender = component.name
        self._on_timer = component.on_timer
        self._routes: dict[str, list] = {}

    def send(self, receiver: str, message: Any) -> None:
        """Deliver after the route's drawn delay, never before the route's previous message (the
        runtime's FIFO per route); no delay: the ready queue. Written out here, not in a runtime
        method, since every message of a backtest passes through it."""
        route = self._routes.get(receiver)
        runtime = self._runtime
        if route is None:
            route = self._routes[receiver] = runtime._route(self._sender, receiver)
        if runtime.check_serializable:
            message = pickle.loads(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        handler, sampler, last_due, _ = route
        if sampler is None:
            runtime._ready.append((handler, message))
            return
        due = runtime.now_ns + sampler()
        if due < last_due:
            due = last_due                 # FIFO per route: never overtake the previous message
        route[2] = due
        heapq.heappush(runtime._heap, (due, next(runtime._seq), handler, message))

    def send_all(self, receiver: str, messages: tuple[Any, ...]) -> None:
        """`messages` to one receiver in one delivery: one delay drawn and one event, not one each (a tick's
        chains to the exchange or the risk gate are most of a backtest's messages); handled in order, and one
        that raises is recorded without stopping the rest."""
        if len(messages) == 1:
            self.send(receiver, messages[0])
            return
        if not messages:
            return
        route = self._routes.get(receiver)
        runtime = self._runtime
        if route is None:
            route = self._routes[receiver] = runtime._route(self._sender, receiver)
        if runtime.check_serializable:
            messages = pickle.loads(pickle.dumps(messages, protocol=pickle.HIGHEST_PROTOCOL))
        handler, sampler, last_due, deliver_all = route
        if deliver_all is None:
            deliver_all = route[3] = runtime._deliver_all(receiver, handler)
        if sampler is None:
            runtime._ready.append((deliver_all, messages))
            return
        due = runtime.now_ns + sampler()
        if due < last_due:
            due = last_due
        route[2] = due
        heapq.heappush(runtime._heap, (due, next(runtime._seq), deliver_all, messages))

    def schedule(self, delay_ns: int, tag: Hashable) -> None:
        runtime = self._runtime
        if delay_ns > 0:
            heapq.heappush(runtime._heap, (runtime.now_ns + delay_ns, next(runtime._seq), self._on_timer, tag))
        elif delay_ns == 0:
            runtime._ready.append((self._on_timer, tag))
        else:
            raise ValueError(f"delay_ns must be >= 0, got {delay_ns}")

    def now_ns(self) -> int:
        return self._runtime.now_ns


class InlineRuntime:
    """Discrete-event runtime. `run()` delivers until nothing is left (or `until_ns`); a handler that raises is
    recorded and the others go on, and `run()` re-raises the first failure at its end (actors.runtime.protocol)."""

    def __init__(self, config: RuntimeConfig | None = None, *, start_ns: int = 0,
                 check_serializable: bool | None = None, telemetry=None) -> None:
        """`telemetry`: the metrics facade every added component emits through (None: disabled)."""
        self.config = config or RuntimeConfig()
        self.telemetry = telemetry
        self.check_serializable = (self.config.check_serializable if check_serializable is None
                                   else check_serializable)
        self.now_ns = start_ns
        self.delivered = 0
        self._components: dict[str, Component] = {}
        self._heap: list[tuple[int, int, Callable, Any]] = []
        self._ready: deque[tuple[Callable, Any]] = deque()
        self._seq = itertools.count()
        self._started = False
        self.errors: list[HandlerFailure] = []

    def add(self, component: Component) -> Component:
        if component.name in self._components:
            raise ValueError(f"a component named {component.name!r} is already added")
        self._components[component.name] = component
        if self.telemetry is not None:
            component.telemetry = self.telemetry
        component.bind(InlinePort(self, component))
        if self._started:
            component.on_start(self.now_ns)
        return component

    def component(self, name: str) -> Component:
        return self._components[name]

    def start(self) -> None:
        self._started = True
        for component in list(self._components.values()):
            try:
                component.on_start(self.now_ns)
            except Exception as err:  # noqa: BLE001 - recorded and logged; run() re-raises it
                record_failure(self.errors, component.name, "on_start", err)

    def _route(self, sender: str, receiver: str) -> list:
        """[the receiver's handler, its delay sampler (None: no delay), the last delivery time on this route, the
        handler of several messages at once (made on first use)]."""
        target = self._components.get(receiver)
        if target is None:
            raise UnknownComponentError(f"{sender} sent to {receiver!r}, which is not a component here")
        host_of_sender, host_of_receiver = names.FRONTS.get(sender, sender), names.FRONTS.get(receiver, receiver)
        if host_of_sender == host_of_receiver and sender != receiver:
            return [target.on_message, None, 0, None]           # one actor: a local call
        stream = f"{host_of_sender}->{host_of_receiver}"
        spec = route_spec(self.config, sender, receiver)
        return [target.on_message, make_sampler(spec, self.config.seed, stream), 0, None]

    def _deliver_all(self, receiver: str, handler: Callable) -> Callable:
        """A handler of a tuple of messages for `receiver`: each in order; one that raises is recorded (as
        `_deliver` records a single message) and the rest are still delivered."""
        errors = self.errors

        def deliver_all(messages: tuple, now_ns: int) -> None:
            for message in messages:
                try:
                    handler(message, now_ns)
                except Exception as err:  # noqa: BLE001 - recorded, logged, and re-raised by run()
                    record_failure(errors, receiver, "on_message", err)
        return deliver_all

    def run(self, until_ns: int | None = None) -> int:
        """Deliver events in order; returns how many were delivered by this call."""
        failed_before = len(self.errors)
        if not self._started:
            self.start()
        collecting = gc.isenabled()
        gc.disable()
        try:
            delivered = self._deliver(until_ns)
        finally:
            if collecting:
                gc.enable()
        if until_ns is not None and until_ns > self.now_ns:
            self.now_ns = until_ns
        self.delivered += delivered
        if len(self.errors) > failed_before:
            raise self.errors[failed_before].error
        return delivered

    def _deliver(self, until_ns: int | None) -> int:
        """Deliver in order until idle (or past `until_ns`); a handler that raises is recorded (see
        `actors.runtime.protocol`) and delivery goes on with the next event."""
        ready, heap = self._ready, self._heap
        popleft, heappop = ready.popleft, heapq.heappop
        delivered = 0
        handler = None
        while True:
            try:
                while True:
                    now = self.now_ns
                    while ready:
                        handler, payload = popleft()
                        delivered += 1
                        handler(payload, now)
                    if not heap or (until_ns is not None and heap[0][0] > until_ns):
                        return delivered
                    entry = heappop(heap)
                    self.now_ns = due = entry[0]
                    if heap and heap[0][0] == due:
                        ready.append((entry[2], entry[3]))
                        while heap and heap[0][0] == due:
                            entry = heappop(heap)
                            ready.append((entry[2], entry[3]))
                    else:                   # alone at its time (most are): no detour through the ready queue
                        handler = entry[2]
                        delivered += 1
                        handler(entry[3], due)
            except Exception as err:  # noqa: BLE001 - recorded, logged, and re-raised by run() after delivery
                record_failure(self.errors, *hook_of(handler), err)

    def run_until(self, predicate: Callable[[dict[str, dict]], bool], timeout_s: float = 0.0) -> bool:
        """Run to idle, then report whether `predicate(snapshots)` holds (the Ray runtime polls instead)."""
        self.run()
        return predicate(self.snapshots())

    def pending(self) -> int:
        return len(self._ready) + len(self._heap)

    def snapshot(self, name: str) -> dict[str, Any]:
        return self._components[name].snapshot()

    def snapshots(self) -> dict[str, dict[str, Any]]:
        return {name: component.snapshot() for name, component in self._components.items()}

    def stop(self) -> None:
        for component in self._components.values():
            component.on_stop(self.now_ns)
        self._started = False
