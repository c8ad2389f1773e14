"""Settings of a crypto options session: the short strangle of seed 004, the simulated crypto market, and how a
backtest runs. Times of day are India Standard Time as the seed has them ("HH:MM" strings: YAML would read an
unquoted 14:00 as the number 840); a window whose end is before its start runs across midnight."""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from config.base import ConfigError, FrozenModel, rule_error
from config.exchange import ExchangeConfig
from config.ledger import LedgerConfig
from config.risk import RiskConfig, RiskLimits
from config.runtime import RuntimeConfig
from config.session import Mode
from core.instruments import VENUE_PRODUCTS
from core.strategy.strangle import ExitLimits, TrailingLevel


def clock_time(text: str) -> time:
    """"HH:MM" as a time of day."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


CRYPTO_PROFILES_DIR = Path(__file__).resolve().parent / "profiles" / "crypto"


def crypto_config(data: dict, source: str = "") -> CryptoSessionConfig:
    """A crypto session's settings from plain data (YAML, JSON); ConfigError naming each field otherwise."""
    try:
        return CryptoSessionConfig.model_validate_json(json.dumps(_with_session_runtime(data), default=str))
    except ValidationError as err:
        raise ConfigError.from_validation(err, source) from None


def _with_session_runtime(data: dict) -> dict:
    """A paper or live session runs on Ray unless its profile names a runtime kind (a backtest inline)."""
    if isinstance(data, dict) and data.get("mode") in (Mode.PAPER, Mode.LIVE):
        runtime = data.get("runtime") or {}
        if isinstance(runtime, dict) and "kind" not in runtime:
            return {**data, "runtime": {**runtime, "kind": "ray"}}
    return data


def is_crypto_profile(data: object) -> bool:
    """Whether a profile's settings are a crypto strangle session's (they have a `strangle` section) rather than
    the listed-options spreads session's (`config.session.SessionConfig`)."""
    return isinstance(data, dict) and "strangle" in data


def load_crypto_profile(path: str | Path) -> CryptoSessionConfig:
    """A crypto profile: a YAML file, or a name under config/profiles/crypto (`strangle`)."""
    file = Path(path)
    if not file.suffix:
        file = CRYPTO_PROFILES_DIR / f"{path}.yaml"
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except OSError as err:
        raise ConfigError([("<file>", f"cannot read it: {err.strerror}")], str(file)) from None
    except yaml.YAMLError as err:
        raise ConfigError([("<yaml>", str(err))], str(file)) from None
    if not isinstance(data, dict):
        raise ConfigError([("<root>", "a profile must be a mapping of settings")], str(file))
    return crypto_config(data, str(file))


class TrailingLevelConfig(FrozenModel):
    """Once the strangle's P&L reaches `reach_usd`, it closes if it falls back to `lock_usd`."""

    reach_usd: float = Field(gt=0)
    lock_usd: float

    @model_validator(mode="after")
    def _lock_below_reach(self) -> TrailingLevelConfig:
        if self.lock_usd >= self.reach_usd:
            raise rule_error("lock_usd", f"must be below reach_usd ({self.reach_usd})")
        return self


