"""One local Ray cluster for every test under tests/ray/ (its metrics agent on a known port)."""

import pytest

from supervisors.paper import free_port

RAY_METRICS_EXPORT_PORT = free_port()


@pytest.fixture(scope="session")
def ray_cluster():
    import ray

    started = not ray.is_initialized()             # tests/chaos/ shares this cluster when run in one session
    if started:
        ray.init(num_cpus=2, include_dashboard=False, namespace="spreadwright-tests", log_to_driver=False,
                 _metrics_export_port=RAY_METRICS_EXPORT_PORT)
    yield ray
    if started:
        ray.shutdown()
