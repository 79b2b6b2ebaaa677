"""Core statements in an ORM session (`storage.core`): part of the session's transaction
and savepoints, they see what the session has not flushed yet, and they bind and read
values as SQLAlchemy's own execution would — on the driver directly, or through SQLAlchemy
when someone listens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, event, select
from sqlalchemy.exc import IntegrityError

from storage import core
from storage.db import Database
from storage.models import ActionToken, Territory

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
TERRITORIES = Territory.__table__
TOKENS = ActionToken.__table__
NAMES = core.Statement(select(TERRITORIES.c.name).order_by(TERRITORIES.c.name))
ADD_TERRITORY = core.Statement(TERRITORIES.insert())
ADD_TOKEN = core.Statement(TOKENS.insert().values(kind="support"))
TOKENS_OF = core.Statement(
    select(ActionToken.token, ActionToken.payload, ActionToken.expires_at, ActionToken.emoji)
    .where(ActionToken.slot == bindparam("slot"),
           ActionToken.token.in_(bindparam("tokens", expanding=True)))
    .order_by(ActionToken.token))
RECENT = core.Statement(select(Territory.slug).where(Territory.created_at > bindparam("since")))
EXPIRING = core.Statement(  # a list given each time, of values with a processor; one held
    select(ActionToken.token)
    .where(ActionToken.expires_at.in_(bindparam("times", expanding=True)),
           ActionToken.kind.in_(["support", "publish"]), ActionToken.slot == bindparam("slot"))
    .order_by(ActionToken.token))


def territory(name: str, created_at: datetime = NOW) -> dict[str, object]:
    return {"name": name, "slug": name.lower(), "timezone": "Europe/Rome",
            "created_at": created_at}


def token(name: str, **values: object) -> dict[str, object]:
    return {"token": name, "payload": {"idea": 7, "why": "è così"}, "slot": "c1:idea:7",
            "emoji": None, "chat_id": None, "member_id": None, "expires_at": NOW,
            "created_at": NOW} | values


async def test_a_read_sees_the_sessions_pending_objects(db: Database) -> None:
    async with db.transaction() as session:
        session.add(Territory(**territory("Milano")))
        assert [row.name for row in await core.rows(session, NAMES)] == ["Milano"]


async def test_writes_follow_the_savepoint_and_the_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            assert await core.write(session, ADD_TERRITORY, [territory("Roma")]) == 1
            raise RuntimeError("the transaction fails")
    async with db.transaction() as session:
        await core.write(session, ADD_TERRITORY, territory("Milano"))
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                await core.write(session, ADD_TERRITORY, [territory("Torino")])
                raise RuntimeError("the savepoint fails")
        await core.write(session, ADD_TERRITORY, [territory("Bari"), territory("Napoli")])
    async with db.transaction() as session:
        names = [row.name for row in await core.rows(session, NAMES)]
    assert names == ["Bari", "Milano", "Napoli"]


async def test_values_go_and_come_back_as_sqlalchemy_would_bind_and_read_them(
        db: Database) -> None:
    """JSON, aware UTC times, NULL, a value the statement holds, and an expanding IN whose
    length changes from call to call."""
    async with db.transaction() as session:
        await core.write(session, ADD_TOKEN, [token("a"), token("b", emoji="👍"),
                                              token("c", expires_at=None)])
        first = await core.rows(session, TOKENS_OF, {"slot": "c1:idea:7", "tokens": ["a", "c"]})
        every = await core.rows(session, TOKENS_OF,
                                {"slot": "c1:idea:7", "tokens": ["a", "b", "c", "z"]})
        kinds = (await session.execute(select(ActionToken.kind))).scalars().all()
    assert [(row.token, row.payload, row.expires_at, row.emoji) for row in first] == [
        ("a", {"idea": 7, "why": "è così"}, NOW, None), ("c", {"idea": 7, "why": "è così"},
                                                         None, None)]
    assert first[0].expires_at.tzinfo is not None
    assert [name for name, *_ in every] == ["a", "b", "c"] and every[1].emoji == "👍"
    assert kinds == ["support"] * 3


async def test_plain_values_are_the_records_values(db: Database) -> None:
    """`values` gives what `rows` gives, each row a plain sequence (read through the same
    processors), whichever of the two a statement runs first."""
    params = {"slot": "c1:idea:7", "tokens": ["a", "c"]}
    async with db.transaction() as session:
        await core.write(session, ADD_TOKEN, [token("a"), token("c", expires_at=None)])
        await core.write(session, ADD_TERRITORY, territory("Milano"))
        plain = await core.values(session, TOKENS_OF, params)
        named = await core.rows(session, TOKENS_OF, params)
        names = await core.values(session, NAMES)
    assert [tuple(row) for row in plain] == [tuple(row) for row in named] == [
        ("a", {"idea": 7, "why": "è così"}, NOW, None),
        ("c", {"idea": 7, "why": "è così"}, None, None)]
    assert not hasattr(plain[0], "token") and named[0].token == "a"
    assert [tuple(row) for row in names] == [("Milano",)]  # no processor: as the driver gave


async def test_lists_of_any_length_again_and_again(db: Database) -> None:
    """The SQL of each set of lengths is worked out once and used again: the values of every
    call bind in their places, each through its column's processor (here aware times, in
    another zone, compared in UTC)."""
    rome = ZoneInfo("Europe/Rome")
    times = [NOW + timedelta(hours=n) for n in range(4)]
    async with db.transaction() as session:
        await core.write(session, ADD_TOKEN, [token(name, expires_at=at)
                                              for name, at in zip("abcd", times, strict=True)])

        async def expiring(*hours: int) -> list[str]:
            return [row.token for row in await core.rows(session, EXPIRING, {
                "slot": "c1:idea:7", "times": [times[n].astimezone(rome) for n in hours]})]

        assert await expiring(0, 2) == ["a", "c"]
        assert await expiring(3, 2, 1, 0) == ["a", "b", "c", "d"]
        assert await expiring(1, 3) == ["b", "d"]  # the shape of two again
        assert await expiring() == []
        assert await expiring(3) == ["d"]


async def test_an_aware_time_is_compared_in_utc(db: Database) -> None:
    rome = NOW.astimezone(ZoneInfo("Europe/Rome"))
    async with db.transaction() as session:
        await core.write(session, ADD_TERRITORY, [territory("Prima", NOW - timedelta(hours=2)),
                                                  territory("Dopo", NOW + timedelta(hours=2))])
        found = await core.rows(session, RECENT, {"since": rome})
    assert [row.slug for row in found] == ["dopo"]


async def test_with_a_listener_statements_take_sqlalchemys_way_and_are_seen(
        db: Database) -> None:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.transaction() as session:
            await core.write(session, ADD_TERRITORY, territory("Lecce"))
            assert [row.name for row in await core.rows(session, NAMES)] == ["Lecce"]
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert sum("territories" in statement for statement in seen) == 2


async def test_a_synchronous_connection_runs_them_too(db: Database) -> None:
    def work(connection: object) -> list[str]:
        core.apply(connection, ADD_TERRITORY, territory("Parma"))  # type: ignore[arg-type]
        return [row.name for row in core.fetch(connection, NAMES)]  # type: ignore[arg-type]

    assert await db.run(work) == ["Parma"]


async def test_a_drivers_error_is_raised_as_sqlalchemy_raises_it(db: Database) -> None:
    """Callers catch SQLAlchemy's exceptions (a lock out of reach is an `OperationalError`,
    a clash an `IntegrityError`), whichever way the statement ran."""
    async with db.transaction() as session:
        await core.write(session, ADD_TOKEN, token("a"))
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await core.write(session, ADD_TOKEN, token("a"))
        assert [row.token for row in await core.rows(
            session, TOKENS_OF, {"slot": "c1:idea:7", "tokens": ["a"]})] == ["a"]