class StrangleConfig(FrozenModel):
    """The delta-targeted short strangle: sell a call and a put whose |delta| is in `delta_band`, once per entry
    window, on the nearest expiry at least `expiry_buffer_minutes` (and at most `max_expiry_days`) away; close on
    max loss, max profit, a trailing level, the expiry buffer or the exit window."""

    symbol: Literal["BTC", "ETH"] = "BTC"
    delta_band: tuple[float, float] = (0.10, 0.15)
    entry_start_ist: str = Field("14:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    entry_end_ist: str = Field("20:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    exit_start_ist: str = Field("12:45", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    exit_end_ist: str = Field("13:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    """The exit window (Deribit's 08:00 UTC expiry is 13:30 IST); equal start and end: no exit window."""
    expiry_buffer_minutes: float = Field(45.0, ge=0)
    max_expiry_days: float = Field(3.0, gt=0)
    max_entries_per_day: int = Field(1, ge=1, le=24)
    """Entries per IST day: 1 sells one strangle a day (a stopped-out one is not re-entered that day)."""
    quantity: int = Field(10, ge=1, le=10_000)
    """Contracts per leg (Deribit-style BTC: 0.1 BTC each)."""
    contract_size: float | None = Field(None, gt=0)
    """Coins per contract; None takes the venue's. Set, it must be the venue's (a check, not a conversion)."""
    max_loss_usd: float = Field(600.0, gt=0)
    max_profit_usd: float = Field(300.0, gt=0)
    trailing: tuple[TrailingLevelConfig, ...] = (TrailingLevelConfig(reach_usd=150.0, lock_usd=50.0),
                                                 TrailingLevelConfig(reach_usd=250.0, lock_usd=150.0))
    decide_every_s: float = Field(60.0, gt=0, le=3600)
    reprice_after_s: float = Field(120.0, gt=0)
    max_reprices: int = Field(4, ge=0, le=50)
    """Passive steps toward the bid (or ask) before an order crosses the spread."""

    @field_validator("delta_band")
    @classmethod
    def _band(cls, band: tuple[float, float]) -> tuple[float, float]:
        low, high = band
        if not 0.0 < low <= high < 0.5:
            raise ValueError(f"must be 0 < low <= high < 0.5 (out-of-the-money deltas), got {band}")
        return band

    @model_validator(mode="after")
    def _entry_window(self) -> StrangleConfig:
        if self.entry_start_ist == self.entry_end_ist:
            raise rule_error("entry_end_ist", "an empty entry window (start equals end)")
        return self

    def exit_limits(self) -> ExitLimits:
        """The exit rules as core.strategy.strangle takes them."""
        levels = tuple(TrailingLevel(level.reach_usd, level.lock_usd) for level in self.trailing)
        return ExitLimits(self.max_loss_usd, self.max_profit_usd, levels, self.expiry_buffer_minutes * 60.0,
                          clock_time(self.exit_start_ist), clock_time(self.exit_end_ist))


class CryptoMarketConfig(FrozenModel):
    """The simulated coin market (sim.market.crypto.CryptoMarketParams, whose docstring gives the sources); None
    takes that coin's default."""

    start_price_usd: float | None = Field(None, gt=0)
    dvol_start: float | None = Field(None, gt=0, le=400)
    dvol_mean: float | None = Field(None, gt=0, le=400)
    dvol_half_life_days: float | None = Field(None, gt=0)
    dvol_vol_of_vol: float | None = Field(None, ge=0, le=10)
    spot_vol_correlation: float | None = Field(None, ge=-1, le=1)
    realized_to_implied: float | None = Field(None, gt=0, le=3)
    jumps_per_year: float | None = Field(None, ge=0, le=10_000)
    jump_mean: float | None = Field(None, ge=-1, le=1)
    jump_std: float | None = Field(None, ge=0, le=1)
    half_spread_fraction: float | None = Field(None, ge=0, le=1)
    half_spread_vol_points: float | None = Field(None, ge=0, le=20)


class CryptoBacktestConfig(FrozenModel):
    start: date = date(2026, 11, 2)
    days: int = Field(14, ge=1, le=366)
    quote_interval_s: float = Field(60.0, ge=1, le=3600)
    seed: int = 0


CREDENTIALS = {"deribit": ("SPREADWRIGHT_DERIBIT_CLIENT_ID", "SPREADWRIGHT_DERIBIT_CLIENT_SECRET"),
               "delta_exchange": ("SPREADWRIGHT_DELTA_API_KEY", "SPREADWRIGHT_DELTA_API_SECRET")}
"""The environment variables holding each real venue's credentials (never a profile's field)."""


class CryptoVenueConfig(FrozenModel):
    """Where a paper or live session trades: `paper`, the paper exchange quoting the simulated crypto market
    (started for the session unless `url` names a running one), or a real venue (`deribit`, `delta_exchange`) at
    `url` (its production or test host), which is live trading: it needs `mode: live`, `allow_live: true` and the
    venue's credentials in the environment (`CREDENTIALS`)."""

    kind: Literal["paper", "deribit", "delta_exchange"] = "paper"
    url: str | None = None
    quote_poll_ms: int = Field(1000, ge=100, le=60_000)
    order_poll_ms: int = Field(250, ge=10, le=10_000)
    deribit_chain: Literal["book_summary", "tickers"] = "book_summary"
    """How a Deribit session reads its chains: the book summary (one request a poll for every expiry; delta from
    the mark IV) or a ticker per option (the venue's own greeks; hundreds of requests a poll, for slow polls)."""

    @model_validator(mode="after")
    def _url(self) -> CryptoVenueConfig:
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise rule_error("url", f"must start with http:// or https://, got {self.url!r}")
        if self.kind != "paper" and self.url is None:
            raise rule_error("url", f"a {self.kind} session needs the venue's URL (production or test host)")
        return self


class CryptoSessionConfig(FrozenModel):
    """A crypto strangle session: a backtest, a paper session (the paper exchange), or live at a real venue
    (`venue`; `mode: live` and `allow_live: true` both, and credentials in the environment)."""

    name: str = Field("crypto-strangle", min_length=1)
    mode: Mode = Mode.BACKTEST
    allow_live: bool = False
    strangle: StrangleConfig = StrangleConfig()
    market: CryptoMarketConfig = CryptoMarketConfig()
    backtest: CryptoBacktestConfig = CryptoBacktestConfig()
    exchange: ExchangeConfig = ExchangeConfig(limit_collar_per_share=0.001, max_quote_age_ms=120_000)
    """The simulated venue: its collar in coin, and quotes that may be as old as two of the market's updates."""
    ledger: LedgerConfig = LedgerConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    """Backtests run inline; paper and live sessions on Ray actors (`kind: ray`, the default for them) or, with
    `kind: asyncio`, in one process without a cluster."""
    venue: CryptoVenueConfig = CryptoVenueConfig()
    risk: RiskConfig = RiskConfig(limits=RiskLimits(nbbo_collar_per_share=0.0005, model_collar_per_share=0.002,
                                                    max_premium_per_order_usd=50_000.0, allow_naked_short=True))
    """The risk gate every order passes: its `*_per_share` collars are in the venue's premium unit (coin for
    Deribit: 0.0005 BTC, 0.002 BTC), its `*_usd` limits in USD (coin premiums valued at the index). A short
    strangle sells uncovered options, so naked shorts are allowed here (the gate's own default refuses them),
    bounded by the open-contract limits and the strangle's max loss."""

    @model_validator(mode="after")
    def _runtime_fits_the_mode(self) -> CryptoSessionConfig:
        kind = self.runtime.kind
        if self.mode is Mode.BACKTEST and kind != "inline":
            raise rule_error("runtime", f"kind {kind}: a backtest runs inline, on the virtual clock")
        if self.mode is not Mode.BACKTEST and kind == "inline":
            raise rule_error("runtime", f"kind inline: mode {self.mode.value} runs on the wall clock: ray (Ray "
                                        f"actors, the default) or asyncio (one process)")
        return self

    @model_validator(mode="after")
    def _live_only_when_allowed(self) -> CryptoSessionConfig:
        if self.mode is Mode.LIVE and not self.allow_live:
            raise rule_error("mode", "live trading needs allow_live: true as well (the default is paper)")
        if self.mode is Mode.LIVE and self.venue.kind == "paper":
            raise rule_error("venue", "a live session trades at a real venue: set venue.kind and venue.url")
        if self.venue.kind != "paper" and self.mode is not Mode.LIVE:
            raise rule_error("venue", f"{self.venue.kind} is a real venue: trading there is mode: live "
                                      f"(with allow_live: true)")
        return self

    @model_validator(mode="after")
    def _sessions_are_durable_and_sized_for_the_gate(self) -> CryptoSessionConfig:
        if self.mode is not Mode.BACKTEST and self.ledger.kind != "sqlite":
            raise rule_error("ledger", f"mode {self.mode.value} sends real orders: set ledger.kind: sqlite and a "
                                       f"path (a restart rebuilds the strangle from it)")
        limit = self.risk.limits.max_contracts_per_order
        if self.strangle.quantity > limit:
            raise rule_error("strangle", f"quantity {self.strangle.quantity}: every order would be refused by the "
                                         f"risk gate (risk.limits.max_contracts_per_order {limit})")
        return self

    @model_validator(mode="after")
    def _contract_size_is_the_venues(self) -> CryptoSessionConfig:
        symbol, size = self.strangle.symbol, self.strangle.contract_size
        venue = VENUE_PRODUCTS[self.venue.kind][symbol].multiplier
        if size is not None and abs(size - venue) > 1e-12:
            raise rule_error("strangle", f"contract_size: {self.venue.kind}'s {symbol} options are {venue} {symbol} "
                                         f"a contract, not {size}")
        return self

    @model_validator(mode="after")
    def _quotes_live_long_enough(self) -> CryptoSessionConfig:
        if self.exchange.max_quote_age_ms < 1000 * self.backtest.quote_interval_s:
            raise rule_error("exchange", f"max_quote_age_ms ({self.exchange.max_quote_age_ms}) is shorter than the "
                                         f"market's quote interval ({self.backtest.quote_interval_s} s): every "
                                         f"order would meet a stale quote")
        return self
