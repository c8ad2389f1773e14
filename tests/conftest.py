"""Unit tests never start Ray: `ray.init` raises unless the test is marked `ray` (tests/ray/ is)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def pytest_collection_modifyitems(config, items):
    ray_dir = Path(__file__).resolve().parent / "ray"
    for item in items:
        if ray_dir in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.ray)


@pytest.fixture(autouse=True)
def _forbid_ray_init(request, monkeypatch):
    if request.node.get_closest_marker("ray"):
        yield
        return
    import ray

    def refuse(*args, **kwargs):
        raise RuntimeError("unit tests must not start Ray; put the test under tests/ray/")

    monkeypatch.setattr(ray, "init", refuse)
    yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data folder not found at {SHARED_DATA}")
    return SHARED_DATA
