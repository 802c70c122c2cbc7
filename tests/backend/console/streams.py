"""A console live stream read as it arrives (TestClient buffers a whole response, a stream never ends)."""

from __future__ import annotations

import queue
import time
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

from backend.hub.records import Inbound
from backend.services.conversations import parse_conversation_id


def listening(app: FastAPI, topic: str) -> None:
    """Wait until a stream has subscribed to `topic` (what is published before that is not its to show)."""
    deadline = time.monotonic() + 10
    while app.state.hub.broker.subscriber_count(topic) == 0:
        assert time.monotonic() < deadline, f"nobody subscribed to {topic}"
        time.sleep(0.02)


def shipper_says(app: FastAPI, client: TestClient, conversation_id: str, text: str) -> None:
    """A shipper's message through the app's hub, as a channel hands it on (stored, then published)."""
    channel, external = parse_conversation_id(conversation_id)
    assert client.portal is not None
    client.portal.call(app.state.hub.receive, Inbound(channel=channel, external_id=external, text=text))


class LiveStream:
    """One GET of a server-sent-events route, run on the client's event loop, read chunk by chunk."""

    def __init__(self, client: TestClient, path: str, headers: dict[str, str] | None = None) -> None:
        portal = client.portal
        assert portal is not None, "open the client with `with` (the app's lifespan must run)"
        self.text = ""
        self.status: int | None = None
        self._chunks: queue.Queue[Message] = queue.Queue()
        self._finished = False
        cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        sent = {"accept-language": "en", **(headers or {}), "cookie": cookies, "host": "testserver"}
        path_only, _, query = path.partition("?")
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path_only,
            "raw_path": path_only.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 40000),
            "headers": [(k.lower().encode(), v.encode()) for k, v in sent.items()],
        }
        self._gone = portal.call(anyio.Event)
        self._portal = portal
        requested = False

        async def receive() -> Message:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await self._gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            self._chunks.put(message)

        async def run() -> None:
            try:
                await client.app(scope, receive, send)
            finally:
                self._chunks.put({"type": "finished"})

        self._future = portal.start_task_soon(run)

    def _take(self, timeout: float) -> bool:
        """Read what arrives within `timeout`; False once the response has ended."""
        try:
            message = self._chunks.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return not self._finished
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.text += message.get("body", b"").decode()
        elif message["type"] == "finished":
            self._finished = True
        return not self._finished

    def read_until(self, wanted: str, timeout: float = 10.0) -> bool:
        """Whether `wanted` appears in the stream within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while wanted not in self.text and time.monotonic() < deadline and not self._finished:
            self._take(deadline - time.monotonic())
        return wanted in self.text

    def read_for(self, seconds: float) -> str:
        """Everything that arrives within `seconds` (or until the stream ends)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self._finished:
            self._take(deadline - time.monotonic())
        return self.text

    def ends_within(self, timeout: float) -> bool:
        """Whether the server ends the response within `timeout` seconds (reading it meanwhile)."""
        deadline = time.monotonic() + timeout
        while not self._finished and time.monotonic() < deadline:
            self._take(deadline - time.monotonic())
        return self._finished

    def close(self) -> None:
        """The browser leaves: the server sees a disconnect."""
        if not self._finished:
            self._portal.call(self._gone.set)
            self.ends_within(10)
