"""The inside of a component actor: `ComponentHost` runs one component, or a few co-hosted ones.

Co-hosting (RuntimeConfig.co_host) puts components that talk on a latency-critical path in one
actor, so a message between them is a method call on the actor's thread instead of a Ray call
through another actor's mailbox. The order gateway, the butterfly router and the broker bridge are
co-hosted by default, so a fly's second vertical reaches the broker adapter in a few milliseconds at
p99 after the first one's fill, instead of waiting in two mailboxes.

Rules that keep co-hosted components as isolated as separate actors:
- a message between co-hosted components is queued and delivered after the current handler
  returns (never re-entrantly), in the order sent;
- a message sent from another thread (a broker bridge's io thread, the timer thread) goes
  through the actor's own mailbox, so component code still runs on the actor's thread only;
- a component's exception never drops the messages queued behind it: every queued message is
  delivered, each failure is logged with its component, and the first is re-raised to Ray.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections import deque
from typing import Any, Callable, Hashable

import ray

from actors.runtime.component import Component, Port
from actors.runtime.logs import bind_session, configure_logging, get_logger
from actors.runtime.protocol import HandlerFailure, record_failure
from actors.runtime.telemetry import Telemetry
from config.runtime import LoggingConfig

_FIRST_CALL_WAIT_S = 0.5
"""How long a restarted actor waits for a first call before it asks itself to start (see `_start_once_alive`):
Ray told a restarted process that its actor was alive ~20 ms after the constructor returned, on a loaded machine;
an order path that no trader calls (they wait for its bridge's chains) starts this much later."""


class _TimerThread:
    """One daemon thread per host: waits for the earliest deadline, then posts the timer to the actor."""

    def __init__(self, fire: Callable[[str, Hashable], None]) -> None:
        self._fire = fire
        self._heap: list[tuple[float, int, str, Hashable]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        threading.Thread(target=self._loop, name="spreadwright-timers", daemon=True).start()

    def add(self, delay_ns: int, owner: str, tag: Hashable) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay_ns / 1e9, next(self._seq), owner, tag))
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cond.wait(None if not self._heap else self._heap[0][0] - time.monotonic())
                if self._stopped:
                    return
                _, _, owner, tag = heapq.heappop(self._heap)
            self._fire(owner, tag)


class RayPort(Port):
    """A component's port inside its host: co-hosted receivers get a local delivery, others a Ray call
    to the actor that hosts them (`placement` names it when it is not the receiver's own name)."""

    def __init__(self, host: ComponentHost, owner: str, namespace: str, placement: dict[str, str]) -> None:
        self._host = host
        self._owner = owner
        self._namespace = namespace
        self._placement = placement
        self._handles: dict[str, Any] = {}

    def send(self, receiver: str, message: Any) -> None:
        if receiver in self._host.components:
            self._host.post(receiver, message)
            return
        handle = self._handles.get(receiver)
        if handle is None:
            actor_name = self._placement.get(receiver, receiver)
            try:
                handle = self._handles[receiver] = ray.get_actor(actor_name, namespace=self._namespace)
            except ValueError as err:
                # the receiver's actor is gone (stopped, or never started): said loudly, but the sender carries
                # on, as it would with a cached handle of a dead actor; a bridge cancelling every working order
                # at shutdown must not stop halfway because a stopped trader cannot be told
                get_logger(component=self._owner).error("receiver_not_found", receiver=receiver,
                                                        message=type(message).__name__, error=str(err))
                return
        handle.deliver.remote(receiver, message)

    def forget(self, receivers: list[str]) -> None:
        """Drop the cached handles of `receivers`: their actor was replaced (a new actor under the same name), and
        a message sent through the old handle would be lost without a word."""
        for receiver in receivers:
            self._handles.pop(receiver, None)

    def schedule(self, delay_ns: int, tag: Hashable) -> None:
        if delay_ns < 0:
            raise ValueError(f"delay_ns must be >= 0, got {delay_ns}")
        self._host.timers.add(delay_ns, self._owner, tag)

    def now_ns(self) -> int:
        return time.time_ns()


