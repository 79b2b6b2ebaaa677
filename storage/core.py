"""Core statements inside an ORM session's transaction, at a fraction of the cost.

`AsyncSession.execute` spends most of a small statement's time around it rather than in
it: a greenlet of its own, the ORM's compile step for any statement that names mapped
attributes, and the result wrapped for async use — about 90 to 170 µs on SQLite where the
same statement on a plain `Connection` takes 40 µs (bench/README.md). The hot paths'
reads and inserts that load no ORM objects go through `rows` and `write` instead: the
statement on the session's own connection, within its transaction and savepoints, after
the session's pending changes are flushed as `execute` would.

Their statements name table columns (`Model.__table__.c`), not mapped attributes, so that
they skip the ORM's compile step too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


async def rows(session: AsyncSession, statement: Executable,
               params: Params = None) -> Sequence[Row[Any]]:
    """Every row `statement` returns."""
    return await session.run_sync(_rows, statement, params)


async def write(session: AsyncSession, statement: Executable, params: Params = None) -> int:
    """Run an INSERT, UPDATE or DELETE; how many rows it touched, as the driver counts (for
    several sets of parameters asyncpg does not count: -1)."""
    return await session.run_sync(_write, statement, params)


def _rows(session: Session, statement: Executable, params: Params) -> Sequence[Row[Any]]:
    return _execute(session, statement, params).all()


def _write(session: Session, statement: Executable, params: Params) -> int:
    return _execute(session, statement, params).rowcount  # type: ignore[attr-defined, no-any-return]


def _execute(session: Session, statement: Executable, params: Params) -> Any:
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)
