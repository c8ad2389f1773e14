"""How a paper or live session reaches its broker, and how often it asks it for quotes and orders."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from config.base import FrozenModel, rule_error


class BrokerConfig(FrozenModel):
    """The broker of a paper/live session.

    `url` None (paper only): the paper exchange is started for the user on `paper_host` and a
    free port (or `paper_port`), with chains for the listed expiries (the simulator's calendar: no weekend or
    holiday) nearest each of `paper_expiry_days` days from today. Quotes are
    fetched every `quote_poll_ms`; working orders are polled every `order_poll_ms`.
    `market_hours` False lets traders trade around the clock (the simulated paper market never
    closes); against a real broker keep it True. `dead_man_s`: the broker's dead-man's switch, where it has one
    (the paper exchange's POST /heartbeat): the bridge keeps it armed with a heartbeat every quote poll, and if
    the session dies, the broker cancels its working orders after this long (0: not armed). `unknown_positions`:
    what a session does at start when the broker holds positions its ledger does not show (another program
    traded the account, or the ledger was lost): refuse to start, naming them (the default), or adopt them into
    the ledger with the reason (orders of owner `adopted` filled at 0) so the risk gate counts them.
    """

    kind: Literal["paper", "tradier"] = "paper"
    """Which API the broker speaks: the paper exchange's (the paper exchange, or a broker behind that API), or
    Tradier's Brokerage API (`adapters/tradier.py`: `url` https://api.tradier.com or https://sandbox.tradier.com,
    `account_id`, the access token in `api_key`), which is live trading (`mode: live`)."""
    account_id: str | None = None
    url: str | None = None
    paper_host: str = "127.0.0.1"
    paper_port: int = Field(0, ge=0, le=65535)
    paper_expiry_days: tuple[int, ...] = (0, 7, 30)
    paper_seed: int = 0
    quote_poll_ms: int = Field(1000, ge=50, le=60_000)
    order_poll_ms: int = Field(100, ge=10, le=10_000)
    request_timeout_s: float = Field(2.0, gt=0, le=60)
    market_hours: bool = True
    expirations_per_symbol: int = Field(3, ge=1, le=20)
    dead_man_s: float = Field(10.0, ge=0, le=600)
    unknown_positions: Literal["refuse", "adopt"] = "refuse"
    api_key: SecretStr | None = None
    """From SPREADWRIGHT__BROKER__API_KEY; shown as ********** anywhere. Sent as `Authorization: Bearer <key>`: for
    the paper exchange, its token (`spreadwright exchange` reads it from SPREADWRIGHT_EXCHANGE_TOKEN)."""

    @model_validator(mode="after")
    def _url_shape(self) -> BrokerConfig:
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise rule_error("url", f"must start with http:// or https://, got {self.url!r}")
        if 0 < self.dead_man_s <= 2 * self.quote_poll_ms / 1000:
            raise rule_error("dead_man_s", f"must be 0 (off) or above two quote polls ({2 * self.quote_poll_ms} ms): "
                             "the heartbeat goes with each poll")
        if self.kind == "tradier" and (self.url is None or not self.account_id):
            raise rule_error("kind", "a tradier broker needs url and account_id (and its token in api_key)")
        if any(d < 0 for d in self.paper_expiry_days) or not self.paper_expiry_days:
            raise rule_error("paper_expiry_days", "need at least one day offset, none negative")
        return self
