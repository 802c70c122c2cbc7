"""In-process publish/subscribe for live views: a widget tab, an agent's console.

Topics are strings: `conversation:<id>` carries every message of one conversation, `agents` carries
what any console shows (new messages, state changes). A slow subscriber loses its oldest events rather
than slowing the hub down; the transcript in the database stays complete and is re-read on reconnect.
With several backend processes (REDIS_URL set), `RedisBroker` also sends every event through one
Redis pub/sub channel, so an agent on one process sees a shipper's message that arrived on another.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

AGENTS_TOPIC = "agents"
QUEUE_SIZE = 256
# The Redis channel every backend process publishes its events on and listens to.
REDIS_CHANNEL = "carrier:live-events"
# How long the listener waits before it connects again after Redis went away.
RECONNECT_S = 1.0

logger = logging.getLogger(__name__)


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
        self.deliver(topic, event)

    def deliver(
        self, topic: str, event: dict[str, Any], *, from_loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        """Hand the event to this process's subscribers of the topic; those on `from_loop` (the caller's
        running loop) at once, the others through their own loop."""
        for queue, loop in list(self._subscribers.get(topic, ())):
            if loop is from_loop:
                _offer(queue, event)
                continue
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

    async def caught_up(self) -> None:
        """Returns once this process's subscribers have been handed every event it published so far
        (at once here; RedisBroker waits for their way back from Redis)."""

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))


class RedisBroker(Broker):
    """A Broker whose events reach every backend process, this one included, through Redis pub/sub.

    Every process hears every event from Redis, its own too, so all of them see one order: the order
    Redis received them. A conversation's events are published inside its turn lock, so that order is
    the conversation's. Delivering its own events at once and the others' later would let a widget on
    this process see the answer to message 3 before the answer to message 2 stored by another process,
    and the widget drops an older message id it receives after a newer one.
    While Redis is away (or this listener is not subscribed), events are delivered locally instead and
    the listener keeps trying; live views re-read the transcript on reconnect, so nothing is lost.
    """

    def __init__(self, redis_url: str) -> None:
        import redis

        super().__init__()
        self._url = redis_url
        # Synchronous: the hub publishes from the worker thread that stored the message.
        self._publisher = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        # True while the listener is subscribed: only then does an event sent to Redis come back here.
        self._subscribed = False
        # This process's events carry its origin and a number, so caught_up() can tell when the
        # listener has had every one back (publish runs in worker threads: the counter is locked).
        self.origin = uuid.uuid4().hex
        self._numbers = itertools.count(1)
        self._numbering = threading.Lock()
        self._published = 0
        self._heard = 0
        self._heard_changed = asyncio.Event()

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        if self._subscribed:
            with self._numbering:
                number = next(self._numbers)
                shared = {"origin": self.origin, "number": number, "topic": topic, "event": event}
                try:
                    self._publisher.publish(REDIS_CHANNEL, json.dumps(shared, default=str))
                    self._published = number
                    return  # this process's listener delivers it, in Redis's order
                except Exception:  # Redis down: this process's views still get it, the others later
                    logger.warning("live event not shared through Redis (it is kept in the transcript)")
        self.deliver(topic, event)

    async def caught_up(self, timeout_s: float = 1.0) -> None:
        """Waits (at most `timeout_s`) until the listener has had back every event published so far.

        A widget's acknowledgement of its message is sent after this, so it never overtakes the
        message's own echo and answers on their way through Redis.
        """
        target = self._published
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._subscribed and self._heard < target:
            self._heard_changed.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._heard_changed.wait(), remaining)

    async def start(self) -> None:
        """Listen for the other processes' events until stop(); returns once subscribed (or failed once)."""
        self._listener = asyncio.create_task(self._listen(), name="redis-broker")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=5)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        self._publisher.close()

    async def _listen(self) -> None:
        import redis.asyncio as aioredis

        while True:
            client = aioredis.Redis.from_url(self._url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(REDIS_CHANNEL)
                    self._subscribed = True
                    self._ready.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._receive(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                self._subscribed = False
                logger.warning("live events from other processes paused: Redis unreachable; retrying")
                self._ready.set()
                await asyncio.sleep(RECONNECT_S)
            finally:
                self._subscribed = False
                await client.aclose()

    def _receive(self, data: bytes | str) -> None:
        try:
            shared = json.loads(data)
            topic, event = shared["topic"], shared["event"]
        except (ValueError, KeyError, TypeError):
            logger.warning("a malformed live event on %s was ignored", REDIS_CHANNEL)
            return
        if isinstance(topic, str) and isinstance(event, dict):
            # Handed over now, not scheduled: under uvloop a thread-safe callback can run after a
            # caught_up() waiter that wakes below, and the widget's ack would overtake the event.
            self.deliver(topic, event, from_loop=asyncio.get_running_loop())
        if shared.get("origin") == self.origin and isinstance(shared.get("number"), int):
            self._heard = max(self._heard, shared["number"])
            self._heard_changed.set()


def make_broker(redis_url: str | None) -> Broker:
    """The broker for this process: in-process alone, through Redis when REDIS_URL is set."""
    return RedisBroker(redis_url) if redis_url else Broker()


def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    """Put without blocking; a full queue drops its oldest event (the transcript keeps everything)."""
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(event)
