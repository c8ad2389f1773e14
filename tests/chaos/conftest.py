"""The chaos suite: faults injected into running sessions (on the Ray tests' local cluster)."""

from tests.ray.conftest import ray_cluster  # noqa: F401 - the one session-scoped cluster
