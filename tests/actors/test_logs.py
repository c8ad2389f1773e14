import io
import json

from actors.component import Component
from actors.logs import bind_session, configure_logging
from config.runtime import LoggingConfig


class Trader(Component):
    def __init__(self):
        super().__init__("trader-SPY-2026-12-18")

    def log_context(self):
        return {**super().log_context(), "symbol": "SPY", "expiration": "2026-12-18"}


def test_json_lines_carry_the_bound_context():
    stream = io.StringIO()
    assert configure_logging(LoggingConfig(format="json"), stream=stream, force=True) == "json"
    bind_session("s-1")
    Trader().log.info("order_sent", client_order_id="abc")
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["session"] == "s-1"
    assert line["component"] == "trader-SPY-2026-12-18"
    assert (line["symbol"], line["expiration"]) == ("SPY", "2026-12-18")
    assert line["event"] == "order_sent" and line["level"] == "info" and "timestamp" in line


def test_auto_picks_console_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    assert configure_logging(LoggingConfig(format="auto"), stream=stream, force=True) == "console"
    Trader().log.warning("paused", reason="fill rate")
    out = stream.getvalue()
    assert "paused" in out and "symbol=SPY" in out and not out.lstrip().startswith("{")
    configure_logging(LoggingConfig(format="json"), force=True)


def test_level_filters():
    stream = io.StringIO()
    configure_logging(LoggingConfig(format="json", level="WARNING"), stream=stream, force=True)
    Trader().log.info("quiet")
    Trader().log.error("loud")
    assert "quiet" not in stream.getvalue() and "loud" in stream.getvalue()
    configure_logging(LoggingConfig(format="json"), force=True)
