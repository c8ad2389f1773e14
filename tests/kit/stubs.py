"""Test doubles shared by the unit tests."""

from __future__ import annotations

from typing import Any, Hashable


class RecordingPort:
    """A component's port that records what it sends and schedules; nothing is delivered."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.scheduled: list[tuple[int, Hashable]] = []

    def send(self, receiver: str, message: Any) -> None:
        self.sent.append((receiver, message))

    def send_all(self, receiver: str, messages: tuple[Any, ...]) -> None:
        self.sent.extend((receiver, message) for message in messages)

    def schedule(self, delay_ns: int, tag: Hashable) -> None:
        self.scheduled.append((delay_ns, tag))
