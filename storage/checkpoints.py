"""SQLite's WAL checkpoints, in a thread of their own.

In WAL mode a commit appends the pages it changed to the log, and a checkpoint copies them
back into the database file. SQLite checkpoints on its own once the log passes 1,000 pages
(`wal_autocheckpoint`): in the commit that passes it, on the connection that made it —
here the event loop's own thread (`storage.sqlite_inline`) — with an fsync of the log and
one of the database file. That commit took 5 to 16 ms instead of about 50 µs, and the whole
bot waited for it: while serving commands, about one commit in a hundred, some 3 % of the
time (bench/README.md, session 12).

Here the connections' own checkpoints are pushed back to a backstop (`BACKSTOP_PAGES`,
only reached if these fall far behind), and a commit at least `EVERY` seconds after the
last checkpoint began starts one: PASSIVE, on a connection of its own, in a worker thread.
It copies what no reader still needs and waits for no one; the loop goes on meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from contextlib import closing

from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

EVERY = 1.0  # seconds: at most one checkpoint begun in each, by a commit
BACKSTOP_PAGES = 10_000  # `wal_autocheckpoint` of the bot's connections (40 MB of log)


class Checkpoints:
    """The background checkpoints of one SQLite database file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._began = float("-inf")
        self._running: asyncio.Task[None] | None = None

    def committed(self) -> None:
        """A transaction is committing: checkpoint if due. (Without an event loop, as in
        Alembic's command line, the backstop does.)"""
        now = time.monotonic()
        if now - self._began < EVERY or (self._running and not self._running.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._began = now
        self._running = loop.create_task(asyncio.to_thread(self._checkpoint),
                                         name="sqlite checkpoint")

    async def wait(self) -> None:
        """Until the checkpoint under way, if any, is done (before closing the database)."""
        if self._running is not None:
            await asyncio.wait([self._running])

    def _checkpoint(self) -> None:
        try:
            with closing(sqlite3.connect(self.path, isolation_level=None)) as connection:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:  # the backstop still holds; the next commit tries again
            log.warning("WAL checkpoint of %s failed", self.path, exc_info=True)


def database_file(url: URL) -> str | None:
    """The file of a SQLite URL that checkpoints apply to: none in memory, none for a URI
    (`?mode=ro&uri=true`: read-only, or more than a path)."""
    path = url.database
    if not path or path == ":memory:" or "uri" in url.query:
        return None
    return path
