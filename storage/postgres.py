"""PostgreSQL through asyncpg: SQLAlchemy's dialect, with savepoints that cost one round trip.

The `postgresql+asyncpg` URLs of the configuration are served by this dialect
(`storage.db.Database` swaps the driver name). Every event runs in a savepoint
(`bot.dispatcher`), and SQLAlchemy names each one anew (`sa_savepoint_7`, …). asyncpg runs
every statement as a prepared one, and a text it has not seen before is prepared first: a
round trip of its own, besides the server parsing it. So each event paid four round trips
for its SAVEPOINT and RELEASE, a third of what a command cost (bench/README.md).

Here every savepoint has the same name. PostgreSQL allows that: ROLLBACK TO and RELEASE
name the newest savepoint of that name, and SQLAlchemy nests savepoints strictly (the last
begun is the first ended), so the newest is always the one meant — provided each is gone
once ended: ROLLBACK TO keeps its savepoint, so it is released at once after (only a
failed event pays that round trip). The three statements are then prepared once per
connection and cached like any other.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import URL, make_url

from storage import core

DRIVER = "piazzabot_asyncpg"
SAVEPOINT = "piazzabot_savepoint"


class PostgresDialect(PGDialect_asyncpg):
    """asyncpg's dialect: same SQL, types and connect arguments; one name for savepoints."""

    driver = DRIVER
    supports_statement_cache = True

    # Straight to the driver (`core.plain`), unless someone listens (echo,
    # before_cursor_execute): compiling a SavepointClause costs more than the statement.
    def do_savepoint(self, connection: Connection, name: str) -> None:
        core.plain(connection, f"SAVEPOINT {SAVEPOINT}")

    def do_release_savepoint(self, connection: Connection, name: str) -> None:
        core.plain(connection, f"RELEASE SAVEPOINT {SAVEPOINT}")

    def do_rollback_to_savepoint(self, connection: Connection, name: str) -> None:
        core.plain(connection, f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
        # Left in place, it would be the newest of the name: an enclosing savepoint's
        # ROLLBACK TO would stop at it and keep what was done before.
        core.plain(connection, f"RELEASE SAVEPOINT {SAVEPOINT}")


registry.register(f"postgresql.{DRIVER}", __name__, "PostgresDialect")


def postgres_url(url: str) -> URL:
    """`url` (`postgresql+asyncpg://…`, as configured) served by this dialect."""
    return make_url(url).set(drivername=f"postgresql+{DRIVER}")
