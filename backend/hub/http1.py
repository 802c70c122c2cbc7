"""A small HTTP/1.1 client with kept-alive connections, for the hub's two hot calls: a turn to Rasa and
the Telegram answer that follows it (backend/channels/telegram/request.py).

httpx costs about 2.5 ms of CPU per request here (its request model, httpcore's pool and anyio's
streams), several times what the hub's own work on a turn now costs (tools/hub_cost.py). Both calls are
one small POST to a known server, so this writes the request in one piece on a pooled asyncio
connection and reads a Content-Length or chunked answer: about a tenth of the CPU. Anything
unexpected closes the connection and raises HttpError; nothing here retries a request the server may
have read.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

# An idle connection older than this is not reused: servers close idle keep-alive connections (uvicorn
# after 5 s, Sanic after 5 s by default), and a request written into a closing one would be lost.
IDLE_REUSE_S = 2.0
# At most this many idle connections are kept; the gateway's concurrency bounds the busy ones.
MAX_IDLE = 32
# A status line or header longer than this is not HTTP we expect from Rasa.
MAX_LINE = 16 * 1024


class HttpError(Exception):
    """The request failed: no connection, a timeout, a broken answer or a status that is not 2xx."""


class HttpTimeout(HttpError):
    """No whole answer came within the request's time."""


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def usable(self, now: float) -> bool:
        return (
            now - self.idle_since < IDLE_REUSE_S and not self.reader.at_eof() and not self.writer.is_closing()
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class Http1Pool:
    """POSTs JSON bodies to one server (scheme, host and port of `base_url`) over kept-alive connections."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._tls = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        self._prefix = parts.path.rstrip("/")
        default = (self._tls and self._port == 443) or (not self._tls and self._port == 80)
        self._host_header = self._host if default else f"{self._host}:{self._port}"
        self._idle: list[_Connection] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def post_json(
        self, path: str, body: bytes, headers: dict[str, str], *, timeout_s: float
    ) -> tuple[int, bytes]:
        """(status, body) of one POST of `body` (JSON) to `path`; raises HttpError on any failure."""
        status, answer = await self.post(path, body, "application/json", headers, timeout_s=timeout_s)
        if not 200 <= status < 300:
            raise HttpError(f"status {status}")
        return status, answer

    async def post(
        self, path: str, body: bytes, content_type: str, headers: dict[str, str], *, timeout_s: float | None
    ) -> tuple[int, bytes]:
        """(status, body) of one POST to `path` below the base path, whatever the status; raises HttpError
        when no answer came (no connection, a timeout, a broken answer)."""
        head = [
            f"POST {self._prefix}{path} HTTP/1.1",
            f"Host: {self._host_header}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in headers.items()),
            "",
            "",
        ]
        request = "\r\n".join(head).encode("latin-1") + body
        connection = self._take()
        try:
            status, answer, _kept = await asyncio.wait_for(self._exchange(connection, request), timeout_s)
        except BaseException as error:  # a timeout or cancellation included: the connection is spent
            if connection is not None:
                connection.close()
            if isinstance(error, asyncio.TimeoutError):
                raise HttpTimeout(f"no answer within {timeout_s} s") from error
            if isinstance(error, OSError | asyncio.IncompleteReadError | ValueError):
                raise HttpError(f"{error.__class__.__name__}: {error}") from error
            raise
        return status, answer

    def _take(self) -> _Connection | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections belong to the loop that opened them
            self._idle.clear()
            self._loop = loop
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.usable(now):
                return connection
            connection.close()
        return None

    def _give_back(self, connection: _Connection) -> None:
        if len(self._idle) >= MAX_IDLE:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        self._idle.append(connection)

    async def _exchange(self, connection: _Connection | None, request: bytes) -> tuple[int, bytes, bool]:
        if connection is None:
            reader, writer = await asyncio.open_connection(
                self._host, self._port, ssl=True if self._tls else None, limit=MAX_LINE
            )
            connection = _Connection(reader, writer)
        reader, writer = connection.reader, connection.writer
        try:
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            version, _, rest = status_line.decode("latin-1").partition(" ")
            if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
                raise HttpError(f"not an HTTP/1.x answer: {status_line[:60]!r}")
            status = int(rest[:3])
            length: int | None = None
            chunked = False
            keep = version == "HTTP/1.1"
            while True:
                line = await reader.readline()
                if not line.endswith(b"\n"):
                    raise HttpError("the answer's headers ended early")
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                name, value = name.strip().lower(), value.strip()
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding":
                    chunked = "chunked" in value.lower()
                elif name == "connection":
                    keep = value.lower() == "keep-alive" or (keep and "close" not in value.lower())
            if chunked:
                answer = await _read_chunked(reader)
            elif length is not None:
                answer = await reader.readexactly(length)
            else:
                answer, keep = await reader.read(), False  # the body ends with the connection
        except BaseException:
            connection.close()
            raise
        if keep:
            self._give_back(connection)
        else:
            connection.close()
        return status, answer, keep

    def close(self) -> None:
        """Close the idle connections (the busy ones close when their request ends)."""
        while self._idle:
            self._idle.pop().close()

    async def aclose(self) -> None:
        """Close the idle connections and wait until their sockets are closed (at shutdown).

        `close()` only asks the transports to close; their sockets close on a later turn of the loop,
        which at shutdown may never come.
        """
        closing = [connection.writer for connection in self._idle]
        self.close()
        for writer in closing:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readline()
        size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)  # the chunk's CRLF
