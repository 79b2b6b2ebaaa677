"""Small writes of concurrent tasks, committed together.

The delivery loop marks each message sent right after the platform accepted it, before
that destination's next message goes. With many destinations served at once, those
one-row transactions queue for the database one by one. Here a write joins the next
transaction: while one commits, the writes that arrive meanwhile are gathered, and go
together in the one after. Each caller still returns only once its own write is
committed, so what it promised before (marked before its next message) holds; a
transaction that fails fails every write in it, and each caller decides what to do, as
it would alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import Connection

from storage.db import Database

Write = Callable[[Connection], None]


class SharedWrites:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._queued: list[tuple[Write, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def run(self, write: Write) -> None:
        """`write(connection)`, in a transaction shared with the writes queued with it;
        returns once it is committed. Cancelling the caller does not cancel the write."""
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((write, committed))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued(), name="shared writes")
        await committed

    async def _write_queued(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []

            def write_all(conn: Connection, batch: list[tuple[Write, asyncio.Future[None]]] = batch
                          ) -> None:
                for write, _committed in batch:
                    write(conn)

            try:
                await self.db.uncut(self.db.run(write_all))
            except Exception as error:
                for _write, committed in batch:
                    if not committed.done():
                        committed.set_exception(error)
            else:
                for _write, committed in batch:
                    if not committed.done():
                        committed.set_result(None)
