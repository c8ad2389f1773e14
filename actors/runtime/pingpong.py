"""A two-component topology used to prove both runtimes deliver the same thing.

`Quoter` sends `bursts` x `per_burst` quotes to `Counter`, one burst per timer tick;
`Counter` acknowledges each with its running count. Final state depends only on
the messages and their per-sender order, so it is identical on every runtime.
"""

from __future__ import annotations

from typing import Any, Hashable, NamedTuple

from actors.runtime.component import Component


class Quote(NamedTuple):
    seq: int
    price_cents: int


class Ack(NamedTuple):
    seq: int
    count: int


class Quoter(Component):
    def __init__(self, name: str = "quoter", counter: str = "counter", bursts: int = 100,
                 per_burst: int = 50, interval_ns: int = 1_000_000) -> None:
        super().__init__(name)
        self.counter = counter
        self.bursts = bursts
        self.per_burst = per_burst
        self.interval_ns = interval_ns
        self.sent = 0
        self.ticks = 0
        self.acks = 0
        self.ack_count_sum = 0
        self.last_ack_seq = -1
        self.out_of_order_acks = 0

    def on_start(self, now_ns: int) -> None:
        self.port.schedule(self.interval_ns, "burst")

    def on_timer(self, tag: Hashable, now_ns: int) -> None:
        self.ticks += 1
        for _ in range(self.per_burst):
            self.port.send(self.counter, Quote(self.sent, 10_000 + (self.sent * 37) % 501))
            self.sent += 1
        if self.ticks < self.bursts:
            self.port.schedule(self.interval_ns, "burst")

    def on_message(self, message: Any, now_ns: int) -> None:
        self.acks += 1
        self.ack_count_sum += message.count
        if message.seq != self.last_ack_seq + 1:
            self.out_of_order_acks += 1
        self.last_ack_seq = message.seq

    @property
    def done(self) -> bool:
        return self.acks == self.bursts * self.per_burst

    def snapshot(self) -> dict[str, Any]:
        return {"sent": self.sent, "ticks": self.ticks, "acks": self.acks, "ack_count_sum": self.ack_count_sum,
                "out_of_order_acks": self.out_of_order_acks, "done": self.done}


class Counter(Component):
    def __init__(self, name: str = "counter", quoter: str = "quoter") -> None:
        super().__init__(name)
        self.quoter = quoter
        self.count = 0
        self.price_cents_sum = 0
        self.checksum = 0

    def on_message(self, message: Any, now_ns: int) -> None:
        self.count += 1
        self.price_cents_sum += message.price_cents
        self.checksum = (self.checksum * 31 + message.seq * message.price_cents) % 1_000_000_007
        self.port.send(self.quoter, Ack(message.seq, self.count))

    def snapshot(self) -> dict[str, Any]:
        return {"count": self.count, "price_cents_sum": self.price_cents_sum, "checksum": self.checksum}


def pingpong_done(snapshots: dict[str, dict]) -> bool:
    return bool(snapshots.get("quoter", {}).get("done"))
