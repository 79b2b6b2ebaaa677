"""Fixtures running the Matrix adapter tests against one real Synapse per test session.

A test module using `synapse` or `matrix_client` must run in the *session*
event loop, where the server process and the clients live; declare::

    pytestmark = pytest.mark.asyncio(loop_scope="session")

or put ``@pytest.mark.asyncio(loop_scope="session")`` on each such test (the guard in
`pytest_runtest_setup` below fails a test that forgets, with that hint). Keep plain
(non-async) tests out of a module with that ``pytestmark``: pytest-asyncio warns about
them (see ``test_synapse_config.py``).

If Synapse is not installed or does not start, the tests using it are skipped,
except when ``CI=true``: then they fail, because CI must always run them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.adapters.matrix.harness import BotFactory
from tests.adapters.matrix.helpers import ClientFactory, start_or_skip
from tests.adapters.matrix.synapse import SynapseServer

logger = logging.getLogger(__name__)

SESSION_LOOP_FIXTURES = frozenset({"synapse", "matrix_client", "matrix_bot"})
_STARTED_SERVER = pytest.StashKey[SynapseServer]()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def synapse(request: pytest.FixtureRequest) -> AsyncIterator[SynapseServer]:
    """One Synapse for the whole session (it starts in ~2 s, but there is no need to pay
    that per test: tests stay independent by registering their own users and rooms)."""
    server = await start_or_skip(SynapseServer())
    request.config.stash[_STARTED_SERVER] = server
    logger.info("Synapse started in %.2fs at %s", server.startup_seconds, server.base_url)
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def matrix_client(synapse: SynapseServer, tmp_path: Path) -> AsyncIterator[ClientFactory]:
    """``await matrix_client("alice")`` -> a logged-in ``nio.AsyncClient`` for a new user
    (E2E store of its own under `tmp_path`); ``await matrix_client.restart(client)`` ->
    the same device restored from its access token. All are closed at the end of the test."""
    factory = ClientFactory(synapse, tmp_path / "nio-stores")
    try:
        yield factory
    finally:
        await factory.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def matrix_bot(synapse: SynapseServer, tmp_path: Path) -> AsyncIterator[BotFactory]:
    """``await matrix_bot()`` -> the whole bot (`bot.app.App` with the `MatrixAdapter`) as a
    new Matrix user, first sync done; ``await matrix_bot.restart(bot)`` -> the same bot
    restarted on its database and crypto store. All are stopped at the end of the test."""
    factory = BotFactory(synapse, tmp_path / "bots")
    try:
        yield factory
    finally:
        await factory.aclose()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail early and clearly when a test using these fixtures runs in another event loop:
    the clients it makes would then be closed by `matrix_client` from the session loop,
    not theirs, and server-bound objects could be used across loops."""
    if SESSION_LOOP_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())):
        return
    marker = item.get_closest_marker("asyncio")
    loop_scope = (marker.kwargs.get("loop_scope") if marker else None) or item.config.getini(
        "asyncio_default_test_loop_scope"
    )
    if loop_scope != "session":
        pytest.fail(
            f"{item.nodeid} uses the session-scoped Synapse but runs in the {loop_scope!r} "
            'event loop; declare pytestmark = pytest.mark.asyncio(loop_scope="session")',
            pytrace=False,
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report how long Synapse took to start (a record, not an assertion)."""
    server = terminalreporter.config.stash.get(_STARTED_SERVER, None)
    if server is not None and server.startup_seconds is not None:
        terminalreporter.write_line(
            f"Synapse started in {server.startup_seconds:.2f}s ({server.base_url})"
        )
