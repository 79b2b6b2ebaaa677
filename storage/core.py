"""Core statements of the hot paths, compiled once and run straight on the driver.

A small select through `AsyncSession.execute` costs 122 µs on SQLite; on the session's
connection (`Connection.execute`) 70 µs; most of that is SQLAlchemy's execution step —
the cache key computed and looked up, an execution context built, the parameters
processed, a result object wrapped around the cursor — not SQLite, which answers in a few
microseconds. As here, 17 µs (`bench/statement_cost.py`). A `Statement` built at import
keeps what that step works out
— the SQL, the parameters' order and processors, the columns' processors — once per
dialect and set of parameter names, and `rows` / `write` hand the values to the driver's
cursor of the session's own connection: within its transaction and savepoints, after the
session's pending changes are flushed, as `execute` would.

SQLAlchemy's own step still runs a statement whenever it does more than bind and read:
defaults computed in Python, RETURNING from several sets of parameters — and whenever
someone listens (`echo`, `before_cursor_execute`), so that logs and statement counts stay
true.

Updates and deletes of rows the session may hold as objects stay ORM statements, which keep
those objects in step.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import cache, partial
from typing import Any, TypeVar

from sqlalchemy import Connection, Executable, bindparam, inspect, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.sqltypes import TupleType

T = TypeVar("T")
Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None
Processor = Callable[[Any], Any] | None
_Bind = tuple[str, int | None, Processor, Any]
MAX_SHAPES = 64  # SQL texts kept a statement, one for each set of its lists' lengths
# `session.info` key: the session holds its SQLite connection and the write lock from the
# start (`storage.db.Database.transaction`), so a statement never has to wait and may run on
# the event loop itself, without a greenlet.
INLINE = "piazzabot.inline"


class Statement:
    """A Core statement run through `rows` and `write`; build it once, at import."""

    __slots__ = ("_plans", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[tuple[Any, ...], _Plan] = {}

    def __repr__(self) -> str:
        return f"core.Statement({self.statement})"

    def plan(self, dialect: Dialect, first: Mapping[str, Any], many: bool) -> _Plan:
        key = (type(dialect), tuple(first), many)
        plan = self._plans.get(key)
        if plan is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=list(first),
                                              for_executemany=many)
            plan = self._plans[key] = _Plan(compiled, first, many)  # type: ignore[arg-type]
        return plan


class _Plan:
    """What SQLAlchemy's execution step works out for one compiled form of a statement."""

    __slots__ = ("binds", "compiled", "delegated", "fixed", "lists", "processors", "record",
                 "results", "shapes", "sql", "typed")

    def __init__(self, compiled: SQLCompiler, first: Mapping[str, Any], many: bool) -> None:
        self.compiled = compiled
        state = compiled.construct_expanded_state(first)
        self.delegated = bool(compiled.insert_prefetch or compiled.update_prefetch
                              or (many and compiled.effective_returning)
                              or state.positiontup is None)  # named parameters: not ours
        # Expanding parameters (`IN`) and escaped names change the SQL from call to call.
        self.fixed = not (compiled.post_compile_params or compiled.literal_execute_params
                          or compiled.escaped_bind_names)
        # When only lists change it (`IN` of plain values), the SQL depends on their lengths
        # alone: one shape a set of lengths (`_shape`), worked out once.
        self.lists: tuple[tuple[str, Any], ...] | None = None
        if not (self.fixed or compiled.literal_execute_params or compiled.escaped_bind_names
                or any(isinstance(p.type, TupleType) for p in compiled.post_compile_params)):
            self.lists = tuple((compiled.bind_names[p], p.effective_value)
                               for p in compiled.post_compile_params)
        self.shapes: dict[tuple[int, ...], tuple[str, tuple[_Bind, ...]]] = {}
        self.sql = state.statement
        escaped = compiled.escaped_bind_names
        dialect = compiled.dialect
        self.processors = {escaped.get(name, name): processor
                           for parameter, name in compiled.bind_names.items()
                           if (processor := parameter.type.dialect_impl(dialect)
                               .bind_processor(dialect)) is not None}
        # (name, processor, the value of a parameter the statement itself holds)
        self.binds = tuple((name, self.processors.get(name),
                            None if name in first else state.parameters[name])
                           for name in state.positiontup or ())
        self.results: tuple[Processor, ...] | None = None
        self.typed = False  # whether any column has a processor
        self.record: Any = None

    def prepared(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL and the driver's arguments for one set of parameters."""
        if self.fixed:
            arguments = []
            for name, process, held in self.binds:
                value = params.get(name, held)
                arguments.append(process(value) if process else value)
            return self.sql, arguments
        if self.lists is not None:
            lists = {name: _listed(params.get(name, held)) for name, held in self.lists}
            lengths = tuple(map(len, lists.values()))
            shape = self.shapes.get(lengths)
            if shape is None:
                shape = self._shape(params)
                if len(self.shapes) < MAX_SHAPES:
                    self.shapes[lengths] = shape
            sql, binds = shape
            arguments = []
            for name, index, process, held in binds:
                value = params.get(name, held) if index is None else lists[name][index]
                arguments.append(process(value) if process else value)
            return sql, arguments
        state = self.compiled.construct_expanded_state(params)
        processors = {**self.processors, **state.processors}
        return state.statement, [processors[name](value) if name in processors else value
                                 for name in state.positiontup or ()
                                 for value in (state.parameters[name],)]

    def _shape(self, params: Mapping[str, Any]) -> tuple[str, tuple[_Bind, ...]]:
        """The SQL for these lists' lengths, and where each of its parameters comes from:
        (name, place in its list or None, processor, value the statement holds)."""
        state = self.compiled.construct_expanded_state(params)
        processors = {**self.processors, **state.processors}
        listed = {key: (name, index) for name, keys in state.parameter_expansion.items()
                  for index, key in enumerate(keys)}
        binds = tuple((*listed[key], processors.get(key), None) if key in listed
                      else (key, None, processors.get(key),
                            None if key in params else state.parameters[key])
                      for key in state.positiontup or ())
        return state.statement, binds

    def records(self, dialect: Dialect, description: Sequence[Any],
                found: list[tuple[Any, ...]]) -> list[Any]:
        """The rows as named tuples (attributes named as the columns)."""
        make = self._describe(dialect, description)
        return [make(row) for row in self._values(found)]

    def values(self, dialect: Dialect, description: Sequence[Any],
               found: list[tuple[Any, ...]]) -> list[Any]:
        """The rows as plain sequences: no named tuple to make for each row."""
        self._describe(dialect, description)
        return self._values(found)

    def _describe(self, dialect: Dialect, description: Sequence[Any]) -> Any:
        """The first time: the result processors and the named tuple, as the driver
        describes the columns. Returns the named tuple's maker."""
        if self.results is None:
            columns = self.compiled.statement.exported_columns  # type: ignore[attr-defined]
            self.results = tuple(column.type.dialect_impl(dialect).result_processor(
                dialect, described[1]) for column, described in zip(columns, description,
                                                                     strict=True))
            self.typed = any(self.results)
            self.record = namedtuple("Record", [d[0] for d in description],  # type: ignore[misc]
                                     rename=True)
        return self.record._make

    def _values(self, found: list[tuple[Any, ...]]) -> list[Any]:
        """Each value of `found` through its type's result processor, if any has one."""
        if not self.typed:
            return found
        results = self.results
        return [[process(value) if process else value
                 for process, value in zip(results, row, strict=True)] for row in found]


async def rows(session: AsyncSession, statement: Statement,
               params: Params = None) -> list[Any]:
    """Every row `statement` returns, as named tuples."""
    connection = _inline(session)
    if connection is not None:
        return _run(connection, statement, params, returns=True)
    return await session.run_sync(_in_session, statement, params, True)


async def values(session: AsyncSession, statement: Statement,
                 params: Params = None) -> list[Any]:
    """Every row `statement` returns, as plain sequences: for the tens of thousands of rows
    of a digest's counts, where making each a named tuple cost more than reading it."""
    connection = _inline(session)
    if connection is not None:
        return _run(connection, statement, params, returns=True, named=False)
    return await session.run_sync(_in_session, statement, params, True, False)


async def write(session: AsyncSession, statement: Statement, params: Params = None) -> int:
    """Run an INSERT, UPDATE or DELETE; how many rows it touched, as the driver counts (for
    several sets of parameters asyncpg does not count: -1)."""
    connection = _inline(session)
    if connection is not None:
        return _run(connection, statement, params, returns=False)  # type: ignore[no-any-return]
    return await session.run_sync(_in_session, statement, params, False)  # type: ignore[no-any-return]


async def get(session: AsyncSession, kind: type[T], ident: int, *,
              lock: bool = False) -> T | None:
    """`session.get(kind, ident)` (`with_for_update` if `lock`), at a fraction of its cost.

    An object the session holds, not expired, is taken from it as `get` would, without the
    greenlet `AsyncSession.get` goes through (25–50 µs); to be locked, it is read again
    with `FOR UPDATE` and takes the row's values (as `populate_existing` would: another
    transaction may have changed the row before the lock; `session.get` left them as they
    were). One it does not hold is read with a statement of this module, built once a
    model, and handed to the session as loaded (`make_transient_to_detached`, then `add`,
    SQLAlchemy's way to give it an object whose row is known): about 100 µs on SQLite,
    where the ORM's load by primary key costs about 270 (bench/README.md). An expired object,
    and a changed one to lock (its changes are the session's to write, not the row's values
    to replace), go to `session.get` itself. For models without relationships, as all of
    ours are."""
    sync = session.sync_session
    held = sync.identity_map.get(identity_key(kind, ident))
    state = instance_state(held) if held is not None else None
    if state is not None and (state.expired or (lock and state.modified)):
        return await session.get(kind, ident, with_for_update=lock)
    if held is not None and not lock:
        return held  # type: ignore[no-any-return]
    statement, keys = _by_id(kind, lock)
    found = await rows(session, statement, {"id": ident})
    if not found:
        return None
    values = zip(keys, found[0], strict=True)
    if held is not None:
        for key, value in values:
            set_committed_value(held, key, value)
        return held  # type: ignore[no-any-return]
    instance = kind(**dict(values))
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


@cache
def _by_id(kind: type, lock: bool) -> tuple[Statement, tuple[str, ...]]:
    """The statement reading a `kind` row by primary key (`FOR UPDATE` if `lock`), and
    the attribute of each of its columns."""
    attributes = inspect(kind).column_attrs
    (key,) = inspect(kind).primary_key
    query = select(*(attribute.columns[0] for attribute in attributes)).where(
        key == bindparam("id"))
    return (Statement(query.with_for_update() if lock else query),
            tuple(attribute.key for attribute in attributes))


def fetch(connection: Connection, statement: Statement, params: Params = None) -> list[Any]:
    """`rows`, on a synchronous connection (`storage.db.Database.run`)."""
    return _run(connection, statement, params, returns=True)  # type: ignore[no-any-return]


def apply(connection: Connection, statement: Statement, params: Params = None) -> int:
    """`write`, on a synchronous connection (`storage.db.Database.run`)."""
    return _run(connection, statement, params, returns=False)  # type: ignore[no-any-return]


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[None]:
    """`session.begin_nested()`. On SQLite, whose session holds the write lock (`INLINE`),
    the savepoint is begun and ended — its flush and RELEASE, or ROLLBACK TO — right on the
    loop: two greenlet switches fewer, for every event (bench/README.md)."""
    if not session.info.get(INLINE):
        async with session.begin_nested():
            yield
        return
    with session.sync_session.begin_nested():
        yield


def _listed(values: Any) -> Sequence[Any]:
    return values if isinstance(values, list | tuple) else list(values)


def _inline(session: AsyncSession) -> Connection | None:
    """The session's connection if a statement may run on it right here: SQLite, and
    nothing left to flush. (Asked of the session each time: a savepoint begun since is
    emitted then.)"""
    if not session.info.get(INLINE) or (session.autoflush and (session.new or session.dirty
                                                                 or session.deleted)):
        return None
    return session.sync_session.connection()


def _in_session(session: Session, statement: Statement, params: Params, returns: bool,
                named: bool = True) -> Any:
    if session.autoflush:
        session.flush()
    return _run(session.connection(), statement, params, returns=returns, named=named)


def _run(connection: Connection, statement: Statement, params: Params, *,
         returns: bool, named: bool = True) -> Any:
    many = isinstance(params, Sequence)
    sets: Sequence[Mapping[str, Any]] = params if many else [params or {}]  # type: ignore[list-item, assignment]
    if not sets:
        return [] if returns else 0
    dialect = connection.dialect
    plan = statement.plan(dialect, sets[0], many and len(sets) > 1)
    if plan.delegated or _listened(connection):
        result = connection.execute(statement.statement, params)
        return result.all() if returns else result.rowcount  # type: ignore[attr-defined]
    if len(sets) == 1:
        sql, arguments = plan.prepared(sets[0])
        return on_driver(connection, sql, arguments, many=False,
                         read=partial(plan.records if named else plan.values, dialect)
                         if returns else None)
    return on_driver(connection, plan.sql, [plan.prepared(values)[1] for values in sets],
                     many=True, read=None)


def plain(connection: Connection, sql: str) -> None:
    """Run `sql`, which takes no parameters and returns no rows (BEGIN, SAVEPOINT…), on the
    driver — or through SQLAlchemy's execution while someone listens."""
    if _listened(connection):
        connection.exec_driver_sql(sql)
    else:
        on_driver(connection, sql, (), many=False, read=None)


def _listened(connection: Connection) -> bool:
    """Whether statements are logged or watched: then they all take SQLAlchemy's way."""
    return bool(connection.engine.echo or connection.dispatch.before_cursor_execute)


def on_driver(connection: Connection, sql: str, arguments: Any, *, many: bool,
              read: Callable[[Sequence[Any], list[Any]], list[Any]] | None) -> Any:
    """Run `sql` on the driver's cursor of `connection`; `read(description, rows)` what it
    returns, or its rowcount. A driver's error is raised as SQLAlchemy would raise it
    (`IntegrityError`, `OperationalError`…), and a lost connection is invalidated."""
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, arguments)
        else:
            cursor.execute(sql, arguments)
        if read is None:
            return cursor.rowcount
        description = cursor.description
        return read(description, cursor.fetchall()) if description else []
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, dbapi_connection, cursor):
            connection.invalidate(error)
        raise DBAPIError.instance(sql, arguments, error, dialect.loaded_dbapi.Error,
                                  dialect=dialect) from error
    finally:
        cursor.close()
