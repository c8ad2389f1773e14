"""Connect to Ray, or start a local instance for the user when none is given."""

from __future__ import annotations

import os

import ray


def ensure_ray(address: str | None = None, namespace: str = "spreadwright", num_cpus: int | None = None,
               metrics_export_port: int | None = None) -> None:
    """`ray.init` once: to `address` (e.g. 'auto', 'ray://host:10001'), to RAY_ADDRESS (inside a Ray job),
    or else to a local Ray: the one `ray start` left running if any, a new one otherwise (a new one
    always when `num_cpus` is given)."""
    if ray.is_initialized():
        return
    kwargs = {"namespace": namespace, "include_dashboard": False, "log_to_driver": True}
    if address:
        ray.init(address=address, **kwargs)
    elif os.environ.get("RAY_ADDRESS"):          # inside `ray job submit` / `ray submit`: join that cluster
        ray.init(**kwargs)
    elif num_cpus is not None or metrics_export_port is not None:
        ray.init(address="local", num_cpus=num_cpus, _metrics_export_port=metrics_export_port, **kwargs)
    else:
        ray.init(**kwargs)
