"""The whole profile of a session: mode, runtime and every component's settings."""

from __future__ import annotations

from enum import Enum

from pydantic import Field, field_validator, model_validator

from config.backtest import BacktestConfig
from config.base import FrozenModel, rule_error
from config.book import BookConfig
from config.broker import BrokerConfig
from config.butterfly import ButterflyStrategyConfig
from config.exchange import ExchangeConfig
from config.execution import BalancerConfig, CreditMaximizerConfig, ExecutorConfig, SizingParameters, TimingParameters
from config.ledger import LedgerConfig
from config.montecarlo import MonteCarloConfig
from config.risk import RiskConfig
from config.router import RouterRiskConfig
from config.runtime import LoggingConfig, MetricsConfig, RuntimeConfig
from config.strategist import StrategistConfig


class Mode(str, Enum):
    BACKTEST = "backtest"
    PAPER = "paper"
    LIVE = "live"


_RUNTIME_OF_MODE = {Mode.BACKTEST: "inline", Mode.PAPER: "ray", Mode.LIVE: "ray"}


class SessionConfig(FrozenModel):
    """Everything one session needs; `config_id` identifies it (e.g. as a Monte Carlo cache key)."""

    name: str = Field("spreadwright", min_length=1)
    mode: Mode = Mode.BACKTEST
    symbols: tuple[str, ...] = Field(("SPY", "QQQ", "IWM"), min_length=1)
    runtime: RuntimeConfig = RuntimeConfig()
    logging: LoggingConfig = LoggingConfig()
    timing: TimingParameters = TimingParameters()
    sizing: SizingParameters = SizingParameters()
    executor: ExecutorConfig = ExecutorConfig()
    balancer: BalancerConfig = BalancerConfig()
    credit_maximizer: CreditMaximizerConfig = CreditMaximizerConfig()
    router: RouterRiskConfig = RouterRiskConfig()
    exchange: ExchangeConfig = ExchangeConfig()
    backtest: BacktestConfig = BacktestConfig()
    ledger: LedgerConfig = LedgerConfig()
    book: BookConfig = BookConfig()
    broker: BrokerConfig = BrokerConfig()
    risk: RiskConfig = RiskConfig()
    butterflies: ButterflyStrategyConfig = ButterflyStrategyConfig()
    strategist: StrategistConfig = StrategistConfig()
    montecarlo: MonteCarloConfig = MonteCarloConfig()
    metrics: MetricsConfig = MetricsConfig()

    @field_validator("symbols")
    @classmethod
    def _symbols_valid(cls, symbols: tuple[str, ...]) -> tuple[str, ...]:
        for symbol in symbols:
            if not symbol or not symbol.isascii() or not symbol.replace(".", "").isalnum() or symbol != symbol.upper():
                raise ValueError(f"{symbol!r} is not an upper-case ticker")
        if len(set(symbols)) != len(symbols):
            raise ValueError("symbols must not repeat")
        return symbols

    @model_validator(mode="after")
    def _fits_mode(self) -> SessionConfig:
        expected = _RUNTIME_OF_MODE[self.mode]
        if self.runtime.kind != expected:
            raise rule_error("runtime.kind", f"mode {self.mode.value} runs on the {expected} runtime, not "
                             f"{self.runtime.kind} (set runtime.kind: {expected})")
        if self.mode is Mode.BACKTEST:
            _check_backtest_market(self.symbols, self.backtest)
        if self.mode is Mode.BACKTEST and self.exchange.max_quote_age_ms <= self.backtest.quote_interval_s * 1000:
            raise rule_error("exchange.max_quote_age_ms", f"quotes update every {self.backtest.quote_interval_s} s "
                             "in this backtest, so every quote would go stale between updates; set it above "
                             f"{int(self.backtest.quote_interval_s * 1000)}")
        if self.mode is not Mode.BACKTEST and self.router.routing.allow_whole_fly_complex_order:
            raise rule_error("router.routing.allow_whole_fly_complex_order",
                             f"a whole-fly complex order is for simulation only; mode {self.mode.value} "
                             "must exit butterflies as two verticals")
        if self.sizing.max_contracts > self.risk.limits.max_contracts_per_order:
            raise rule_error("sizing.max_contracts", f"{self.sizing.max_contracts} units a spread order would be "
                             "refused by the risk gate: keep it <= risk.limits.max_contracts_per_order "
                             f"({self.risk.limits.max_contracts_per_order})")
        if self.mode is not Mode.BACKTEST and not self.risk.enabled:
            raise rule_error("risk.enabled", f"mode {self.mode.value} sends real orders: the risk gate stays on "
                             "(turning it off is for measuring its cost in a backtest)")
        if self.mode is Mode.LIVE and self.broker.url is None:
            raise rule_error(
                "broker.url", "a live session needs its broker's URL (only paper starts an exchange for you)"
            )
        if self.broker.kind != "paper" and self.mode is not Mode.LIVE:
            raise rule_error("broker.kind", f"{self.broker.kind} is a real broker: trading there is mode: live")
        if self.mode is not Mode.BACKTEST and self.ledger.kind != "sqlite":
            raise rule_error("ledger.kind", f"mode {self.mode.value} needs a durable ledger: set ledger.kind: sqlite "
                             "and ledger.path")
        return self


def _check_backtest_market(symbols: tuple[str, ...], backtest: BacktestConfig) -> None:
    """What a backtest's market needs, checked at load: a first day that is a session of the calendar (naming
    the next one), and on the simulated market, a product spec and a start price for every symbol."""
    from core.calendar import FIRST_DAY, LAST_DAY, MarketCalendar
    from core.instruments import PRODUCTS

    first = backtest.first_day
    field = "backtest.start" if backtest.start is not None else "backtest.day"
    for name, day in ((field, first), ("backtest.end", backtest.end)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise rule_error(name, f"{day} is outside the calendar's years ({FIRST_DAY} to {LAST_DAY})")
    calendar = MarketCalendar()
    if not calendar.is_session(first):
        kind = first.strftime("%A") if first.weekday() >= 5 else "a market holiday"
        following = calendar.next_session(first)
        hint = f"; the next session is {following}" if following else ""
        raise rule_error(field, f"{first} is not a trading session ({kind}){hint}")
    if backtest.market != "simulated":
        return
    unknown = [s for s in symbols if s not in PRODUCTS]
    if unknown:
        raise rule_error("symbols", f"{unknown} have no product spec for the simulated market (known: "
                         f"{sorted(PRODUCTS)})")
    missing = [s for s in symbols if s not in backtest.start_prices]
    if missing:
        raise rule_error("backtest.start_prices", f"no start price for {missing}: add one per symbol")
