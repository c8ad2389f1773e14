"""One local Ray cluster for every test under tests/ray/."""

import pytest


@pytest.fixture(scope="session")
def ray_cluster():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, namespace="spreadwright-tests", log_to_driver=False)
    yield ray
    ray.shutdown()
