import io
import json

from actors.runtime.component import Component
from actors.runtime.logs import bind_session, configure_logging
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


def test_secrets_never_reach_a_log_line():
    import io
    import json as json_lib

    from actors.runtime.logs import configure_logging, get_logger
    from config.runtime import LoggingConfig

    stream = io.StringIO()
    configure_logging(LoggingConfig(format="json"), stream=stream, force=True)
    get_logger(component="x").info("connect", api_key="sk-live-SECRET1", password="SECRET2",
                                    header="Authorization: Bearer SECRET3", note="plain")
    line = json_lib.loads(stream.getvalue())
    assert "SECRET" not in stream.getvalue() and line["note"] == "plain" and line["api_key"] == "[redacted]"


def test_every_order_path_line_of_a_backtest_names_session_component_and_order(tmp_path):
    import io
    import json as json_lib

    from actors.runtime.logs import bind_session, configure_logging
    from config import load_profile
    from config.runtime import LoggingConfig
    from supervisors.backtest import build_backtest

    stream = io.StringIO()
    configure_logging(LoggingConfig(level="DEBUG", format="json"), stream=stream, force=True)
    config = load_profile("config/profiles/backtest.yaml", env={"SPREADWRIGHT__BROKER__API_KEY": "sk-live-SECRET9"})
    bind_session(config.name)
    config = config.model_copy(update={"symbols": ("SPY",)})
    backtest = build_backtest(config)
    backtest.runtime.run(until_ns=backtest.close_ns - 5 * 3600 * 10**9)       # the first 90 minutes
    lines = [json_lib.loads(line) for line in stream.getvalue().splitlines()]
    order_lines = [line for line in lines if "client_order_id" in line]
    assert len(order_lines) > 50 and "SECRET9" not in stream.getvalue()
    for line in order_lines:
        assert line.get("session") == config.name and line.get("component"), line
        if line["component"].startswith(("trader-", "flies-")):
            assert line.get("symbol") == "SPY" and line.get("expiration"), line


def test_a_component_rebinds_its_logger_when_its_context_or_the_configuration_changes():
    import pickle

    first, second = io.StringIO(), io.StringIO()
    configure_logging(LoggingConfig(format="json"), stream=first, force=True)
    trader = Trader()
    assert trader.log is trader.log                                          # bound once while nothing changes
    trader.name = "trader-renamed"
    trader.log.info("one")
    configure_logging(LoggingConfig(format="json"), stream=second, force=True)
    trader.log.info("two")
    assert json.loads(first.getvalue().strip().splitlines()[-1])["component"] == "trader-renamed"
    assert json.loads(second.getvalue().strip())["event"] == "two"           # the new stream, not the old one
    assert "_bound_log" not in pickle.loads(pickle.dumps(trader)).__dict__
    configure_logging(LoggingConfig(format="json"), force=True)
