"""The control app served on 127.0.0.1:<free port> from a daemon thread (its own event loop), over a SQLite file
or the given database, for clients that speak HTTP (the fuzzer, a browser)."""

from __future__ import annotations

import asyncio
import tempfile
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

from config.control import ControlConfig
from control.app import build_app
from persistence.control.store import ControlStore
from tests.control.kit import TOKEN


class Served:
    def __init__(self, config: ControlConfig | None = None, url: str | None = None, **build: Any) -> None:
        self.folder = tempfile.TemporaryDirectory()
        self.config = config or ControlConfig(state_dir=str(Path(self.folder.name) / "state"))
        self.database = url or f"sqlite+aiosqlite:///{Path(self.folder.name) / 'control.db'}"
        self.build = build
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="control-served", daemon=True)
        self.thread.start()
        assert self.ready.wait(120), "the control API did not start"
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.store = self.loop.run_until_complete(ControlStore(self.database).open())
        self.app = build_app(self.config, self.store, TOKEN, **self.build)
        self.runner = web.AppRunner(self.app)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", 0).start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.run_until_complete(self.store.close())
        self.loop.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(120)
        self.folder.cleanup()
