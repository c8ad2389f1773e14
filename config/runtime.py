"""Settings of the runtimes (inline virtual clock or Ray) and of logging."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.base import FrozenModel, rule_error


class LatencySpec(FrozenModel):
    """Delivery delay of one message route, in microseconds.

    constant: `base_us`; uniform: base_us +- jitter_us; lognormal: median `base_us`, shape `sigma`.
    """

    distribution: Literal["constant", "uniform", "lognormal"] = "constant"
    base_us: float = Field(0.0, ge=0)
    jitter_us: float = Field(0.0, ge=0)
    sigma: float = Field(0.0, ge=0, le=5)

    @model_validator(mode="after")
    def _shape_fits(self) -> LatencySpec:
        if self.distribution == "uniform" and self.jitter_us > self.base_us:
            raise rule_error("jitter_us", "must be <= base_us so no delay is negative")
        if self.distribution == "lognormal" and self.base_us <= 0:
            raise rule_error("base_us", "a lognormal latency needs a median > 0")
        return self


class RuntimeConfig(FrozenModel):
    """Which runtime delivers messages, and how.

    `route_latency` keys are "sender->receiver" component names; "*" matches any name.
    `co_host` (Ray only): groups of component names that share one actor, so messages between them are
    local calls. None (the default) means the order path shares one actor: the gateway, the butterfly
    router and the broker bridge (`actors.names.ORDER_PATH_GROUP`), so a fly's second vertical reaches the
    broker adapter without waiting in two mailboxes behind every trader's traffic
    (bench/bench_router_latency.py). `[]` gives every component an actor of its own.
    `actor_resources` (Ray only): custom Ray resources the actor hosting a component needs, by component name
    ("*": every actor), e.g. `{"*": {"trading": 0.01}}` with `ray start --resources '{"trading": 100}'` on the
    nodes that may host the session: actors then run (and restart, after a node dies) only on those nodes, never
    on a head node without them.
    """

    kind: Literal["inline", "ray", "asyncio"] = "inline"
    """inline: one process on a virtual clock (backtests); ray: Ray actors on the wall clock (sessions); asyncio:
    one process on the wall clock (a crypto session that needs no cluster)."""
    seed: int = 0
    check_serializable: bool = True
    default_latency: LatencySpec = LatencySpec()
    route_latency: dict[str, LatencySpec] = Field(default_factory=dict)
    ray_address: str | None = None
    ray_namespace: str = "spreadwright"
    max_restarts: int = Field(-1, ge=-1)
    co_host: tuple[tuple[str, ...], ...] | None = None
    start_timeout_s: float = Field(300.0, gt=0, le=3600)
    """How long a Ray session waits for its actors to be created and to answer (a busy machine takes minutes)."""
    actor_resources: dict[str, dict[str, float]] = Field(default_factory=dict)

    @field_validator("actor_resources")
    @classmethod
    def _resources_positive(cls, by_name: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for name, resources in by_name.items():
            for resource, amount in resources.items():
                if not resource.strip() or not (0 < amount <= 1e6):
                    raise ValueError(f"actor_resources[{name!r}][{resource!r}] = {amount}: a resource needs a name and "
                                     "an amount above 0 (at most 1e6)")
        return by_name

    @field_validator("co_host")
    @classmethod
    def _groups_disjoint(cls, groups: tuple[tuple[str, ...], ...] | None) -> tuple[tuple[str, ...], ...] | None:
        seen: set[str] = set()
        for group in groups or ():
            if len(group) < 2 or not all(name.strip() for name in group):
                raise ValueError(f"co_host group {list(group)} must name at least two components")
            if seen & set(group):
                raise ValueError(f"co_host: {sorted(seen & set(group))} appear in two groups; a component has one host")
            seen.update(group)
        return groups

    @field_validator("route_latency")
    @classmethod
    def _routes_named(cls, routes: dict[str, LatencySpec]) -> dict[str, LatencySpec]:
        for key in routes:
            parts = key.split("->")
            if len(parts) != 2 or not all(p.strip() for p in parts):
                raise ValueError(f"route {key!r} must look like 'sender->receiver' ('*' matches any)")
        return routes


class LoggingConfig(FrozenModel):
    """`format`: json lines, readable console, or auto (console on a terminal, json otherwise)."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "console"] = "auto"


class MetricsConfig(FrozenModel):
    """Metrics (catalog in actors/runtime/metrics_catalog.py). Inside Ray actors they go through ray.util.metrics,
    exported by Ray's metrics agent; this process (driver, CLI, inline run) serves prometheus-client's
    /metrics on `host:port` (0: a free port, printed; None: not served). `ray_export_port` is given to
    a local Ray this process starts (`ray start --metrics-export-port` does it for a cluster)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int | None = Field(None, ge=0, le=65535)
    ray_export_port: int | None = Field(None, ge=0, le=65535)
