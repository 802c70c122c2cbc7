"""The test services are reachable: Redis answers PING and keeps a value (raw RESP, no client library)."""

from __future__ import annotations

import socket
import uuid
from typing import BinaryIO
from urllib.parse import urlsplit


def command(conn: socket.socket, reader: BinaryIO, *args: str) -> bytes:
    """Send one command as a RESP array; return the first line of the reply, without CRLF."""
    request = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        request.append(b"$%d\r\n%s\r\n" % (len(data), data))
    conn.sendall(b"".join(request))
    return reader.readline().removesuffix(b"\r\n")


def test_redis_answers_and_keeps_a_value(redis_url: str) -> None:
    url = urlsplit(redis_url)
    key = f"test:services:{uuid.uuid4().hex}"
    with (
        socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), timeout=5) as conn,
        conn.makefile("rb") as reader,
    ):
        assert command(conn, reader, "PING") == b"+PONG"
        assert command(conn, reader, "SET", key, "ok", "EX", "60") == b"+OK"
        assert command(conn, reader, "GET", key) == b"$2"
        assert reader.readline() == b"ok\r\n"
        assert command(conn, reader, "DEL", key) == b":1"
