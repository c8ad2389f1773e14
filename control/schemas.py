"""What the control API reads and answers (pydantic models; /openapi.json is generated from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Health(_Out):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]
    version: str


class LoginIn(_In):
    token: str = Field(min_length=1, max_length=512)


class LoginOut(_Out):
    csrf_token: str
    expires_in_s: float


class ConfigIn(_In):
    """A trading profile: a name and the session settings (the same fields as a YAML profile: `symbols`, `sizing`,
    `risk`, `strategist`, ...; see docs/configuration.md; or a crypto strangle profile's, with its `strangle`
    section: docs/crypto.md). Secrets (`broker.api_key`, venue credentials) are not accepted here."""

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.\-]*$")
    description: str = Field("", max_length=2000)
    settings: dict[str, Any]


class ConfigOut(_Out):
    id: int
    name: str
    description: str
    settings: dict[str, Any] = Field(validation_alias="body")
    content_hash: str
    version: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


class DiffEntry(_Out):
    field: str
    old: Any = None
    new: Any = None


class ConfigVersionOut(_Out):
    version: int
    content_hash: str
    diff: list[DiffEntry]
    created_at: datetime


class ConfigChangeOut(_Out):
    configuration: ConfigOut
    diff: list[DiffEntry]


class AuditOut(_Out):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class AuditQuery(_In):
    model_config = ConfigDict(extra="forbid", strict=False)
    limit: int = Field(100, ge=1, le=1000)


class TemplateQuery(_In):
    model_config = ConfigDict(extra="forbid", strict=False)
    kind: Literal["spreads", "crypto"] = "spreads"


class ControlIn(_In):
    action: Literal["start", "stop", "restart"]
    reason: str = Field("by the control plane", max_length=500)


class SessionOut(_Out):
    id: str
    configuration_id: int | None
    content_hash: str
    mode: str
    status: str
    started_at: datetime
    stopped_at: datetime | None
    stop_reason: str
    heartbeat_at: datetime | None
    detail: dict[str, Any]


class Heartbeat(_Out):
    """The running session (or the last one): its status, its last heartbeat and how old it is."""

    session: SessionOut | None
    running: bool
    answering: bool
    """A heartbeat came within `heartbeat_stale_s`."""
    heartbeat_age_s: float | None
    trading_states: dict[str, str]
    active_configuration_id: int | None
    active_differs: bool
    """The active profile is not the one the session runs (restart to apply it)."""
    server_time: datetime


class SessionsQuery(_In):
    model_config = ConfigDict(extra="forbid", strict=False)
    limit: int = Field(50, ge=1, le=500)


class SessionQuery(_In):
    model_config = ConfigDict(extra="forbid", strict=False)
    session_id: str | None = Field(None, max_length=40, pattern=r"^[A-Za-z0-9T\-]+$")
    """Default: the running session, or the last one."""
    limit: int = Field(200, ge=1, le=5000)


class OrderOut(_Out):
    client_order_id: str
    owner: str
    legs: list[Any]
    side: str
    quantity: int
    limit_price_per_share: float
    status: str
    filled_quantity: int
    average_fill_price_per_share: float | None
    updated_at: datetime


class PositionOut(_Out):
    symbol: str
    expiry: str
    strike: float
    right: str
    quantity: int
    mark_per_share: float | None
    unrealized_usd: float | None
    delta_shares: float | None
    gamma_shares: float | None
    vega_usd: float | None
    theta_usd: float | None
    updated_at: datetime


class PnlSeries(_Out):
    """The P&L over time as columns (one entry per snapshot, oldest first)."""

    at: list[datetime]
    realized_usd: list[float]
    unrealized_usd: list[float]
    pnl_usd: list[float]


class Dashboard(_Out):
    """KPI tiles and the P&L series of one session (the running one, or the last)."""

    session_id: str | None
    pnl_usd: float
    realized_usd: float
    unrealized_usd: float
    orders: int
    fills: int
    filled_orders: int
    fill_rate: float | None
    """Orders with any fill over orders sent."""
    open_contracts: int
    max_drawdown_usd: float
    """Largest fall of the P&L series from its running peak."""
    series: PnlSeries


class RiskOut(_Out):
    session_id: str | None
    trading_states: dict[str, str]
    working_orders: int | None
    open_contracts: int | None
    denials_by_code: dict[str, int]


class TradingStateIn(_In):
    scope: str | None = Field(None, max_length=120, pattern=r"^[A-Za-z0-9_.\-]+$")
    """A sender (trader-SPY-2026-12-18, flies-..., router); default: the whole session."""
    reason: str = Field("from the command center", min_length=1, max_length=500)
    reducing: bool = False
    """halt only: REDUCING (exposure-reducing orders pass) instead of HALTED."""


class CommandOut(_Out):
    id: str
    state: str
    scope: str | None
    reason: str
    answer: dict[str, Any] | None
    """The session's answer when it came within the request's wait (None: see GET /api/risk later)."""
