"""Telegram chats are served fairly: one chat with 200 queued updates does not hold up another chat.

The real channel and python-telegram-bot against the fake Bot API in polling mode; the hub stand-in
answers every message through the channel after a bot-like pause, so each latency is measured from
the update being available to the answer arriving at the fake Bot API.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime, timezone

from fastapi.testclient import TestClient

from backend.hub.records import Inbound, Outbound
from tests.backend.channels.test_telegram import FakeHub, app_for, new_chat, settings_for
from tests.fakes.telegram_api import FakeBotApi, text_update

QUEUED = 200
# What one turn of the bot costs here (Rasa answers in about this long).
TURN_S = 0.04
# The other chat's answer may take a few turns' time, never the busy chat's whole queue.
FAIR_BOUND_S = 1.5


class AnsweringHub(FakeHub):
    """Answers each message after TURN_S, through the channel, as the hub does."""

    async def receive(self, inbound: Inbound) -> None:
        self.inbound.append(inbound)
        await asyncio.sleep(TURN_S)
        reply = Outbound(
            conversation_id=inbound.conversation_id,
            message_id=random.randint(1, 10**6),
            sender="bot",
            text=f"re: {inbound.text}",
            created_at=datetime.now(timezone.utc),
        )
        await self.adapters["telegram"].deliver(inbound.external_id, reply)
        self.finished.append(inbound.text)


def test_200_queued_updates_of_one_chat_do_not_delay_another_chat() -> None:
    hub = AnsweringHub()
    busy, other = new_chat(), new_chat()
    with FakeBotApi() as api, TestClient(app_for(settings_for(api, telegram_mode="polling"), hub)):
        assert api.wait_until(lambda: len(api.calls("getUpdates")) >= 1)
        queued_at = time.monotonic()
        api.queue_updates(*[text_update(busy, f"busy {n}") for n in range(QUEUED)])
        api.queue_updates(text_update(other, "where is EA100000025CN?"))
        assert api.wait_until(lambda: api.texts(other) == ["re: where is EA100000025CN?"], timeout=60)
        other_latency = time.monotonic() - queued_at
        assert api.wait_until(lambda: len(api.texts(busy)) >= 1, timeout=10)
        first_busy = time.monotonic() - queued_at
        assert api.wait_until(lambda: len(api.texts(busy)) == QUEUED, timeout=120)
        all_busy = time.monotonic() - queued_at
    print(
        f"\nfairness: other chat answered after {other_latency:.2f} s; busy chat had its first answer by "
        f"{first_busy:.2f} s, its {QUEUED}th {all_busy:.2f} s"
    )
    # The busy chat is still answered in order, one at a time.
    assert api.texts(busy) == [f"re: busy {n}" for n in range(QUEUED)]
    assert other_latency < FAIR_BOUND_S
    # The bound is meaningful: serving the busy chat's queue takes far longer than it.
    assert all_busy > 3 * FAIR_BOUND_S
