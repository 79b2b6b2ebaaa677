"""The adapter's networking backend for PTB (`AiohttpRequest`) against a real HTTP server:
forms as PTB's own backend sends them, with files or without, and failures as PTB's errors
(which the adapter turns into "retry later")."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter  # as PTB's Bot builds them

from adapters.telegram.http import AiohttpRequest

Received = list[dict[str, object]]


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Received]]:
    received: Received = []

    async def answer(request: web.Request) -> web.Response:
        form = await request.post()
        received.append({"type": request.content_type, "agent": request.headers["User-Agent"],
                         **{name: (value.file.read() if isinstance(value, web.FileField)
                                   else value) for name, value in form.items()}})
        return web.json_response({"ok": True, "result": {"message_id": 7}})

    async def silent(_request: web.Request) -> web.Response:
        await asyncio.sleep(1)  # longer than the read timeout below
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/answer", answer)
    app.router.add_post("/silent", silent)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", received
    await runner.cleanup()


def data(**values: object) -> RequestData:
    return RequestData([RequestParameter.from_input(name, value)
                        for name, value in values.items()])


async def test_parameters_go_as_a_form_and_files_as_multipart(
        server: tuple[str, Received]) -> None:
    url, received = server
    async with AiohttpRequest() as request:
        answer = await request.post(f"{url}/answer", data(chat_id=5, text="ciao"))
        await request.post(f"{url}/answer", data(
            chat_id=5, document=InputFile(b"BEGIN:VCALENDAR", filename="cena.ics")))
    assert answer == {"message_id": 7}
    plain, upload = received
    assert plain["type"] == "application/x-www-form-urlencoded"
    assert (plain["chat_id"], plain["text"]) == ("5", "ciao")
    assert str(plain["agent"]).startswith("python-telegram-bot")
    assert upload["type"] == "multipart/form-data"
    assert upload["chat_id"] == "5"
    assert upload["document"] == b"BEGIN:VCALENDAR"


async def test_no_answer_in_time_is_timed_out(server: tuple[str, Received]) -> None:
    url, _ = server
    async with AiohttpRequest(read_timeout=0.2) as request:
        with pytest.raises(TimedOut):
            await request.post(f"{url}/silent", data(chat_id=5))


async def test_no_server_is_a_network_error() -> None:
    with socket.socket() as spare:  # a port nothing listens on
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/sendMessage", data(chat_id=5))
    assert not isinstance(raised.value, TimedOut)
