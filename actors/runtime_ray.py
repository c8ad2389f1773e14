"""RayRuntime: each component hosted by its own named Ray actor, on the wall clock.

All Ray calls of the project's components go through this module: the actor host
(`ComponentHost`), the one factory applying `ray.remote` options (`actor_options`),
and `RayRuntime`, the driver-side wrapper. Messages are fire-and-forget actor calls;
hosts are synchronous single-threaded actors, so calls from one sender run in order.
Timers run on one scheduler thread per host that posts `fire_timer` back to its
own actor, so component code still runs on one thread only.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from typing import Any, Callable, Hashable

import ray

from actors.component import Component
from actors.telemetry import Telemetry
from actors.logs import bind_session, configure_logging, get_logger
from config.runtime import LoggingConfig, RuntimeConfig


class _TimerThread:
    """One daemon thread per host: waits for the earliest deadline, then posts the timer to the actor."""

    def __init__(self, fire: Callable[[Hashable], None]) -> None:
        self._fire = fire
        self._heap: list[tuple[float, int, Hashable]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        threading.Thread(target=self._loop, name="spreadwright-timers", daemon=True).start()

    def add(self, delay_ns: int, tag: Hashable) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay_ns / 1e9, next(self._seq), tag))
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
                _, _, tag = heapq.heappop(self._heap)
            self._fire(tag)


class RayPort:
    """A component's port inside its host: resolves receivers by actor name once, then caches the handle."""

    def __init__(self, namespace: str, timers: _TimerThread) -> None:
        self._namespace = namespace
        self._timers = timers
        self._handles: dict[str, Any] = {}

    def send(self, receiver: str, message: Any) -> None:
        handle = self._handles.get(receiver)
        if handle is None:
            handle = self._handles[receiver] = ray.get_actor(receiver, namespace=self._namespace)
        handle.deliver.remote(message)

    def schedule(self, delay_ns: int, tag: Hashable) -> None:
        if delay_ns < 0:
            raise ValueError(f"delay_ns must be >= 0, got {delay_ns}")
        self._timers.add(delay_ns, tag)

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
    """The body of every component actor. Restarted by Ray with the same (unstarted) component."""

    def __init__(self, component: Component, namespace: str, logging: LoggingConfig | None = None,
                 session: str | None = None, metrics: bool = False) -> None:
        if metrics:
            component.telemetry = Telemetry(RayMetricsSink())
        if logging is not None:
            configure_logging(logging, force=True)
        if session is not None:
            bind_session(session)
        self.component = component
        context = ray.get_runtime_context()
        self._self_handle = context.current_actor
        self._timers = _TimerThread(lambda tag: self._self_handle.fire_timer.remote(tag))
        component.bind(RayPort(namespace, self._timers))
        self.restarted = bool(context.was_current_actor_reconstructed)
        if self.restarted:          # Ray rebuilt us after a crash: start again, rebuilding state from the ledger
            component.telemetry.count("spreadwright_actor_restarts_total", component=component.name)
            component.on_start(time.time_ns())

    def ready(self) -> str:
        return self.component.name

    def pid(self) -> int:
        """The worker process id, so fault tests can SIGKILL it."""
        return os.getpid()

    def worker_id(self) -> str:
        """Ray's id of this worker: the `WorkerId` label on the metrics this actor exports."""
        return ray.get_runtime_context().get_worker_id()

    def was_restarted(self) -> bool:
        return self.restarted

    def start(self) -> None:
        self.component.on_start(time.time_ns())

    def deliver(self, message: Any) -> None:
        self.component.on_message(message, time.time_ns())

    def fire_timer(self, tag: Hashable) -> None:
        self.component.on_timer(tag, time.time_ns())

    def snapshot(self) -> dict[str, Any]:
        return self.component.snapshot()

    def stop(self) -> None:
        self._timers.stop()
        self.component.on_stop(time.time_ns())


def actor_options(config: RuntimeConfig, name: str) -> dict[str, Any]:
    """The one place Ray actor options are decided.

    max_task_retries=0: a retried method may already have reached a broker (a duplicate
    order); restarts rebuild state instead. max_concurrency=1 keeps per-sender ordering.
    """
    return {"name": name, "namespace": config.ray_namespace, "max_restarts": config.max_restarts,
            "max_task_retries": 0, "max_concurrency": 1, "num_cpus": 0, "get_if_exists": False}


_RemoteHost = ray.remote(ComponentHost)


