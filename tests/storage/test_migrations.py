"""The migrations build exactly the tables the models describe, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, insert, select

from storage.db import Database, alembic_config
from storage.models.ideas import IdeaSupport
from storage.schema import metadata


async def test_migrations_match_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.upgrade()
        await db.upgrade()  # a second run is a no-op
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
        assert diff == []
    finally:
        await db.dispose()


async def test_supports_take_their_ideas_territory_when_the_schema_moves_on(
        database_url: str) -> None:
    """Migration 0011 gives each support its idea's territory (the digests count by it)."""
    moment = datetime(2026, 11, 2, 9, tzinfo=UTC)
    rows = {
        "territories": [{"id": n, "slug": f"t{n}", "name": f"T{n}", "timezone": "Europe/Rome",
                         "created_at": moment} for n in (1, 2)],
        "members": [{"id": 7, "display_name": "Anna", "created_at": moment}],
        "ideas": [{"id": n, "territory_id": n, "author_id": 7, "text": "Idea", "status": "new",
                   "created_at": moment, "updated_at": moment} for n in (1, 2)],
        "idea_supports": [{"idea_id": n, "member_id": 7, "created_at": moment} for n in (1, 2)],
    }

    def before_0011(conn: Connection) -> None:
        command.upgrade(alembic_config(conn), "0010")
        for table, values in rows.items():
            conn.execute(insert(metadata.tables[table]), values)

    db = Database(database_url)
    try:
        await db.run(before_0011)
        await db.upgrade()
        supports = await db.run(lambda conn: conn.execute(
            select(IdeaSupport.idea_id, IdeaSupport.territory_id)
            .order_by(IdeaSupport.idea_id)).all())
        assert [tuple(row) for row in supports] == [(1, 1), (2, 2)]
    finally:
        await db.dispose()
