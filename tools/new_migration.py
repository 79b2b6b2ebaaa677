"""Write a new Alembic migration from the difference between the models and the migrations.

    python tools/new_migration.py 0002 "meetups"

It applies the existing migrations to a scratch SQLite database, then autogenerates the
next one into storage/migrations/versions/. Read and tidy what it writes.
"""

import asyncio
import sys
import tempfile
from pathlib import Path

from alembic import command

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from storage.db import Database, alembic_config


async def main(rev_id: str, message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/scratch.db")
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
            await conn.run_sync(lambda c: command.revision(
                alembic_config(c), message=message, autogenerate=True, rev_id=rev_id))
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