class RayMetricsSink:
    """Catalog metrics through `ray.util.metrics`, created on first use in this actor process.

    Ray's metrics agent exports them on `--metrics-export-port` with a `ray_` prefix (and worker,
    node and session labels); the scrape config in deploy/prometheus strips the prefix, so queries
    use the catalog's names for both sinks.
    """

    GAUGE_REFRESH_S = 5.0      # Ray drops a gauge from its export ~20 s after the last set: re-set them

    def __init__(self) -> None:
        self._metrics: dict[str, Any] = {}
        self._gauges: dict[tuple[str, tuple[str, ...]], tuple[Any, dict, float]] = {}
        self._refresher: threading.Thread | None = None
        self._lock = threading.Lock()

    def emit(self, spec, value: float, labels: tuple[str, ...]) -> None:
        metric = self._metrics.get(spec.name) or self._create(spec)
        tags = dict(zip(spec.labels, labels))
        if spec.kind == "gauge":
            with self._lock:
                self._gauges[(spec.name, labels)] = (metric, tags, value)
            if self._refresher is None:
                self._refresher = threading.Thread(target=self._refresh, name="gauge-refresh", daemon=True)
                self._refresher.start()
        if spec.kind == "counter" and value == 0:
            metric._record(0.0, tags=tags)      # Counter.inc refuses 0; a zero series says "none so far"
        elif spec.kind == "counter":
            metric.inc(value, tags=tags)
        elif spec.kind == "gauge":
            metric.set(value, tags=tags)
        else:
            metric.observe(value, tags=tags)

    def _refresh(self) -> None:
        """Re-set every gauge to its last value, so a value that does not change stays exported."""
        while True:
            time.sleep(self.GAUGE_REFRESH_S)
            with self._lock:
                gauges = list(self._gauges.values())
            for metric, tags, value in gauges:
                metric.set(value, tags=tags)

    def _create(self, spec):
        from ray.util.metrics import Counter, Gauge, Histogram

        if spec.kind == "counter":
            metric = Counter(spec.name, spec.help, tag_keys=spec.labels)
        elif spec.kind == "gauge":
            metric = Gauge(spec.name, spec.help, tag_keys=spec.labels)
        else:
            metric = Histogram(spec.name, spec.help, boundaries=list(spec.buckets), tag_keys=spec.labels)
        self._metrics[spec.name] = metric
        return metric


