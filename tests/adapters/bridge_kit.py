"""Driving a BrokerBridge from a test thread: its own mail is delivered here, what it sends elsewhere recorded."""

from __future__ import annotations

import queue
import time

from adapters.bridge import BrokerBridge


class QueuePort:
    """Sends to the bridge itself are queued for the test thread; others are recorded."""

    def __init__(self, name):
        self.name, self.mailbox, self.sent = name, queue.Queue(), queue.Queue()

    def send(self, receiver, message):
        (self.mailbox if receiver == self.name else self.sent).put((receiver, message))

    def schedule(self, delay_ns, tag):
        pass

    def now_ns(self):
        return time.time_ns()


def run_bridge(bridge, port, until, timeout_s=5.0):
    """Deliver the bridge's own mail on this thread until `until(received)` holds; returns what others got."""
    received = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not until(received):
        try:
            _, message = port.mailbox.get(timeout=0.02)
            bridge.on_message(message, time.time_ns())
        except queue.Empty:
            pass
        while not port.sent.empty():
            received.append(port.sent.get())
    return received


def make_bridge(broker, routes=None, risk=None):
    bridge = BrokerBridge(lambda: broker, routes or {}, quote_poll_ms=50, order_poll_ms=10, stop_timeout_s=2,
                          risk=risk)
    port = QueuePort(bridge.name)
    bridge.bind(port)
    bridge.on_start(time.time_ns())
    return bridge, port
