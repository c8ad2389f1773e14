"""Unit tests never start Ray: `ray.init` raises unless the test is marked `ray` (tests/ray/ and tests/chaos/
are)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    ray_dirs = (here / "ray", here / "chaos")            # the chaos suite runs on the Ray tests' cluster
    for item in items:
        if any(d in Path(str(item.fspath)).resolve().parents for d in ray_dirs):
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
def data_dir() -> Path:
    """The repository's `data/` (real files the product ships, with their sources in data/SOURCES.md)."""
    if not DATA.is_dir():
        pytest.fail(f"data folder not found at {DATA}")
    return DATA


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL server for the session (tests/kit/postgres.py); skipped where the binaries are missing,
    except in CI, which installs them (`make postgresql`)."""
    import os

    from tests.kit.postgres import PrivatePostgres, postgres_bin

    if postgres_bin() is None:
        message = "PostgreSQL server binaries missing: `make postgresql` installs them"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = PrivatePostgres()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def control_db_url(request, tmp_path) -> str:
    """The control store's database, once as SQLite (a file) and once as a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'control.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def browser_page():
    """A page in Debian's headless chromium (tests/control/browser_kit.py) and the list of its script errors."""
    from tests.control.browser_kit import WAIT_MS, browser_or_skip

    executable = browser_or_skip()
    playwright_api = pytest.importorskip("playwright.sync_api", reason="the dev extra installs playwright")
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 1400})
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text)
                if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
        yield page, errors
        browser.close()
