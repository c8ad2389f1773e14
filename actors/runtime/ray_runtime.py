"""RayRuntime: components hosted by named Ray actors, on the wall clock.

All Ray calls of the project's components go through this module and `actors.runtime.ray_host`: the
actor host (`ComponentHost`), the one factory applying `ray.remote` options (`actor_options`),
and `RayRuntime`, the driver-side wrapper. Messages are fire-and-forget actor calls; hosts are
synchronous single-threaded actors, so calls from one sender run in order. Each component has
an actor of its own, except the groups `RuntimeConfig.co_host` names, which share one actor
(named after its members joined by '+') and reach each other without a Ray call.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import ray
from ray.exceptions import GetTimeoutError

from actors import names
from actors.runtime.component import Component
from actors.runtime.logs import get_logger
from actors.runtime.ray_host import ComponentHost, RayMetricsSink
from config.runtime import LoggingConfig, RuntimeConfig

__all__ = ["RayRuntime", "RayMetricsSink", "actor_options"]


def actor_options(config: RuntimeConfig, name: str, members: tuple[str, ...] = ()) -> dict[str, Any]:
    """The one place Ray actor options are decided, for the actor `name` hosting the components `members`.

    max_task_retries=0: a retried method may already have reached a broker (a duplicate
    order); restarts rebuild state instead. max_concurrency=1 keeps per-sender ordering.
    resources: the most of each custom resource its members ask for (`RuntimeConfig.actor_resources`).
    """
    options = {"name": name, "namespace": config.ray_namespace, "max_restarts": config.max_restarts,
               "max_task_retries": 0, "max_concurrency": 1, "num_cpus": 0, "get_if_exists": False}
    resources: dict[str, float] = {}
    for member in ("*", *(members or (name,))):
        for resource, amount in config.actor_resources.get(member, {}).items():
            resources[resource] = max(amount, resources.get(resource, 0.0))
    if resources:
        options["resources"] = resources
    return options


_RemoteHost = ray.remote(ComponentHost)

INLINE_ARGS_LIMIT_BYTES = 90 * 1024
"""Ray's default `max_direct_call_object_size` (100 KiB) less room for its own framing: larger arguments of an
actor's constructor go to the object store, and a restarted actor found them deleted there ("The object has
already been deleted by the reference counting protocol") and never started again: a trader whose calendar
travelled as 190 KB of arrays did so."""


class ActorArgumentsTooLargeError(ValueError):
    """An actor's components pickle larger than Ray keeps for its restarts."""


def check_restartable(actor_name: str, components: list[Component]) -> None:
    """Refuse to start an actor Ray could not restart: its components must pickle within INLINE_ARGS_LIMIT_BYTES."""
    size = len(ray.cloudpickle.dumps(components))
    if size > INLINE_ARGS_LIMIT_BYTES:
        each = ", ".join(f"{c.name} {len(ray.cloudpickle.dumps(c)):,} B" for c in components)
        raise ActorArgumentsTooLargeError(
            f"actor {actor_name}: its components pickle to {size:,} bytes ({each}), above {INLINE_ARGS_LIMIT_BYTES:,} "
            "(Ray's inline limit of 100 KiB less a margin): after a crash Ray could not give them back to restart "
            "it; keep large tables out of a component's pickled state (rebuild them, or pack them as core.calendar "
            "does)")


