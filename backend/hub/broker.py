"""In-process publish/subscribe for live views: a widget tab, an agent's console.

Topics are strings: `conversation:<id>` carries every message of one conversation, `agents` carries
what any console shows (new messages, state changes). A slow subscriber loses its oldest events rather
than slowing the hub down; the transcript in the database stays complete and is re-read on reconnect.
Several backend processes would fan out through PostgreSQL LISTEN/NOTIFY or Redis instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

AGENTS_TOPIC = "agents"
QUEUE_SIZE = 256


def conversation_topic(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


class Broker:
    """Fan-out of JSON-able events to any number of subscribers per topic.

    publish may be called from any thread (the hub publishes from the worker thread that stored the
    message): each subscriber's queue is filled on its own event loop, in publishing order.
    """

    def __init__(self) -> None:
        self._subscribers: dict[str, set[tuple[asyncio.Queue[dict[str, Any]], asyncio.AbstractEventLoop]]] = (
            defaultdict(set)
        )

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        for queue, loop in list(self._subscribers.get(topic, ())):
            with contextlib.suppress(RuntimeError):  # the subscriber's loop has closed
                loop.call_soon_threadsafe(_offer, queue, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue that receives the topic's events while the context is open."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        entry = (queue, asyncio.get_running_loop())
        self._subscribers[topic].add(entry)
        try:
            yield queue
        finally:
            self._subscribers[topic].discard(entry)
            if not self._subscribers[topic]:
                del self._subscribers[topic]

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))


def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    """Put without blocking; a full queue drops its oldest event (the transcript keeps everything)."""
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(event)
