"""Every catalog metric can be created and recorded through ray.util.metrics inside a Ray worker."""

from actors.runtime.metrics_catalog import CATALOG


def _emit_every_metric() -> list[str]:
    from actors.runtime.ray_runtime import RayMetricsSink

    sink, failures = RayMetricsSink(), []
    for spec in CATALOG.values():
        labels = tuple("x" for _ in spec.labels)
        for value in ((0.0, 1.0) if spec.kind == "counter" else (0.0, 0.3)):
            try:
                sink.emit(spec, value, labels)
            except Exception as err:  # noqa: BLE001 - collected and asserted on below
                failures.append(f"{spec.name}: {err!r}")
    return failures


def test_the_ray_sink_accepts_every_catalog_metric(ray_cluster):
    assert ray_cluster.get(ray_cluster.remote(_emit_every_metric).remote()) == []
