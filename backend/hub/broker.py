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
    """Fan-out of JSON-able events to any number of subscribers per topic."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers.get(topic, ())):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue that receives the topic's events while the context is open."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._subscribers[topic].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[topic].discard(queue)
            if not self._subscribers[topic]:
                del self._subscribers[topic]

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))
