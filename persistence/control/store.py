"""The control plane's store: async SQLAlchemy over SQLite (aiosqlite, the default) or PostgreSQL (asyncpg).

Each method is one transaction: it writes everything it says or nothing. Callers pass the time (`now`, UTC) and
who acts (`actor`); every change writes an audit row in the same transaction. Rows come back detached
(readable after the session closed)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, func, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlAlchemyTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from persistence.control.errors import ConflictError, DatabaseUnavailableError, NotFoundError
from persistence.control.migrate import upgrade
from persistence.control.tables import (
    AuditEntry,
    ConfigurationVersion,
    OrderLedgerRow,
    PositionLedgerRow,
    StrategySession,
    TradeAnalyticsSnapshot,
    TradingConfiguration,
)

ACTIVE_SESSION_STATES = ("starting", "running", "stopping")


def config_diff(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Every leaf that differs between two settings trees: [{"field": "a.b", "old": ..., "new": ...}], sorted."""
    changes = []
    for key in sorted(set(old) | set(new)):
        field = f"{prefix}{key}"
        before, after = old.get(key), new.get(key)
        if isinstance(before, Mapping) or isinstance(after, Mapping):
            if (before is None or isinstance(before, Mapping)) and (after is None or isinstance(after, Mapping)):
                changes.extend(config_diff(before or {}, after or {}, field + "."))
                continue
        if before != after:
            changes.append({"field": field, "old": before, "new": after})
    return changes


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    """An engine for `sqlite+aiosqlite:///path` (its folder made; WAL), `sqlite+aiosqlite://` (memory) or
    `postgresql+asyncpg://...`; connections are checked before use, so a restarted server is found again."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {"poolclass": StaticPool} if not path or path == ":memory:" else {}
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class ControlStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.revision: str | None = None

    async def open(self) -> ControlStore:
        """Migrate to the newest schema (creating the tables on a new database)."""
        async with self._guard():
            self.revision = await upgrade(self.engine)
            if self.url.startswith("sqlite") and ":///" in self.url:
                async with self.engine.begin() as connection:
                    await connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        return self

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self._guard(), self.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    @contextlib.asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        try:
            yield
        except IntegrityError as err:
            raise ConflictError(f"the change collides with another: {err.orig}") from None
        except (OperationalError, InterfaceError, SqlAlchemyTimeout, OSError) as err:
            raise DatabaseUnavailableError(f"the database cannot be reached: {type(err).__name__}") from None

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._guard(), self._sessions() as session, session.begin():
            yield session

    # ---- trading profiles ------------------------------------------------------------------------------------

    async def list_configurations(self) -> list[TradingConfiguration]:
        async with self._transaction() as session:
            return list((await session.scalars(select(TradingConfiguration).order_by(TradingConfiguration.id))).all())

    async def configuration(self, configuration_id: int) -> TradingConfiguration:
        async with self._transaction() as session:
            return await _configuration(session, configuration_id)

    async def active_configuration(self) -> TradingConfiguration | None:
        async with self._transaction() as session:
            query = select(TradingConfiguration).where(TradingConfiguration.is_active.is_(True))
            return (await session.scalars(query)).one_or_none()

    async def create_configuration(self, name: str, description: str, body: dict, content_hash: str, actor: str,
                                   now: datetime) -> TradingConfiguration:
        async with self._transaction() as session:
            if await session.scalar(select(TradingConfiguration.id).where(TradingConfiguration.name == name)):
                raise ConflictError(f"a profile named {name!r} exists already")
            row = TradingConfiguration(name=name, description=description, body=body, content_hash=content_hash,
                                       version=1, is_active=False, created_at=now, updated_at=now)
            session.add(row)
            await session.flush()
            diff = config_diff({}, body)
            session.add(ConfigurationVersion(configuration_id=row.id, version=1, content_hash=content_hash, body=body,
                                             diff=diff, created_at=now))
            session.add(AuditEntry(at=now, actor=actor, action="create", subject=f"configuration:{row.id}",
                                   detail={"name": name, "content_hash": content_hash, "version": 1}))
            return row

    async def update_configuration(self, configuration_id: int, name: str, description: str, body: dict,
                                   content_hash: str, actor: str, now: datetime) -> tuple[TradingConfiguration, list]:
        """A new version where the settings changed (none where only the name or description did); returns the
        row and the settings' diff."""
        async with self._transaction() as session:
            row = await _configuration(session, configuration_id, lock=True)
            taken = select(TradingConfiguration.id).where(TradingConfiguration.name == name,
                                                          TradingConfiguration.id != configuration_id)
            if await session.scalar(taken):
                raise ConflictError(f"a profile named {name!r} exists already")
            diff = config_diff(row.body, body)
            detail: dict[str, Any] = {"diff": diff}
            if name != row.name or description != row.description:
                detail["renamed"] = {"old": [row.name, row.description], "new": [name, description]}
            row.name, row.description, row.updated_at = name, description, now
            if diff:
                row.body, row.content_hash, row.version = body, content_hash, row.version + 1
                session.add(ConfigurationVersion(configuration_id=row.id, version=row.version,
                                                 content_hash=content_hash, body=body, diff=diff, created_at=now))
            detail.update(version=row.version, content_hash=row.content_hash)
            session.add(AuditEntry(at=now, actor=actor, action="update", subject=f"configuration:{row.id}",
                                   detail=detail))
            return row, diff

    async def activate_configuration(self, configuration_id: int, actor: str, now: datetime) -> TradingConfiguration:
        """Make this profile the one active profile, in one transaction (the others lose the flag first)."""
        async with self._transaction() as session:
            row = await _configuration(session, configuration_id, lock=True)
            before = await session.scalar(select(TradingConfiguration.id).where(TradingConfiguration.is_active))
            await session.execute(update(TradingConfiguration).where(TradingConfiguration.is_active)
                                  .values(is_active=False))
            await session.flush()
            row.is_active = True
            session.add(AuditEntry(at=now, actor=actor, action="activate", subject=f"configuration:{row.id}",
                                   detail={"previous": before, "version": row.version,
                                           "content_hash": row.content_hash}))
            return row

    async def versions(self, configuration_id: int) -> list[ConfigurationVersion]:
        async with self._transaction() as session:
            await _configuration(session, configuration_id)
            query = (select(ConfigurationVersion).where(ConfigurationVersion.configuration_id == configuration_id)
                     .order_by(ConfigurationVersion.version))
            return list((await session.scalars(query)).all())

    async def audit(self, limit: int = 100) -> list[AuditEntry]:
        async with self._transaction() as session:
            query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
            return list((await session.scalars(query)).all())

    async def record(self, actor: str, action: str, subject: str, detail: dict, now: datetime) -> None:
        """An audit row for an action that changes nothing in this database (a halt sent to the engine)."""
        async with self._transaction() as session:
            session.add(AuditEntry(at=now, actor=actor, action=action, subject=subject, detail=detail))

    # ---- sessions ---------------------------------------------------------------------------------------------

    async def create_session(self, row: StrategySession, actor: str) -> StrategySession:
        """A new session row, refused (ConflictError) while another session is starting, running or stopping (the
        check names it; the unique `active_slot` holds it when two servers race)."""
        async with self._transaction() as session:
            busy = await session.scalar(select(StrategySession.id)
                                        .where(StrategySession.status.in_(ACTIVE_SESSION_STATES)))
            if busy:
                raise ConflictError(f"session {busy} is still active: stop it first")
            row.active_slot = 1 if row.status in ACTIVE_SESSION_STATES else None
            session.add(row)
            session.add(AuditEntry(at=row.started_at, actor=actor, action="start", subject=f"session:{row.id}",
                                   detail={"configuration_id": row.configuration_id, "mode": row.mode,
                                           "content_hash": row.content_hash}))
            return row

    async def update_session(self, session_id: str, **values: Any) -> StrategySession:
        async with self._transaction() as session:
            row = await session.get(StrategySession, session_id)
            if row is None:
                raise NotFoundError(f"no session {session_id!r}")
            for key, value in values.items():
                setattr(row, key, value)
            row.active_slot = 1 if row.status in ACTIVE_SESSION_STATES else None
            return row

    async def sessions(self, limit: int = 100) -> list[StrategySession]:
        async with self._transaction() as session:
            query = select(StrategySession).order_by(StrategySession.started_at.desc()).limit(limit)
            return list((await session.scalars(query)).all())

    async def session(self, session_id: str) -> StrategySession:
        async with self._transaction() as session:
            row = await session.get(StrategySession, session_id)
            if row is None:
                raise NotFoundError(f"no session {session_id!r}")
            return row

    async def active_session(self) -> StrategySession | None:
        async with self._transaction() as session:
            query = (select(StrategySession).where(StrategySession.status.in_(ACTIVE_SESSION_STATES))
                     .order_by(StrategySession.started_at.desc()))
            return (await session.scalars(query)).first()

    # ---- ledgers and analytics ------------------------------------------------------------------------------

    async def save_orders(self, session_id: str, rows: Iterable[OrderLedgerRow]) -> int:
        """Insert or update orders by (session, client order id)."""
        count = 0
        async with self._transaction() as session:
            for row in rows:
                row.session_id = session_id
                await session.merge(row)
                count += 1
        return count

    async def replace_positions(self, session_id: str, rows: Iterable[PositionLedgerRow]) -> None:
        """The session's positions as of now (contracts no longer held are removed)."""
        async with self._transaction() as session:
            await session.execute(delete(PositionLedgerRow).where(PositionLedgerRow.session_id == session_id))
            for row in rows:
                row.session_id = session_id
                session.add(row)

    async def add_snapshot(self, row: TradeAnalyticsSnapshot) -> None:
        async with self._transaction() as session:
            session.add(row)

    async def orders(self, session_id: str, limit: int = 500) -> list[OrderLedgerRow]:
        async with self._transaction() as session:
            query = (select(OrderLedgerRow).where(OrderLedgerRow.session_id == session_id)
                     .order_by(OrderLedgerRow.last_event_seq.desc()).limit(limit))
            return list((await session.scalars(query)).all())

    async def positions(self, session_id: str) -> list[PositionLedgerRow]:
        async with self._transaction() as session:
            query = (select(PositionLedgerRow).where(PositionLedgerRow.session_id == session_id)
                     .order_by(PositionLedgerRow.symbol, PositionLedgerRow.expiry, PositionLedgerRow.strike,
                               PositionLedgerRow.right))
            return list((await session.scalars(query)).all())

    async def snapshots(self, session_id: str, limit: int = 2000) -> list[TradeAnalyticsSnapshot]:
        """The newest `limit` snapshots of a session, oldest first."""
        async with self._transaction() as session:
            query = (select(TradeAnalyticsSnapshot).where(TradeAnalyticsSnapshot.session_id == session_id)
                     .order_by(TradeAnalyticsSnapshot.at.desc()).limit(limit))
            return list(reversed((await session.scalars(query)).all()))

    async def pnl_series(self, session_id: str, limit: int = 2000) -> list[tuple]:
        """(at, realized_usd, unrealized_usd, fills, open_contracts) of the newest `limit` snapshots, oldest first:
        plain rows, no objects (the dashboard reads thousands per request)."""
        async with self._transaction() as session:
            t = TradeAnalyticsSnapshot
            query = (select(t.at, t.realized_usd, t.unrealized_usd, t.fills, t.open_contracts)
                     .where(t.session_id == session_id).order_by(t.at.desc()).limit(limit))
            return list(reversed((await session.execute(query)).all()))

    async def order_counts(self, session_id: str) -> tuple[int, int]:
        """(orders, orders with any fill) of a session, counted by the database."""
        async with self._transaction() as session:
            o = OrderLedgerRow
            query = select(func.count(), func.count().filter(o.filled_quantity > 0)).where(o.session_id == session_id)
            orders, filled = (await session.execute(query)).one()
            return int(orders), int(filled)

    async def count(self, table: type) -> int:
        async with self._transaction() as session:
            return int(await session.scalar(select(func.count()).select_from(table)))


async def _configuration(session: AsyncSession, configuration_id: int, lock: bool = False) -> TradingConfiguration:
    query = select(TradingConfiguration).where(TradingConfiguration.id == configuration_id)
    if lock:
        query = query.with_for_update()
    row = (await session.scalars(query)).one_or_none()
    if row is None:
        raise NotFoundError(f"no trading configuration {configuration_id}")
    return row
