"""Polling runs in one process at a time: the holder of the poller lock; another takes over when it stops.

Two real channels (python-telegram-bot in polling mode, one fake Bot API) share the lock's store: Redis
(TEST_REDIS_URL), PostgreSQL (TEST_POSTGRES_URL) or, on SQLite, a lock file beside the database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.channels.telegram.leader import RedisLeaderLock
from tests.backend.channels.test_telegram import (
    FakeHub,
    app_for,
    channel_of,
    new_chat,
    settings_for,
    wait_until,
)
from tests.backend.conftest import POSTGRES_ENV
from tests.fakes.telegram_api import FakeBotApi, text_update

TTL_S = 1.5


@pytest.fixture(params=["redis", "postgresql", "sqlite"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Settings that point both processes at one store of the kind named."""
    if request.param == "redis":
        return {"redis_url": request.getfixturevalue("redis_url"), "database_url": "sqlite://"}
    if request.param == "postgresql":
        url = os.environ.get(POSTGRES_ENV)
        if not url:
            pytest.skip(f"{POSTGRES_ENV} is not set")
        return {"database_url": url}
    return {"database_url": f"sqlite:///{tmp_path / 'app.db'}"}


def texts(hub: FakeHub) -> list[str]:
    return [i.text for i in hub.inbound]


def test_one_process_polls_and_the_other_takes_over_when_it_stops(
    shared_store: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    hubs = [FakeHub(), FakeHub()]
    with FakeBotApi() as api, ExitStack() as stack:
        settings = settings_for(
            api, telegram_mode="polling", telegram_poller_lock_ttl_s=TTL_S, **shared_store
        )
        clients = [stack.enter_context(TestClient(app_for(settings, hub))) for hub in hubs]
        channels = [channel_of(client) for client in clients]
        assert wait_until(lambda: any(c.polling for c in channels))
        time.sleep(TTL_S)  # the other has asked for the lock meanwhile, and been refused
        assert [c.polling for c in channels].count(True) == 1
        leader = next(n for n, c in enumerate(channels) if c.polling)
        follower = 1 - leader
        chat = new_chat()
        api.queue_updates(text_update(chat, "one"), text_update(chat, "two"))
        assert wait_until(lambda: len(texts(hubs[leader])) == 2)
        time.sleep(0.5)
        # Fetched by one process only: a second poller would have fetched (and answered) them again.
        assert texts(hubs[leader]) == ["one", "two"] and texts(hubs[follower]) == []
        assert "polls Telegram" in caplog.text and "serves without polling" in caplog.text

        # The leader stops (it frees the lock on its way out); the other process takes polling over.
        clients[leader].__exit__(None, None, None)
        assert wait_until(lambda: channels[follower].polling, timeout=3 * TTL_S)
        api.queue_updates(text_update(chat, "three"))
        assert wait_until(lambda: texts(hubs[follower]) == ["three"])
        assert texts(hubs[leader]) == ["one", "two"]


def test_a_redis_lock_whose_holder_stops_renewing_it_expires_and_can_be_taken(redis_url: str) -> None:
    async def scenario() -> None:
        bot_id = random.randint(10**8, 10**9)
        crashed = RedisLeaderLock(redis_url, bot_id, ttl_s=0.5)
        other = RedisLeaderLock(redis_url, bot_id, ttl_s=0.5)
        try:
            assert await crashed.acquire()
            assert not await other.acquire()
            assert await other.holder() == crashed._me
            await asyncio.sleep(0.7)  # the holder died: nobody renews
            assert await other.acquire()
            # The old holder cannot renew or free what is now someone else's.
            assert not await crashed.renew()
            await crashed.release()
            assert await other.holder() == other._me
        finally:
            await other.release()
            await crashed.close()
            await other.close()

    asyncio.run(scenario())
