"""PostgreSQL through asyncpg: SQLAlchemy's dialect, with savepoints under one name.

The `postgresql+asyncpg` URLs of the configuration are served by this dialect
(`storage.db.Database` swaps the driver name). Why one name: asyncpg prepares every new
statement text in a round trip of its own, and SQLAlchemy's savepoint names are new for
every event (`storage.savepoints`).
"""

from __future__ import annotations

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import URL, make_url

from storage.savepoints import OneName

DRIVER = "piazzabot_asyncpg"


class PostgresDialect(OneName, PGDialect_asyncpg):
    """asyncpg's dialect: same SQL, types and connect arguments; one name for savepoints."""

    driver = DRIVER
    supports_statement_cache = True


registry.register(f"postgresql.{DRIVER}", __name__, "PostgresDialect")


def postgres_url(url: str) -> URL:
    """`url` (`postgresql+asyncpg://…`, as configured) served by this dialect."""
    return make_url(url).set(drivername=f"postgresql+{DRIVER}")
