"""The control plane's tables (SQLAlchemy 2): trading profiles with their versions and an audit trail, strategy
sessions, the order and position ledgers mirrored from a session's own ledger and book, and analytics snapshots.

Times are UTC `datetime`s; money is in US dollars (`_usd`), prices per share (`_per_share`). A profile's `body` is
the validated session settings as JSON (secrets never stored); `content_hash` is its `SessionConfig.config_id`.
The migrations in `migrations/versions` create exactly these tables (a test compares them)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """An aware UTC datetime in and out, on every database (SQLite keeps no offset: it is stored as UTC and read
    back as UTC); a naive datetime is refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a naive datetime ({value}) has no time zone: pass UTC")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime}


class TradingConfiguration(Base):
    """A trading profile; at most one is active (a partial unique index holds it across processes)."""

    __tablename__ = "trading_configuration"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        Index("one_active_configuration", "is_active", unique=True,
              sqlite_where=text("is_active"), postgresql_where=text("is_active")),
    )


class ConfigurationVersion(Base):
    """Every body a profile has had, keyed by its content hash, with the diff from the version before."""

    __tablename__ = "configuration_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    configuration_id: Mapped[int] = mapped_column(ForeignKey("trading_configuration.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(16))
    body: Mapped[dict] = mapped_column(JSON)
    diff: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (Index("configuration_version_unique", "configuration_id", "version", unique=True),)


class AuditEntry(Base):
    """One row per change anyone made through the control plane: who (the token's name), what, to what."""

    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))
    detail: Mapped[dict] = mapped_column(JSON)


class StrategySession(Base):
    """A paper or live session the control plane started: its profile version, its life and its last heartbeat."""

    __tablename__ = "strategy_session"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    configuration_id: Mapped[int | None] = mapped_column(
        ForeignKey("trading_configuration.id", ondelete="SET NULL"), nullable=True)
    content_hash: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    stop_reason: Mapped[str] = mapped_column(Text, default="")
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ledger_path: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    active_slot: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """1 while the session is starting, running or stopping, NULL after: its unique index allows one active."""
    __table_args__ = (Index("one_active_session", "active_slot", unique=True),)


class OrderLedgerRow(Base):
    """An order of a session as its ledger folds it (one row per client order id, updated as events arrive)."""

    __tablename__ = "order_ledger"
    session_id: Mapped[str] = mapped_column(ForeignKey("strategy_session.id", ondelete="CASCADE"), primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    owner: Mapped[str] = mapped_column(String(120))
    legs: Mapped[list] = mapped_column(JSON)
    side: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[int] = mapped_column(Integer)
    limit_price_per_share: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(24))
    filled_quantity: Mapped[int] = mapped_column(Integer)
    average_fill_price_per_share: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_event_seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PositionLedgerRow(Base):
    """A contract a session holds, with its mark, P&L and greeks from the book at `updated_at`."""

    __tablename__ = "position_ledger"
    session_id: Mapped[str] = mapped_column(ForeignKey("strategy_session.id", ondelete="CASCADE"), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(16), primary_key=True)
    expiry: Mapped[str] = mapped_column(String(10), primary_key=True)
    strike: Mapped[float] = mapped_column(Float, primary_key=True)
    right: Mapped[str] = mapped_column(String(1), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    mark_per_share: Mapped[float | None] = mapped_column(Float, nullable=True)
    unrealized_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    delta_shares: Mapped[float | None] = mapped_column(Float, nullable=True)
    gamma_shares: Mapped[float | None] = mapped_column(Float, nullable=True)
    vega_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    theta_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TradeAnalyticsSnapshot(Base):
    """A session's P&L and activity at one moment: the dashboard's tiles and its P&L series."""

    __tablename__ = "trade_analytics_snapshot"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("strategy_session.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    realized_usd: Mapped[float] = mapped_column(Float)
    unrealized_usd: Mapped[float] = mapped_column(Float)
    orders: Mapped[int] = mapped_column(Integer)
    fills: Mapped[int] = mapped_column(Integer)
    open_contracts: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("snapshot_by_session", "session_id", "at"),)
