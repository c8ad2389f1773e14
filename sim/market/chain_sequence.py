"""ChainSequenceFeed: publishes a precomputed list of chains, one every `interval_ns` (the exit study's market).

Each chain goes to the exchange and to the router, stamped with the time it is published; any message
stops the feed (the desk sends one when its exit is over).
"""

from __future__ import annotations

from typing import Any, Hashable

from actors import names
from actors.runtime.component import Component
from core.quotes import ChainQuotes


class ChainSequenceFeed(Component):
    def __init__(self, chains: list[ChainQuotes], interval_ns: int, exchange: str = names.EXCHANGE,
                 router: str = names.ROUTER, name: str = names.FEED) -> None:
        super().__init__(name)
        self.chains, self.interval_ns, self.next, self.stopped = chains, interval_ns, 0, False
        self.receivers = (exchange, router)

    def on_start(self, now_ns: int) -> None:
        self.on_timer("tick", now_ns)

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        if self.stopped or self.next >= len(self.chains):
            return
        chain = self.chains[self.next]._replace(time_ns=now_ns)
        self.next += 1
        for receiver in self.receivers:
            self.port.send(receiver, chain)
        self.port.schedule(self.interval_ns, "tick")

    def on_message(self, message: Any, now_ns: int) -> None:
        self.stopped = True

    def last(self) -> ChainQuotes:
        """The chain published last (the first one before any)."""
        return self.chains[max(self.next - 1, 0)]
