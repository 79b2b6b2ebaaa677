"""Savepoints, as every event runs in one (`bot.dispatcher`): a failed one undoes its own
work only, nested ones included. On PostgreSQL they all share one name
(`storage.postgres`), so what is undone must still be exactly the savepoint's; a batch's
events take a lighter savepoint (`storage.savepoints`), which must put the session back
as the ORM's does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import core
from storage.db import Database
from storage.models import Territory
from storage.savepoints import event_savepoint

NOW = datetime(2026, 11, 22, tzinfo=UTC)


class Refused(Exception):
    pass


def territory(name: str) -> Territory:
    return Territory(name=name, slug=name.lower(), timezone="Europe/Rome", created_at=NOW)


async def names(db: Database) -> list[str]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Territory.name).order_by(Territory.name)))


async def refused(session: AsyncSession, *names: str) -> None:
    with pytest.raises(Refused):
        async with core.savepoint(session):
            session.add_all([territory(name) for name in names])
            await session.flush()
            raise Refused


async def test_a_failed_savepoint_undoes_its_own_work_only(db: Database) -> None:
    async with db.transaction() as session:
        async with core.savepoint(session):
            session.add(territory("Ancona"))
        await refused(session, "Bari")
        async with core.savepoint(session):
            session.add(territory("Como"))
        await refused(session, "Dervio", "Erba")
    assert await names(db) == ["Ancona", "Como"]


async def test_nested_savepoints_end_in_order(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(Refused):  # the inner one ended well, then the outer failed
            async with core.savepoint(session):
                session.add(territory("Asti"))
                async with core.savepoint(session):
                    session.add(territory("Biella"))
                await session.flush()
                raise Refused
        async with core.savepoint(session):  # the inner one failed, the outer goes on
            session.add(territory("Cuneo"))
            await refused(session, "Domodossola")
            session.add(territory("Exilles"))
        with pytest.raises(Refused):  # the inner one failed, then the outer did too
            async with core.savepoint(session):
                session.add(territory("Firenze"))
                await session.flush()
                await refused(session, "Genova")
                session.add(territory("Ivrea"))
                await session.flush()
                raise Refused
    assert await names(db) == ["Cuneo", "Exilles"]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_postgres_savepoints_are_one_prepared_statement(db: Database) -> None:
    said: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute",
                 lambda _conn, _cursor, sql, *_: said.append(sql))
    async with db.transaction() as session:
        for name in ("Fano", "Gubbio"):
            async with core.savepoint(session):
                session.add(territory(name))
        await refused(session, "Imola")
    assert [sql for sql in said if "SAVEPOINT" in sql] == [
        "SAVEPOINT piazzabot_savepoint", "RELEASE SAVEPOINT piazzabot_savepoint"] * 2 + [
        "SAVEPOINT piazzabot_savepoint", "ROLLBACK TO SAVEPOINT piazzabot_savepoint",
        "RELEASE SAVEPOINT piazzabot_savepoint"]
    assert await names(db) == ["Fano", "Gubbio"]


# `storage.savepoints.event_savepoint`: the lighter savepoint of a batch's events puts the
# session back as the ORM's would.


async def test_a_failed_event_takes_its_objects_and_changes_back(db: Database) -> None:
    async with db.transaction() as session:
        kept, changed, doomed = territory("Lecco"), territory("Monza"), territory("Novara")
        session.add_all([kept, changed, doomed])
        await session.flush()
        with pytest.raises(Refused):
            async with event_savepoint(session):
                added = territory("Olbia")
                session.add(added)
                changed.name = "Monza e Brianza"
                await session.delete(doomed)
                await session.flush()
                pending = territory("Padova")
                session.add(pending)
                raise Refused
        assert added not in session and pending not in session
        assert "name" in inspect(changed).expired_attributes
        await session.refresh(changed)  # what a read does, on an async session explicitly
        assert changed.name == "Monza"
        assert await session.get(Territory, doomed.id) is not None
        async with event_savepoint(session):  # the next event goes on from there
            session.add(territory("Quarto"))
    assert await names(db) == ["Lecco", "Monza", "Novara", "Quarto"]


async def test_a_refusal_that_changed_nothing_leaves_the_session_as_it_was(
        db: Database) -> None:
    async with db.transaction() as session:
        place = territory("Rho")
        session.add(place)
        await session.flush()
        with pytest.raises(Refused):
            async with event_savepoint(session):
                raise Refused
        assert not inspect(place).expired_attributes  # loaded objects stay loaded
        assert place.name == "Rho"