class ComponentHost:
    """The body of every component actor. Restarted by Ray with the same (unstarted) components.

    `placement`: component name -> actor name, for every component hosted under another name
    (the co-hosted ones); anything not listed lives in an actor of its own name.
    """

    def __init__(self, components: list[Component], namespace: str, placement: dict[str, str],
                 logging: LoggingConfig | None = None, session: str | None = None, metrics: bool = False) -> None:
        if logging is not None:
            configure_logging(logging, force=True)
        if session is not None:
            bind_session(session)
        self.components = {c.name: c for c in components}
        self._stopped: set[str] = set()
        self.errors: list[HandlerFailure] = []
        self._local: deque[tuple[str, Any]] = deque()
        self._dispatch_thread: int | None = None
        context = ray.get_runtime_context()
        self._self_handle = context.current_actor
        self.timers = _TimerThread(lambda owner, tag: self._self_handle.fire_timer.remote(owner, tag))
        telemetry = Telemetry(RayMetricsSink()) if metrics else None
        for component in components:
            if telemetry is not None:
                component.telemetry = telemetry
            component.bind(RayPort(self, component.name, namespace, placement))
        self.restarted = bool(context.was_current_actor_reconstructed)
        self._held: list[tuple[str, Callable[[Component], None]]] | None = None
        self._started = threading.Event()            # a restarted actor's components have started
        if self.restarted:          # Ray rebuilt us after a crash: start again, rebuilding state from the ledger
            for component in components:
                component.telemetry.count("spreadwright_actor_restarts_total", component=component.name)
            self._held = []
            threading.Thread(target=self._start_once_alive, name="spreadwright-restart", daemon=True).start()

    def _start_once_alive(self) -> None:
        """Start a restarted actor that no call reaches (any call starts it: `_dispatch`): after
        `_FIRST_CALL_WAIT_S` without one, ask this actor to `start_after_restart` until it has started.

        Not at once: a call to itself made before Ray has told this process that the actor is alive again fails
        ("The actor is restarting"), and then Ray holds every later call this process makes to the actor (a
        co-hosted bridge's chains and broker records, every timer) until it stops waiting for the failed one
        (`actor_scheduling_queue_max_reorder_wait_seconds`): the gate of a restarted order path had no quotes for
        20 s under load and denied a fly's resumed exit. Retried: one failed call would leave the components
        unstarted and every message held for ever."""
        if self._started.wait(_FIRST_CALL_WAIT_S):
            return
        delay_s = 0.2
        while self._held is not None:
            try:
                ray.get(self._self_handle.start_after_restart.remote(), timeout=60.0)
            except Exception as err:  # noqa: BLE001 - failed by Ray before it ran, or timed out: ask again
                get_logger(component="+".join(self.components)).warning("restart_start_call_failed",
                                                                        error=f"{type(err).__name__}: {err}"[:300])
                time.sleep(delay_s)
                delay_s = min(delay_s * 2, 2.0)

    def start_after_restart(self) -> None:
        """Start the components of a restarted actor, then deliver what came for them meanwhile, in order.

        Not from the constructor: Ray fails a call to an actor whose constructor is still running (retries are
        off on an order path), so answers to what a component asks at start (its ledger replay) were lost and
        it waited for its retry; a call queued to ourselves runs once the actor is alive."""
        if self._held is None:
            return                                   # already started (a stop came first and started it)
        started_s = time.monotonic()
        try:
            self.start()                             # a component whose on_start fails is recorded and logged
        finally:
            held, self._held = self._held or [], None
            self._started.set()
            get_logger(component="+".join(self.components)).info(
                "actor_restarted", process_age_s=round(_process_age_s(), 3),
                start_s=round(time.monotonic() - started_s, 3), held_messages=len(held))
            self._dispatch_all(held)                 # never left holding: what came meanwhile is delivered

    # ------------------------------------------------------------------ delivery

    def post(self, receiver: str, message: Any) -> None:
        """A message for a co-hosted component: queued when sent from a handler, else through the mailbox."""
        if self._dispatch_thread == threading.get_ident():
            self._local.append((receiver, message))
        else:
            self._self_handle.deliver.remote(receiver, message)

    def deliver(self, receiver: str, message: Any) -> None:
        self._dispatch(receiver, lambda c: c.on_message(message, time.time_ns()))

    def fire_timer(self, owner: str, tag: Hashable) -> None:
        self._dispatch(owner, lambda c: c.on_timer(tag, time.time_ns()))

    def _dispatch(self, name: str, call: Callable[[Component], None]) -> None:
        """Run `call` on the component, then every co-hosted delivery it caused, in order; held until a restarted
        actor has started its components (`start_after_restart`)."""
        if self._held is not None:
            self._held.append((name, call))
            self.start_after_restart()      # a call runs, so the constructor has returned: start now, deliver in order
            return
        self._dispatch_all([(name, call)])

    def _dispatch_all(self, calls: list[tuple[str, Callable[[Component], None]]]) -> None:
        """Run every call, then every co-hosted delivery they caused, in order (so all members are started
        before any of them sees a message from another)."""
        errors: list[Exception] = []
        self._dispatch_thread = threading.get_ident()
        try:
            for name, call in calls:
                self._guarded(name, call, errors)
            while self._local:
                receiver, message = self._local.popleft()
                self._guarded(receiver, lambda c, m=message: c.on_message(m, time.time_ns()), errors)
        finally:
            self._dispatch_thread = None
        if errors:
            raise errors[0]

    def _guarded(self, name: str, call: Callable[[Component], None], errors: list[Exception]) -> None:
        component = self.components.get(name)
        if component is None:
            raise KeyError(f"{name!r} is not hosted here (hosted: {sorted(self.components)})")
        if name in self._stopped:
            get_logger(component=name).debug("delivery_after_stop_dropped")
            return
        try:
            call(component)
        except Exception as err:  # noqa: BLE001 - recorded and logged here; the first is re-raised by _dispatch
            record_failure(self.errors, name, "handler", err)
            errors.append(err)

    # ------------------------------------------------------------------ lifecycle and inspection

    def forget_receivers(self, receivers: list[str]) -> None:
        """Every hosted component's port drops its handles of `receivers` (`RayRuntime.recreate` replaced them)."""
        for component in self.components.values():
            component.port.forget(receivers)

    def ready(self) -> tuple[str, ...]:
        """The names of the components hosted here that are not stopped (the health probe)."""
        return tuple(name for name in self.components if name not in self._stopped)

    def pid(self) -> int:
        """The worker process id, so fault tests can SIGKILL it."""
        return os.getpid()

    def node_id(self) -> str:
        """Ray's id of the node this actor runs on, so fault tests can kill that node."""
        return ray.get_runtime_context().get_node_id()

    def worker_id(self) -> str:
        """Ray's id of this worker: the `WorkerId` label on the metrics this actor exports."""
        return ray.get_runtime_context().get_worker_id()

    def was_restarted(self) -> bool:
        return self.restarted

    def start(self) -> None:
        """Start every hosted component; messages they send each other at start are delivered after all
        started (the gateway reconciles with the bridge from its `on_start`)."""
        self._dispatch_all([(name, lambda c: c.on_start(time.time_ns())) for name in self.components])

    def snapshot(self, name: str) -> dict[str, Any]:
        return self.components[name].snapshot()

    def stop(self, names: list[str] | None = None) -> dict[str, str]:
        """Stop the named components (all by default); returns {name: error} for an `on_stop` that raised
        (each is stopped all the same). The timer thread stops with the last component."""
        failures: dict[str, str] = {}
        if self._held is not None:                   # restarted, not started yet: start first, so on_stop has work
            try:
                self.start_after_restart()
            except Exception as err:  # noqa: BLE001 - recorded with the component; the stop goes on
                failures["restart"] = f"{type(err).__name__}: {err}"
        for name in names if names is not None else list(self.components):
            if name in self._stopped:
                continue
            try:
                self._dispatch(name, lambda c: c.on_stop(time.time_ns()))
            except Exception as err:  # noqa: BLE001 - returned to the runtime, which reports it
                failures[name] = f"{type(err).__name__}: {err}"
            self._stopped.add(name)
        if self._stopped >= self.components.keys():
            self.timers.stop()
        return failures


def _process_age_s() -> float:
    """Seconds since this worker process started (from /proc; NaN where there is none): how much of an actor's
    restart was the process itself (imports, unpickling its components) before its constructor ran."""
    try:
        with open(f"/proc/{os.getpid()}/stat") as stat:
            start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as uptime:
            up_s = float(uptime.read().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")
    return up_s - start_ticks / os.sysconf("SC_CLK_TCK")