class RayRuntime:
    """Driver-side wrapper: starts the actors hosting the components and talks to them; needs `ray.init` done.

    Every method takes component names; a co-hosted component is reached through its group's actor,
    and a restart of one member restarts the group (they share a process).
    """

    def __init__(self, config: RuntimeConfig | None = None, logging: LoggingConfig | None = None,
                 session: str | None = None, metrics: bool = False) -> None:
        """`logging` and `session` are applied in every actor process, so actor logs look like the driver's;
        with `metrics`, components emit through `ray.util.metrics` (Ray's metrics agent exports them)."""
        self.config = config or RuntimeConfig(kind="ray")
        self.logging, self.session, self.metrics = logging, session, metrics
        self._handles: dict[str, Any] = {}               # component name -> its host's handle
        self._actor_of: dict[str, str] = {}              # component name -> actor name
        self._members: dict[str, list[str]] = {}         # actor name -> hosted component names
        self._pending: list[Component] = []
        self._components: dict[str, Component] = {}     # the unstarted originals, to recreate an actor from

    def add(self, component: Component) -> Component:
        """Queue a component; it gets an actor at `start()` (an actor of its own when added after start)."""
        if component.name in self._handles or any(c.name == component.name for c in self._pending):
            raise ValueError(f"a component named {component.name!r} is already added")
        self._pending.append(component)
        return component

    def start(self, timeout_s: float | None = None) -> None:
        """Create every queued actor, wait until all answer (`RuntimeConfig.start_timeout_s` unless given), then
        start them together."""
        timeout_s = self.config.start_timeout_s if timeout_s is None else timeout_s
        actor_names = []
        for members in self._groups(self._pending):
            actor_name = "+".join(c.name for c in members)
            actor_names.append(actor_name)
            self._members[actor_name] = [c.name for c in members]
            for component in members:
                self._components[component.name] = component
                self._actor_of[component.name] = actor_name
        self._pending.clear()
        created = [self._create(actor_name) for actor_name in actor_names]
        ray.get([h.ready.remote() for h in created], timeout=timeout_s)
        ray.get([h.start.remote() for h in created], timeout=timeout_s)

    def _groups(self, components: list[Component]) -> list[list[Component]]:
        """The configured co-host groups among `components` (members present now), then one per component."""
        by_name = {c.name: c for c in components}
        groups, grouped = [], set()
        configured = self.config.co_host
        for group in names.ORDER_PATH_GROUP if configured is None else configured:
            members = [by_name[n] for n in group if n in by_name]
            if len(members) > 1:
                groups.append(members)
                grouped.update(c.name for c in members)
        return groups + [[c] for c in components if c.name not in grouped]

    def _create(self, actor_name: str) -> Any:
        members = [self._components[name] for name in self._members[actor_name]]
        placement = {name: actor for name, actor in self._actor_of.items() if actor != name}     # the co-hosted
        options = actor_options(self.config, actor_name, tuple(self._members[actor_name]))
        if options.get("max_restarts", 0) != 0:
            check_restartable(actor_name, members)
        handle = _RemoteHost.options(**options).remote(
            members, self.config.ray_namespace, placement, self.logging, self.session, self.metrics)
        for name in self._members[actor_name]:
            self._handles[name] = handle
        return handle

    def handle(self, name: str) -> Any:
        """The handle of the actor hosting component `name` (shared by a co-host group)."""
        return self._handles[name]

    def co_hosted_with(self, name: str) -> list[str]:
        """Every component in the actor that hosts `name` (itself included)."""
        return list(self._members[self._actor_of[name]])

    def names(self) -> list[str]:
        return list(self._handles)

    def send(self, name: str, message: Any) -> None:
        """Deliver `message` to a component from the driver (fire and forget)."""
        self._handles[name].deliver.remote(name, message)

    def ping_all(self, timeout_s: float = 1.0) -> dict[str, bool]:
        """Which components answered within `timeout_s` (never blocks longer): the supervisor's health probe.
        One ping per actor; a co-hosted component answers when its actor lists it as running."""
        live = {self._actor_of[name]: handle for name, handle in self._handles.items()}
        refs = {actor: handle.ready.remote() for actor, handle in live.items()}
        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout_s)
        ready_set = set(ready)
        running: dict[str, tuple[str, ...]] = {}
        for actor, ref in refs.items():
            try:
                running[actor] = ray.get(ref, timeout=0) if ref in ready_set else ()
            except Exception:  # noqa: BLE001 - a dead actor's ping raises: that is the answer "no"
                running[actor] = ()
        return {name: name in running[self._actor_of[name]] for name in self._handles}

    def recreate(self, name: str, timeout_s: float | None = None) -> list[str]:
        """Replace the dead or stuck actor hosting `name` with a new one built from the original components,
        then start it; returns the names it hosts (all restarted together). It waits as long as a start does
        (`RuntimeConfig.start_timeout_s` unless given): on a loaded machine a new worker process can take more
        than 30 s to import and answer, and a shorter wait killed each replacement before it came up."""
        timeout_s = self.config.start_timeout_s if timeout_s is None else timeout_s
        actor_name = self._actor_of[name]
        try:
            ray.kill(self._handles[name], no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                handle = self._create(actor_name)
                ray.get(handle.ready.remote(), timeout=timeout_s)
                break
            except Exception:  # noqa: BLE001 - the old name may not be released yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        ray.get(handle.start.remote(), timeout=timeout_s)
        self._forget_everywhere(actor_name, self._members[actor_name], timeout_s)
        return list(self._members[actor_name])

    def _forget_everywhere(self, replaced: str, members: list[str], timeout_s: float) -> None:
        """Tell every other actor to drop its handles of the replaced actor's components: a sender keeps the
        handle it looked up once, and after a replacement its messages went to the dead actor (seen: a strangle
        recreated under load never got a quote or its ledger replay again)."""
        others = {self._actor_of[n]: h for n, h in self._handles.items() if self._actor_of[n] != replaced}
        calls = [handle.forget_receivers.remote(list(members)) for handle in others.values()]
        try:
            ray.get(calls, timeout=timeout_s)
        except Exception as err:  # noqa: BLE001 - an actor that cannot answer is being replaced itself
            get_logger(component="ray_runtime").warning("forget_receivers_failed", replaced=replaced,
                                                        error=f"{type(err).__name__}: {err}"[:300])

    def snapshot(self, name: str, timeout_s: float = 10.0) -> dict[str, Any]:
        return ray.get(self._handles[name].snapshot.remote(name), timeout=timeout_s)

    def snapshots(self, timeout_s: float = 10.0) -> dict[str, dict[str, Any]]:
        names = list(self._handles)
        values = ray.get([self._handles[n].snapshot.remote(n) for n in names], timeout=timeout_s)
        return dict(zip(names, values))

    def run_until(self, predicate: Callable[[dict[str, dict]], bool], timeout_s: float = 60.0,
                  poll_s: float = 0.05) -> bool:
        """Poll snapshots until `predicate` holds or `timeout_s` passes; returns whether it held."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if predicate(self.snapshots(timeout_s=max(1.0, deadline - time.monotonic()))):
                    return True
            except GetTimeoutError:            # an actor too busy to answer yet: not done, ask again
                continue
            time.sleep(poll_s)
        return False

    def stop(self, timeout_s: float = 10.0, names: list[str] | None = None) -> dict[str, str]:
        """Stop the named components (all by default); an actor is killed once all it hosts are stopped, so
        its name is free again.

        Returns {name: error} for components whose `on_stop` did not complete (also logged);
        their actors are killed all the same.
        """
        chosen = names if names is not None else list(self._handles)
        by_actor: dict[str, list[str]] = {}
        for name in chosen:
            by_actor.setdefault(self._actor_of[name], []).append(name)
        calls = {actor: self._handles[members[0]].stop.remote(members) for actor, members in by_actor.items()}
        failures: dict[str, str] = {}
        for actor, ref in calls.items():
            try:
                failures.update(ray.get(ref, timeout=timeout_s))
            except Exception as err:  # noqa: BLE001 - reported to the caller and logged, never hidden
                failures.update({name: f"{type(err).__name__}: {err}" for name in by_actor[actor]})
        for name, error in failures.items():
            get_logger(component=name).warning("component_stop_failed", error=error)
        for actor, members in by_actor.items():
            handle = self._handles[members[0]]
            for name in members:
                del self._handles[name]
            if not any(self._actor_of[n] == actor for n in self._handles):
                ray.kill(handle, no_restart=True)
        return failures


def deliver_to_running(component: str, message: Any, namespace: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """Deliver `message` to `component` of a session already running in `namespace` (found by its actor's name,
    co-hosted or not), wait until it was handled, and return the component's snapshot. LookupError when no
    actor there hosts it. Needs `ray.init` done (the CLI's `halt` and `resume`)."""
    actors = ray.util.list_named_actors(all_namespaces=True)
    hosts = [a["name"] for a in actors if a["namespace"] == namespace and component in a["name"].split("+")]
    if not hosts:
        raise LookupError(f"no running session in Ray namespace {namespace!r} has a {component!r} component")
    handle = ray.get_actor(hosts[0], namespace=namespace)
    ray.get(handle.deliver.remote(component, message), timeout=timeout_s)
    return ray.get(handle.snapshot.remote(component), timeout=timeout_s)
