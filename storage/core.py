"""Core statements inside an ORM session's transaction, for less than `session.execute`.

`AsyncSession.execute` spends much of a small statement's time around it: the ORM's
execution step for any statement that names mapped attributes, and the result wrapped for
async use — a small select costs 139 µs on SQLite that way (90 µs naming table columns),
84 µs on the session's connection as here, whatever it names, and 40 µs on a plain
`Connection` inside one greenlet (bench/README.md). The hot paths' reads that load no ORM
objects, and their inserts, go through `rows` and `write`: the statement on the session's
own connection, within its transaction and savepoints, after the session's pending
changes are flushed as `execute` would. Updates and deletes of rows the session may hold
as objects stay ORM statements, which keep those objects in step.
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
