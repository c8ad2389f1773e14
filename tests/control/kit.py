"""The control app on a test client, over a store of the given URL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from config.control import ControlConfig
from control.app import build_app
from persistence.control.store import ControlStore

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


@contextlib.asynccontextmanager
async def client(url: str, config: ControlConfig | None = None, clock: Clock | None = None,
                 **build: Any) -> AsyncIterator[TestClient]:
    store = await ControlStore(url).open()
    app = build_app(config or ControlConfig(), store, TOKEN, clock_s=clock or Clock(), **build)
    try:
        async with TestClient(TestServer(app)) as test_client:
            yield test_client
    finally:
        await store.close()


async def template(test_client: TestClient, name: str = "p1", **settings: Any) -> dict[str, Any]:
    answer = await test_client.get("/api/configs/template", headers=AUTH)
    assert answer.status == 200
    body = await answer.json()
    body["name"] = name
    body["settings"].update(settings)
    return body


async def until(c: TestClient, path: str, condition, what: str, slack_s: float = 120.0) -> Any:
    """GET `path` until condition(json) holds; a generous limit on a condition, never a timing."""
    loop = asyncio.get_running_loop()
    deadline, body = loop.time() + slack_s, None
    while loop.time() < deadline:
        body = await (await c.get(path, headers=AUTH)).json()
        if condition(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what} (last {path}: {body})")


def run(coroutine):
    return asyncio.run(coroutine)
