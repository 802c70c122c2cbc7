"""Order across processes: one conversation's messages, arriving alternately on two backends, are answered
once each and in order (a Redis lock per conversation; PostgreSQL, since SQLite runs one process)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from backend.hub import Hub, Inbound
from backend.hub.broker import Broker
from backend.hub.locks import TurnLocks
from backend.hub.rasa import RasaGateway
from tests.backend.hub.test_durable_turns import transcript, turns
from tests.backend.hub.world import SECRET, World, user


def test_messages_alternating_between_two_backends_are_answered_once_each_in_order(
    world: World, db_url: str, redis_url: str
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("several backend processes run on PostgreSQL; SQLite serves one process")
    prefix = f"test-i18d-{uuid.uuid4().hex[:8]}:"
    world.rasa.delay_s = 0.1
    world.rasa.replies = lambda text: [{"text": f"answer to {text}"}]
    external = user()
    cid = f"fake:{external}"
    texts = [f"message {n}" for n in range(8)]

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            backends = []
            for _ in range(2):
                gateway = RasaGateway(client, base_url=world.url, channel_secret=SECRET, api_token="t")
                # Each backend has its own local locks and Redis client, as two processes would.
                locks = TurnLocks(redis_url, prefix=prefix, timeout_s=30, blocking_timeout_s=30)
                hub = Hub(world.factory, gateway, Broker(), upload_dir=world.upload_dir, locks=locks)
                hub.register(world.channel)
                backends.append(hub)

            async def send(n: int) -> None:
                await asyncio.sleep(n * 0.02)  # sent one after the other, while earlier turns still run
                inbound = Inbound(
                    channel="fake", external_id=external, text=texts[n], channel_message_id=str(n)
                )
                await backends[n % 2].receive(inbound)

            try:
                await asyncio.gather(*(send(n) for n in range(len(texts))))
            finally:
                for hub in backends:
                    await hub.locks.close()

    asyncio.run(main())
    lines = transcript(world, cid)
    # Every message is followed by its own answer: no turn overlapped another on either backend.
    pairs = [(lines[i][2], lines[i + 1][2]) for i in range(0, len(lines), 2)]
    assert len(lines) == 2 * len(texts)
    assert all(reply == f"answer to {text}" for text, reply in pairs), lines
    assert sorted(text for text, _ in pairs) == sorted(texts)
    assert sorted(world.rasa.texts_for(cid)) == sorted(texts)  # each asked once
    assert all(state == "answered" for _, state, _ in turns(world, cid))
