"""Test doubles shared by the unit tests."""

from __future__ import annotations

from typing import Any, Hashable

from actors.runtime.component import Port


class RecordingPort(Port):
    """A component's port that records what it sends and schedules; nothing is delivered."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.scheduled: list[tuple[int, Hashable]] = []

    def send(self, receiver: str, message: Any) -> None:
        self.sent.append((receiver, message))

    def schedule(self, delay_ns: int, tag: Hashable) -> None:
        self.scheduled.append((delay_ns, tag))
