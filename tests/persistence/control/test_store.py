"""The control store against SQLite and a real PostgreSQL: migrations, profiles, versions, activation, audit,
sessions, and a database that goes away."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from persistence.control.errors import ConflictError, DatabaseUnavailableError, NotFoundError
from persistence.control.migrate import head_revision
from persistence.control.store import ControlStore, config_diff
from persistence.control.tables import (
    AuditEntry,
    Base,
    ConfigurationVersion,
    StrategySession,
    TradingConfiguration,
)

T0 = datetime(2026, 12, 7, 14, 30, tzinfo=timezone.utc)


def run(coroutine):
    return asyncio.run(coroutine)


async def _opened(url: str) -> ControlStore:
    return await ControlStore(url).open()


def test_migrations_create_exactly_the_models_tables(control_db_url):
    async def check():
        store = await _opened(control_db_url)
        async with store.engine.connect() as connection:
            diffs = await connection.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync),
                                                                            Base.metadata))
        await store.close()
        return store.revision, diffs

    revision, diffs = run(check())
    assert revision == head_revision()
    assert diffs == []


def test_opening_twice_migrates_once_and_keeps_rows(control_db_url):
    async def check():
        store = await _opened(control_db_url)
        await store.create_configuration("a", "", {"x": 1}, "h1", "me", T0)
        await store.close()
        again = await _opened(control_db_url)
        names = [c.name for c in await again.list_configurations()]
        await again.close()
        return names

    assert run(check()) == ["a"]


def test_a_change_writes_a_version_with_its_diff_and_an_audit_row(control_db_url):
    async def check():
        store = await _opened(control_db_url)
        row = await store.create_configuration("p", "first", {"sizing": {"max": 2}, "symbols": ["SPY"]}, "h1", "me",
                                               T0)
        same, no_diff = await store.update_configuration(row.id, "p", "renamed", {"sizing": {"max": 2},
                                                         "symbols": ["SPY"]}, "h1", "me", T0 + timedelta(seconds=1))
        changed, diff = await store.update_configuration(row.id, "p", "renamed", {"sizing": {"max": 3},
                                                         "symbols": ["SPY"]}, "h2", "ui", T0 + timedelta(seconds=2))
        versions = await store.versions(row.id)
        audit = await store.audit()
        await store.close()
        return same, no_diff, changed, diff, versions, audit

    same, no_diff, changed, diff, versions, audit = run(check())
    assert same.version == 1 and no_diff == []
    assert changed.version == 2 and changed.content_hash == "h2" and changed.description == "renamed"
    assert diff == [{"field": "sizing.max", "old": 2, "new": 3}]
    assert [(v.version, v.content_hash) for v in versions] == [(1, "h1"), (2, "h2")]
    assert versions[1].diff == diff
    assert [(a.action, a.actor) for a in audit] == [("update", "ui"), ("update", "me"), ("create", "me")]
    assert audit[0].detail["diff"] == diff


def test_activation_leaves_exactly_one_active_even_when_two_processes_race(control_db_url):
    async def check():
        first, second = await _opened(control_db_url), await _opened(control_db_url)
        rows = [await first.create_configuration(f"p{i}", "", {"i": i}, f"h{i}", "me", T0) for i in range(4)]
        for _ in range(5):
            await asyncio.gather(*(store.activate_configuration(row.id, "me", T0)
                                   for store, row in zip((first, second, first, second), rows)),
                                 return_exceptions=True)
        active = [c.name for c in await first.list_configurations() if c.is_active]
        last = await first.activate_configuration(rows[2].id, "me", T0)
        after = [c.name for c in await second.list_configurations() if c.is_active]
        await first.close()
        await second.close()
        return active, last, after

    active, last, after = run(check())
    assert len(active) == 1
    assert last.is_active and after == ["p2"]


def test_the_database_itself_refuses_a_second_active_profile(control_db_url):
    async def check():
        store = await _opened(control_db_url)
        one = await store.create_configuration("a", "", {}, "h", "me", T0)
        two = await store.create_configuration("b", "", {}, "h", "me", T0)
        await store.activate_configuration(one.id, "me", T0)
        with pytest.raises(ConflictError):
            async with store._transaction() as session:
                (await session.get(TradingConfiguration, two.id)).is_active = True
        active = await store.active_configuration()
        await store.close()
        return active.name

    assert run(check()) == "a"


def test_a_refused_change_writes_nothing(control_db_url):
    async def check():
        store = await _opened(control_db_url)
        await store.create_configuration("a", "", {"x": 1}, "h", "me", T0)
        with pytest.raises(ConflictError, match="exists already"):
            await store.create_configuration("a", "", {"x": 2}, "h2", "me", T0)
        with pytest.raises(NotFoundError):
            await store.update_configuration(99, "z", "", {}, "h", "me", T0)
        with pytest.raises(NotFoundError):
            await store.activate_configuration(99, "me", T0)
        counts = [await store.count(t) for t in (TradingConfiguration, ConfigurationVersion, AuditEntry)]
        await store.close()
        return counts

    assert run(check()) == [1, 1, 1]


def test_only_one_session_is_active_at_a_time(control_db_url):
    def session(name: str, status: str = "starting") -> StrategySession:
        return StrategySession(id=name, configuration_id=None, content_hash="h", mode="paper", status=status,
                               started_at=T0, stop_reason="", ledger_path="", detail={})

    async def check():
        store = await _opened(control_db_url)
        await store.create_session(session("s1"), "me")
        with pytest.raises(ConflictError, match="s1 is still active"):
            await store.create_session(session("s2"), "me")
        await store.update_session("s1", status="stopped", stopped_at=T0, stop_reason="by hand")
        await store.create_session(session("s3"), "me")
        listed = [(s.id, s.status) for s in await store.sessions()]
        active = (await store.active_session()).id
        await store.close()
        return listed, active

    listed, active = run(check())
    assert sorted(listed) == [("s1", "stopped"), ("s3", "starting")]
    assert active == "s3"


def test_diff_names_every_leaf_that_changed():
    assert config_diff({"a": {"b": 1, "c": [1]}, "d": 2}, {"a": {"b": 1, "c": [2]}, "e": {"f": 3}}) == [
        {"field": "a.c", "old": [1], "new": [2]},
        {"field": "d", "old": 2, "new": None},
        {"field": "e.f", "old": None, "new": 3},
    ]


def test_a_database_that_goes_away_raises_unavailable_and_is_found_again(postgres):
    url = postgres.new_database()

    async def check():
        store = await _opened(url)
        await store.create_configuration("a", "", {}, "h", "me", T0)
        postgres.stop()
        try:
            with pytest.raises(DatabaseUnavailableError):
                await store.list_configurations()
            with pytest.raises(DatabaseUnavailableError):
                await store.create_configuration("b", "", {}, "h", "me", T0)
        finally:
            postgres.start_again()
        names = [c.name for c in await store.list_configurations()]
        async with store._transaction() as session:
            audit = (await session.scalars(select(AuditEntry.action))).all()
        await store.close()
        return names, audit

    names, audit = run(check())
    assert names == ["a"] and audit == ["create"]


def test_the_database_itself_refuses_a_second_active_session(control_db_url):
    def session(name: str) -> StrategySession:
        return StrategySession(id=name, configuration_id=None, content_hash="h", mode="paper", status="running",
                               started_at=T0, stop_reason="", ledger_path="", detail={})

    async def check():
        store = await _opened(control_db_url)
        await store.create_session(session("s1"), "me")
        with pytest.raises(ConflictError):
            async with store._transaction() as transaction:           # past the check, as a racing server would be
                row = session("s2")
                row.active_slot = 1
                transaction.add(row)
        await store.update_session("s1", status="stopped")
        await store.create_session(session("s3"), "me")
        rows = {s.id: (s.status, s.active_slot) for s in await store.sessions()}
        await store.close()
        return rows

    assert run(check()) == {"s1": ("stopped", None), "s3": ("running", 1)}
