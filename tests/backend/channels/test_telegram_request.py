"""The bot's Bot API requests on kept-alive connections: answers go the short way, everything else
through httpx, and every failure is the library's own error without the token in it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from backend.channels.telegram.request import KeptAliveRequest
from tests.fakes.images import png_bytes
from tests.fakes.telegram_api import FakeBotApi

CHAT = 777_001


class CountingHTTPX(HTTPXRequest):
    """httpx, counting what it was asked to carry."""

    def __init__(self) -> None:
        super().__init__()
        self.carried: list[str] = []

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        self.carried.append(f"{method} {url.rsplit('/', 1)[-1]}")
        return await super().do_request(url, method, *args, **kwargs)


@pytest.fixture(scope="module")
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as fake:
        yield fake


def bot_on(base_url: str, token: str, fallback: HTTPXRequest | None = None) -> Bot:
    return Bot(
        token,
        base_url=base_url,
        base_file_url=base_url.replace("/bot", "/file/bot"),
        request=KeptAliveRequest(base_url, fallback),
    )


def test_answers_go_on_kept_alive_connections_and_uploads_and_downloads_through_httpx(
    api: FakeBotApi,
) -> None:
    fallback = CountingHTTPX()
    photo = api.add_file(png_bytes())

    async def scenario() -> bytes:
        async with bot_on(api.base_url, api.token, fallback) as bot:
            await bot.send_message(CHAT, "您的快件已到达南宁。", reply_markup=None)
            await bot.send_message(CHAT, "second & last: 100% <ok>")
            await bot.send_chat_action(CHAT, "typing")
            await bot.set_webhook("https://carrier.example/telegram", certificate=b"-----BEGIN CERT")
            file = await bot.get_file(photo)
            return bytes(await file.download_as_bytearray())

    downloaded = asyncio.run(scenario())
    assert api.texts(CHAT)[-2:] == ["您的快件已到达南宁。", "second & last: 100% <ok>"]
    assert downloaded == png_bytes()
    # Only the upload (multipart) and the download (GET) went through httpx.
    assert fallback.carried[0] == "POST setWebhook" and len(fallback.carried) == 2
    assert fallback.carried[1].startswith("GET ") and fallback.carried[1].endswith(".png")
    assert all(call.status == 200 for call in api.calls("sendMessage")[-2:])


def test_telegram_refusals_become_the_library_errors(api: FakeBotApi) -> None:
    async def refused(status: int, description: str) -> Exception:
        api.fail_next("sendMessage", status=status, description=description, chat_id=CHAT)
        async with bot_on(api.base_url, api.token) as bot:
            with pytest.raises(Exception) as raised:
                await bot.send_message(CHAT, "hello")
        return raised.value

    assert isinstance(asyncio.run(refused(400, "Bad Request: chat not found")), BadRequest)
    assert isinstance(asyncio.run(refused(403, "Forbidden: bot was blocked by the user")), Forbidden)
    limited = asyncio.run(refused(429, ""))
    assert isinstance(limited, RetryAfter) and limited.retry_after == 1


def test_no_server_and_a_silent_server_are_network_errors_without_the_token() -> None:
    token = "123456789:AAE-secret-token-value-never-logged"

    async def silent_server() -> tuple[asyncio.AbstractServer, int]:
        async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(65536)
            await asyncio.sleep(30)

        server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        return server, server.sockets[0].getsockname()[1]

    async def scenario() -> tuple[Exception, Exception]:
        server, port = await silent_server()
        request = KeptAliveRequest(f"http://127.0.0.1:{port}/bot")
        await request.initialize()
        try:
            with pytest.raises(TimedOut) as timed_out:
                await request.post(
                    f"http://127.0.0.1:{port}/bot{token}/sendMessage", read_timeout=0.2, connect_timeout=0.2
                )
        finally:
            await request.shutdown()
            server.close()
        closed = KeptAliveRequest("http://127.0.0.1:9/bot")  # the discard port: nothing listens
        await closed.initialize()
        try:
            with pytest.raises(NetworkError) as no_server:
                await closed.post(f"http://127.0.0.1:9/bot{token}/sendMessage")
        finally:
            await closed.shutdown()
        return timed_out.value, no_server.value

    timed_out, no_server = asyncio.run(scenario())
    assert isinstance(timed_out, TimedOut)
    assert isinstance(no_server, NetworkError) and not isinstance(no_server, TimedOut)
    for error in (timed_out, no_server):
        assert "secret-token" not in str(error) and "secret-token" not in repr(error.__cause__)
