"""The hub's HTTP/1.1 client for turns to Rasa: kept-alive, and every failure a clean HttpError."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest

from backend.hub import http1
from backend.hub.http1 import Http1Pool, HttpError

Respond = Callable[[bytes], Awaitable[bytes | None]]


async def serve(respond: Respond, connections: list[int]) -> tuple[asyncio.AbstractServer, str]:
    """A raw HTTP server: `respond` gets each request's body and returns the bytes to answer (None: close
    the connection without answering); `connections` counts the connections it accepted."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                answer = await respond(await reader.readexactly(length))
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def ok(body: bytes, *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def echo(body: bytes) -> bytes:
    return ok(json.dumps({"got": json.loads(body)}).encode())


def test_turns_reuse_one_kept_alive_connection_and_read_the_answers() -> None:
    async def scenario() -> tuple[list[tuple[int, object]], int]:
        connections: list[int] = []
        server, url = await serve(echo, connections)
        pool = Http1Pool(url)
        answers = []
        for n in range(3):
            status, body = await pool.post_json("/hook", json.dumps({"n": n}).encode(), {}, timeout_s=5)
            answers.append((status, json.loads(body)))
        pool.close()
        server.close()
        return answers, len(connections)

    answers, connections = asyncio.run(scenario())
    assert answers == [(200, {"got": {"n": n}}) for n in range(3)]
    assert connections == 1


def test_a_chunked_answer_and_a_closing_server_are_read_whole() -> None:
    async def chunked(body: bytes) -> bytes:
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        return head + b"5\r\n[1, 2\r\n4\r\n, 3]\r\n0\r\n\r\n"

    async def closing(body: bytes) -> bytes:
        return ok(b'{"closed": true}', "Connection: close")

    async def scenario() -> tuple[list[bytes], int]:
        connections: list[int] = []
        server, url = await serve(chunked, connections)
        pool = Http1Pool(url)
        first = (await pool.post_json("/", b"{}", {}, timeout_s=5))[1]
        server.close()
        closing_connections: list[int] = []
        server, url = await serve(closing, closing_connections)
        pool = Http1Pool(url)
        second = (await pool.post_json("/", b"{}", {}, timeout_s=5))[1]
        third = (await pool.post_json("/", b"{}", {}, timeout_s=5))[1]
        server.close()
        return [first, second, third], len(closing_connections)

    bodies, connections = asyncio.run(scenario())
    assert json.loads(bodies[0]) == [1, 2, 3]
    assert bodies[1] == bodies[2] == b'{"closed": true}'
    assert connections == 2  # a connection the server closed is never written to again


def test_an_idle_connection_is_not_reused_after_the_servers_keep_alive_may_have_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http1, "IDLE_REUSE_S", 0.05)

    async def scenario() -> int:
        connections: list[int] = []
        server, url = await serve(echo, connections)
        pool = Http1Pool(url)
        await pool.post_json("/", b"{}", {}, timeout_s=5)
        await asyncio.sleep(0.1)
        await pool.post_json("/", b"{}", {}, timeout_s=5)
        server.close()
        return len(connections)

    assert asyncio.run(scenario()) == 2


def test_every_failure_is_an_http_error_and_the_next_request_works() -> None:
    async def moody(body: bytes) -> bytes | None:
        what = json.loads(body)["what"]
        if what == "slow":
            await asyncio.sleep(1)
        if what == "hang up":
            return None
        if what == "error":
            return b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}"
        if what == "garbage":
            return b"SMTP ready\r\n\r\n"
        return ok(b'{"fine": true}')

    async def scenario() -> list[str]:
        connections: list[int] = []
        server, url = await serve(moody, connections)
        pool = Http1Pool(url)
        seen = []
        for what in ("slow", "hang up", "error", "garbage", "fine"):
            body = json.dumps({"what": what}).encode()
            try:
                await pool.post_json("/", body, {}, timeout_s=0.3)
                seen.append(f"{what}: ok")
            except HttpError:
                seen.append(f"{what}: failed")
        server.close()
        refused = Http1Pool(url)
        try:
            await refused.post_json("/", b"{}", {}, timeout_s=0.3)
        except HttpError:
            seen.append("refused: failed")
        return seen

    assert asyncio.run(scenario()) == [
        "slow: failed",
        "hang up: failed",
        "error: failed",
        "garbage: failed",
        "fine: ok",
        "refused: failed",
    ]
