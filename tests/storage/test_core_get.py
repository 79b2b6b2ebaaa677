"""`storage.core.get`: `session.get` by a shorter way, with the same outcome — the object
the session holds, or one loaded from its row that the session then keeps in step."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.util import identity_key

from storage import core
from storage.db import Database
from storage.models import Territory

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


async def add_territory(db: Database, name: str) -> int:
    async with db.transaction() as session:
        territory = Territory(name=name, slug=name.lower(), timezone="Europe/Rome",
                              created_at=NOW)
        session.add(territory)
        await session.flush()
        return territory.id


def columns(instance: object) -> dict[str, object]:
    return {a.key: getattr(instance, a.key) for a in inspect(Territory).column_attrs}


async def test_a_row_not_held_is_loaded_as_the_orm_loads_it(db: Database) -> None:
    ident = await add_territory(db, "Bologna")
    async with db.transaction() as session:
        expected = columns(await session.get(Territory, ident))
    async with db.transaction() as session:
        loaded = await core.get(session, Territory, ident)
        assert loaded is not None and columns(loaded) == expected
        assert inspect(loaded).persistent and not session.dirty
        assert await session.get(Territory, ident) is loaded
        loaded.name = "Bologna centro"  # the session keeps it in step, as any object it loaded
    async with db.transaction() as session:
        assert (await session.get_one(Territory, ident)).name == "Bologna centro"


async def test_the_session_keeps_what_it_loaded_for_the_next_event(db: Database) -> None:
    ident = await add_territory(db, "Rimini")
    async with db.transaction() as session:
        first = id(await core.get(session, Territory, ident))
        gc.collect()  # nothing but the session holds it now
        assert session.sync_session.identity_map.get(identity_key(Territory, ident)) is not None
        assert id(await core.get(session, Territory, ident)) == first


async def test_a_held_object_is_taken_as_held_and_an_expired_one_read_again(
        db: Database) -> None:
    ident = await add_territory(db, "Parma")
    async with db.transaction() as session:
        held = await session.get_one(Territory, ident)
        await session.execute(update(Territory).where(Territory.id == ident)
                              .values(name="Parma est").execution_options(
                                  synchronize_session=False))
        assert await core.get(session, Territory, ident) is held
        assert held.name == "Parma"  # as `session.get` gives it: not read again
        session.expire_all()
        assert await core.get(session, Territory, ident) is held
        assert held.name == "Parma est"


async def test_a_missing_row_is_none(db: Database) -> None:
    async with db.transaction() as session:
        assert await core.get(session, Territory, 404) is None
        assert await core.get(session, Territory, 404, lock=True) is None


async def test_a_held_object_to_lock_takes_the_rows_values(db: Database) -> None:
    ident = await add_territory(db, "Ferrara")
    async with db.transaction() as session:
        held = await session.get_one(Territory, ident)
        await session.execute(update(Territory).where(Territory.id == ident)
                              .values(name="Ferrara nord").execution_options(
                                  synchronize_session=False))  # as another transaction
        assert await core.get(session, Territory, ident, lock=True) is held
        assert held.name == "Ferrara nord" and not session.dirty


async def test_a_changed_object_to_lock_keeps_its_changes(db: Database) -> None:
    ident = await add_territory(db, "Cesena")
    async with db.transaction() as session:
        held = await session.get_one(Territory, ident)
        held.name = "Cesena mare"
        with session.no_autoflush:
            assert await core.get(session, Territory, ident, lock=True) is held
        assert held.name == "Cesena mare"
    async with db.transaction() as session:
        assert (await session.get_one(Territory, ident)).name == "Cesena mare"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("held", [False, True])
async def test_a_locked_row_waits_for_the_transaction(db: Database, held: bool) -> None:
    ident = await add_territory(db, "Modena")
    nowait = select(Territory.id).where(Territory.id == ident).with_for_update(nowait=True)
    async with db.transaction() as session:
        if held:
            await session.get(Territory, ident)
        assert await core.get(session, Territory, ident, lock=True) is not None
        async with db.transaction() as other:
            with pytest.raises(DBAPIError, match="could not obtain lock"):
                await other.execute(nowait)
    async with db.transaction() as other:
        assert await other.scalar(nowait) == ident
