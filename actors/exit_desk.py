"""ExitDesk: asks the exit router for one butterfly exit and keeps the result (the exit study's client).

At start it sends its `ExitButterfly` request to the router; when the `ExitResult` arrives it keeps it
and tells the feed to stop, so the study's run ends when the exit does.
"""

from __future__ import annotations

from typing import Any

from actors import names
from actors.messages import ExitButterfly
from actors.runtime.component import Component
from core.exits.butterfly import ExitResult


class ExitDesk(Component):
    def __init__(self, request: ExitButterfly, router: str = names.ROUTER, feed: str = names.FEED,
                 name: str = names.DESK) -> None:
        super().__init__(name)
        self.request, self.router, self.feed = request, router, feed
        self.result: ExitResult | None = None

    def on_start(self, now_ns: int) -> None:
        self.port.send(self.router, self.request)

    def on_message(self, message: Any, now_ns: int) -> None:
        if isinstance(message, ExitResult):
            self.result = message
            self.port.send(self.feed, "stop")
