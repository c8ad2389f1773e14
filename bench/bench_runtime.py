"""InlineRuntime: delivered messages/s between two trivial components on one core.

Goal (issue 2): >= 1 million/s with check_serializable off; also printed with it on, and a bare
heapq event loop measured in the same run for comparison.
"""

from __future__ import annotations

import heapq
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from actors.runtime.component import Component  # noqa: E402
from actors.runtime.inline import InlineRuntime  # noqa: E402
from bench.common import pin_one_core  # noqa: E402
from config.runtime import RuntimeConfig  # noqa: E402

MESSAGES = 1_000_000


class Ping(Component):
    """Sends `n` to the peer; each reply with a count > 0 is answered with count - 1."""

    def __init__(self, name: str, peer: str, start: int = 0) -> None:
        super().__init__(name)
        self.peer, self.start, self.received = peer, start, 0

    def on_start(self, now_ns: int) -> None:
        if self.start:
            self.port.send(self.peer, (self.start,))

    def on_message(self, message, now_ns: int) -> None:
        self.received += 1
        if message[0] > 0:
            self.port.send(self.peer, (message[0] - 1,))


def runtime_rate(check_serializable: bool, messages: int) -> float:
    runtime = InlineRuntime(RuntimeConfig(check_serializable=check_serializable))
    runtime.add(Ping("a", "b", start=messages - 1))
    runtime.add(Ping("b", "a"))
    started = time.perf_counter()
    delivered = runtime.run()
    elapsed = time.perf_counter() - started
    assert delivered == messages, delivered
    return delivered / elapsed


def bare_heapq_rate(messages: int) -> float:
    """The same exchange as a bare (time, seq, handler, payload) heap loop."""
    heap: list = []
    seq = 0
    counts = [0, 0]

    def handler_for(side):
        def handle(payload):
            nonlocal seq
            counts[side] += 1
            if payload[0] > 0:
                seq += 1
                heapq.heappush(heap, (0, seq, handlers[1 - side], (payload[0] - 1,)))
        return handle

    handlers = [handler_for(0), handler_for(1)]
    heapq.heappush(heap, (0, 0, handlers[1], (messages - 1,)))
    started = time.perf_counter()
    while heap:
        _, _, handler, payload = heapq.heappop(heap)
        handler(payload)
    return messages / (time.perf_counter() - started)


def main() -> dict[str, float]:
    where = pin_one_core()
    rates = {name: max(fn() for _ in range(3)) for name, fn in {
        "bare_heapq": lambda: bare_heapq_rate(MESSAGES),
        "inline_unchecked": lambda: runtime_rate(False, MESSAGES),
        "inline_checked": lambda: runtime_rate(True, MESSAGES // 4),
    }.items()}
    print(f"[inline runtime] {where}; {MESSAGES:,} messages between two components (best of 3)")
    print(f"  bare heapq loop               : {rates['bare_heapq'] / 1e6:5.2f} M msgs/s")
    print(f"  InlineRuntime, check off      : {rates['inline_unchecked'] / 1e6:5.2f} M msgs/s "
          f"({rates['inline_unchecked'] / rates['bare_heapq']:.0%} of bare; goal >= 1 M/s)")
    print(f"  InlineRuntime, check on       : {rates['inline_checked'] / 1e6:5.2f} M msgs/s (pickles every message)")
    return rates


if __name__ == "__main__":
    main()