class RayRuntime:
    """Driver-side wrapper: starts one actor per component and talks to them; needs `ray.init` done."""

    def __init__(self, config: RuntimeConfig | None = None, logging: LoggingConfig | None = None,
                 session: str | None = None, metrics: bool = False) -> None:
        """`logging` and `session` are applied in every actor process, so actor logs look like the driver's;
        with `metrics`, components emit through `ray.util.metrics` (Ray's metrics agent exports them)."""
        self.config = config or RuntimeConfig(kind="ray")
        self.logging, self.session, self.metrics = logging, session, metrics
        self._handles: dict[str, Any] = {}
        self._pending: list[Component] = []
        self._components: dict[str, Component] = {}     # the unstarted originals, to recreate an actor from

    def add(self, component: Component) -> Component:
        if component.name in self._handles or any(c.name == component.name for c in self._pending):
            raise ValueError(f"a component named {component.name!r} is already added")
        self._pending.append(component)
        return component

    def start(self, timeout_s: float = 60.0) -> None:
        """Create every actor, wait until all answer, then start them together."""
        for component in self._pending:
            self._components[component.name] = component
            self._handles[component.name] = self._create(component)
        self._pending.clear()
        ray.get([h.ready.remote() for h in self._handles.values()], timeout=timeout_s)
        ray.get([h.start.remote() for h in self._handles.values()], timeout=timeout_s)

    def _create(self, component: Component) -> Any:
        options = actor_options(self.config, component.name)
        return _RemoteHost.options(**options).remote(component, self.config.ray_namespace, self.logging, self.session,
                                                      self.metrics)

    def handle(self, name: str) -> Any:
        return self._handles[name]

    def names(self) -> list[str]:
        return list(self._handles)

    def send(self, name: str, message: Any) -> None:
        """Deliver `message` to a component from the driver (fire and forget)."""
        self._handles[name].deliver.remote(message)

    def ping_all(self, timeout_s: float = 1.0) -> dict[str, bool]:
        """Which actors answered within `timeout_s` (never blocks longer): the supervisor's health probe."""
        refs = {name: handle.ready.remote() for name, handle in self._handles.items()}
        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout_s)
        ready_set = set(ready)
        answered = {}
        for name, ref in refs.items():
            try:
                answered[name] = ref in ready_set and ray.get(ref, timeout=0) == name
            except Exception:  # noqa: BLE001 - a dead actor's ping raises: that is the answer "no"
                answered[name] = False
        return answered

    def recreate(self, name: str, timeout_s: float = 30.0) -> None:
        """Replace a dead or stuck actor with a new one built from the original component, then start it."""
        try:
            ray.kill(self._handles[name], no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                handle = self._create(self._components[name])
                ray.get(handle.ready.remote(), timeout=timeout_s)
                break
            except Exception:  # noqa: BLE001 - the old name may not be released yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._handles[name] = handle
        ray.get(handle.start.remote(), timeout=timeout_s)

    def snapshot(self, name: str, timeout_s: float = 10.0) -> dict[str, Any]:
        return ray.get(self._handles[name].snapshot.remote(), timeout=timeout_s)

    def snapshots(self, timeout_s: float = 10.0) -> dict[str, dict[str, Any]]:
        names = list(self._handles)
        values = ray.get([self._handles[n].snapshot.remote() for n in names], timeout=timeout_s)
        return dict(zip(names, values))

    def run_until(self, predicate: Callable[[dict[str, dict]], bool], timeout_s: float = 60.0,
                  poll_s: float = 0.05) -> bool:
        """Poll snapshots until `predicate` holds or `timeout_s` passes; returns whether it held."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self.snapshots()):
                return True
            time.sleep(poll_s)
        return predicate(self.snapshots())

    def stop(self, timeout_s: float = 10.0, names: list[str] | None = None) -> dict[str, str]:
        """Stop the named components (all by default), then kill their actors so the names are free again.

        Returns {name: error} for components whose `on_stop` did not complete (also logged);
        their actors are killed all the same.
        """
        failures: dict[str, str] = {}
        chosen = {n: self._handles[n] for n in (names if names is not None else list(self._handles))}
        calls = {name: handle.stop.remote() for name, handle in chosen.items()}
        for name, ref in calls.items():
            try:
                ray.get(ref, timeout=timeout_s)
            except Exception as err:  # noqa: BLE001 - reported to the caller and logged, never hidden
                failures[name] = f"{type(err).__name__}: {err}"
                get_logger(component=name).warning("component_stop_failed", error=failures[name])
        for name, handle in chosen.items():
            ray.kill(handle, no_restart=True)
            del self._handles[name]
        return failures
