"""Live events across backend processes: what one process publishes, another's subscribers receive."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from backend.config import Settings
from backend.hub.broker import AGENTS_TOPIC, Broker, RedisBroker, conversation_topic, make_broker


async def next_event(queue: asyncio.Queue[dict[str, Any]], timeout: float = 2.0) -> dict[str, Any]:
    return await asyncio.wait_for(queue.get(), timeout)


def test_one_process_alone_keeps_its_events_in_memory() -> None:
    assert type(make_broker(None)) is Broker


def test_an_event_published_on_one_process_reaches_the_subscribers_of_another(redis_url: str) -> None:
    async def scenario() -> None:
        first, second = RedisBroker(redis_url), RedisBroker(redis_url)
        await first.start()
        await second.start()
        try:
            topic = conversation_topic("web:shared-across-processes")
            async with (
                first.subscribe(topic) as here,
                second.subscribe(topic) as there,
                second.subscribe(AGENTS_TOPIC) as console,
            ):
                first.publish(topic, {"type": "message", "n": 1})
                first.publish(AGENTS_TOPIC, {"type": "message", "n": 1})
                assert await next_event(there) == {"type": "message", "n": 1}
                assert await next_event(console) == {"type": "message", "n": 1}
                # The publishing process gets its own event once (back from Redis), not twice.
                assert await next_event(here) == {"type": "message", "n": 1}
                second.publish(topic, {"type": "message", "n": 2})
                assert await next_event(here) == {"type": "message", "n": 2}
                await asyncio.sleep(0.3)
                assert here.empty() and there.qsize() == 1  # its own, once
        finally:
            await first.stop()
            await second.stop()

    asyncio.run(scenario())


def test_every_process_sees_one_conversations_events_in_the_order_they_were_published(
    redis_url: str,
) -> None:
    """Turns of one conversation alternate between processes (each publishes inside the turn lock): a
    widget on either process must get the messages in that order, not its own process's first."""

    async def scenario() -> None:
        first, second = RedisBroker(redis_url), RedisBroker(redis_url)
        await first.start()
        await second.start()
        try:
            topic = conversation_topic("web:alternating")
            async with first.subscribe(topic) as here, second.subscribe(topic) as there:
                for n in range(1, 21):
                    (first if n % 2 else second).publish(topic, {"type": "message", "n": n})
                for queue in (here, there):
                    seen = [(await next_event(queue))["n"] for _ in range(20)]
                    assert seen == list(range(1, 21))
        finally:
            await first.stop()
            await second.stop()

    asyncio.run(scenario())


def test_caught_up_returns_once_the_processs_own_events_are_back_from_redis(redis_url: str) -> None:
    """A widget's acknowledgement waits for this: it must not overtake its message's echo."""

    async def scenario() -> None:
        broker = RedisBroker(redis_url)
        await broker.start()
        try:
            topic = conversation_topic("web:caught-up")
            async with broker.subscribe(topic) as queue:
                for n in range(50):
                    await asyncio.to_thread(broker.publish, topic, {"type": "message", "n": n})
                await broker.caught_up(timeout_s=10)  # a busy machine may take a while
                assert queue.qsize() == 50  # every one already handed over, none still in flight
        finally:
            await broker.stop()

    asyncio.run(scenario())


def test_without_redis_events_still_reach_this_processs_views() -> None:
    async def scenario() -> None:
        broker = RedisBroker("redis://127.0.0.1:1/0")  # nothing listens there
        await broker.start()
        try:
            async with broker.subscribe("conversation:web:x") as queue:
                broker.publish("conversation:web:x", {"type": "state"})
                assert await next_event(queue) == {"type": "state"}
        finally:
            await broker.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379"])
def test_a_redis_url_that_is_not_one_stops_start_up(url: str) -> None:
    with pytest.raises(ValidationError, match="REDIS_URL must start with redis://"):
        Settings(_env_file=None, redis_url=url)  # type: ignore[call-arg]
