"""Failed deliveries to Telegram are retried when transient and, when they finally fail, visible.

The real channel and python-telegram-bot against the fake Bot API answering 403, 500 or not at all;
each reply is a stored outbound message of the migrated store (SQLite, and PostgreSQL when
TEST_POSTGRES_URL is set), which is marked with why it was not delivered, and the console's transcript
line shows "not delivered" in both languages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.channels import telegram
from backend.console.conversation_words import ConversationWords
from backend.console.language import translator
from backend.console.rendering import templates
from backend.db import session_scope
from backend.hub.records import Outbound
from backend.models import Message
from backend.services import conversations as conv
from tests.backend.channels.test_telegram import (
    FakeHub,
    app_for,
    channel_of,
    new_chat,
    outbound,
    settings_for,
)
from tests.fakes.telegram_api import FakeBotApi


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


def stored_reply(factory: sessionmaker[Session], chat: int, text: str) -> Outbound:
    """An agent's reply as the hub stores it before handing it to the channel."""
    cid = f"telegram:{chat}"
    with session_scope(factory) as session:
        message = conv.record_message(
            session, conversation_id=cid, direction="out", sender="agent", text=text, author="Li Wei"
        )
        assert message is not None
        return Outbound(
            conversation_id=cid,
            message_id=message.id,
            sender="agent",
            text=text,
            created_at=message.created_at,
            author="Li Wei",
        )


def delivery_error(factory: sessionmaker[Session], message_id: int) -> str | None:
    with session_scope(factory) as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message.delivery_error


def deliver(client: TestClient, chat: int, message: Outbound) -> None:
    channel = channel_of(client)
    client.portal.call(channel.deliver, str(chat), message)  # type: ignore[union-attr]


def statuses(api: FakeBotApi, chat: int) -> list[int]:
    return [c.status for c in api.calls("sendMessage") if c.params.get("chat_id") == chat]


def test_a_blocked_bot_is_recorded_on_the_message_and_logged_without_secrets(
    bot_api: FakeBotApi, db_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    chat = new_chat()
    reply = stored_reply(db_factory, chat, "Your refund of 30 CNY is approved.")
    with TestClient(app_for(settings_for(bot_api), FakeHub(), db_factory)) as client:
        bot_api.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
        deliver(client, chat, reply)
    # Not retried: a blocked bot stays blocked.
    assert statuses(bot_api, chat) == [403]
    assert "blocked the bot" in (delivery_error(db_factory, reply.message_id) or "")
    assert f"message {reply.message_id} to chat {chat} not delivered" in caplog.text
    assert bot_api.token not in caplog.text


def test_a_5xx_is_retried_and_the_message_delivered(
    bot_api: FakeBotApi, db_factory: sessionmaker[Session]
) -> None:
    chat = new_chat()
    reply = stored_reply(db_factory, chat, "Your parcel is in Changsha.")
    with TestClient(app_for(settings_for(bot_api), FakeHub(), db_factory)) as client:
        bot_api.fail_next("sendMessage", status=500, description="Internal Server Error")
        bot_api.fail_next("sendMessage", status=502, description="Bad Gateway")
        deliver(client, chat, reply)
    assert statuses(bot_api, chat) == [500, 502, 200]
    assert [text.splitlines()[-1] for text in bot_api.texts(chat)] == ["Your parcel is in Changsha."]
    assert delivery_error(db_factory, reply.message_id) is None


def test_a_5xx_that_lasts_fails_the_delivery_visibly(
    bot_api: FakeBotApi, db_factory: sessionmaker[Session]
) -> None:
    chat = new_chat()
    reply = stored_reply(db_factory, chat, "A colleague will call you today.")
    with TestClient(app_for(settings_for(bot_api), FakeHub(), db_factory)) as client:
        for _ in range(telegram.DELIVERY_ATTEMPTS):
            bot_api.fail_next("sendMessage", status=500, description=f"Internal Server Error {bot_api.token}")
        with pytest.raises(telegram.DeliveryFailed):
            deliver(client, chat, reply)
    assert statuses(bot_api, chat) == [500] * telegram.DELIVERY_ATTEMPTS
    recorded = delivery_error(db_factory, reply.message_id) or ""
    assert "Internal Server Error" in recorded and bot_api.token not in recorded


def test_a_network_error_that_lasts_fails_the_delivery_visibly(db_factory: sessionmaker[Session]) -> None:
    chat = new_chat()
    reply = stored_reply(db_factory, chat, "We have found your parcel.")
    api = FakeBotApi().start()
    with TestClient(app_for(settings_for(api), FakeHub(), db_factory)) as client:
        api.stop()  # Telegram unreachable from now on: every try is a refused connection
        with pytest.raises(telegram.DeliveryFailed):
            deliver(client, chat, reply)
    assert delivery_error(db_factory, reply.message_id)


def test_telegrams_retry_after_is_respected_beyond_the_rate_limiters_retries(
    bot_api: FakeBotApi, db_factory: sessionmaker[Session]
) -> None:
    chat = new_chat()
    reply = stored_reply(db_factory, chat, "Thanks for waiting.")
    with TestClient(app_for(settings_for(bot_api), FakeHub(), db_factory)) as client:
        for _ in range(telegram.RATE_LIMIT_RETRIES + 2):
            bot_api.fail_next("sendMessage", retry_after=1)
        started = time.monotonic()
        deliver(client, chat, reply)
        waited = time.monotonic() - started
    assert statuses(bot_api, chat) == [429] * (telegram.RATE_LIMIT_RETRIES + 2) + [200]
    assert waited >= telegram.RATE_LIMIT_RETRIES + 2 - 0.1
    assert delivery_error(db_factory, reply.message_id) is None


@pytest.mark.parametrize(("language", "mark"), [("en", "Not delivered"), ("zh", "未送达")])
def test_the_console_marks_an_undelivered_reply(
    db_factory: sessionmaker[Session], language: str, mark: str
) -> None:
    chat = new_chat()
    delivered = stored_reply(db_factory, chat, "Your parcel is in Changsha.")
    blocked = stored_reply(db_factory, chat, "Your refund is approved.")
    with session_scope(db_factory) as session:
        row = session.get(Message, blocked.message_id)
        assert row is not None
        row.delivery_error = "the shipper has blocked the bot (403)"
    say = ConversationWords.for_reader(language, ZoneInfo("Asia/Shanghai"))
    template = templates.get_template("console/_message.html")
    lines = {}
    with session_scope(db_factory) as session:
        for outbound in (delivered, blocked):
            message = session.get(Message, outbound.message_id)
            assert message is not None
            # The transcript's line as the console renders it (message_to_dict plus the new column).
            line = conv.message_to_dict(message) | {"delivery_error": message.delivery_error}
            lines[outbound.message_id] = template.render(
                m=line, say=say, local=say.when, lang=language, _=translator(language)
            )
    assert mark in lines[blocked.message_id]
    assert "blocked the bot" in lines[blocked.message_id]
    assert mark not in lines[delivered.message_id]


def test_a_refused_message_is_not_tried_again(bot_api: FakeBotApi, db_factory: sessionmaker[Session]) -> None:
    chat = new_chat()
    reply = stored_reply(db_factory, chat, "x" * 10)
    with TestClient(app_for(settings_for(bot_api), FakeHub(), db_factory)) as client:
        bot_api.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
        with pytest.raises(telegram.DeliveryFailed):
            deliver(client, chat, reply)
    assert statuses(bot_api, chat) == [400]
    assert "chat not found" in (delivery_error(db_factory, reply.message_id) or "").lower()


def sending_time(api: FakeBotApi, count: int, **limits: Any) -> float:
    """Seconds this process takes to send `count` messages under the given rate settings."""
    with TestClient(app_for(settings_for(api, **limits), FakeHub())) as client:
        started = time.monotonic()
        for _ in range(count):
            deliver(client, new_chat(), outbound("Your parcel is in Changsha."))
        return time.monotonic() - started


def test_each_process_keeps_to_its_share_of_the_bots_rate_limit(bot_api: FakeBotApi) -> None:
    # The bot's 4 messages a second, one process: 6 messages are a burst of 4 and two more by 0.5 s.
    alone = sending_time(bot_api, 6, telegram_max_messages_per_s=4, telegram_processes=1)
    # Two processes share it: this one keeps to 2 a second, so the same 6 take about 2 s.
    shared = sending_time(bot_api, 6, telegram_max_messages_per_s=4, telegram_processes=2)
    print(f"\nrate limit: 6 messages in {alone:.2f} s alone, {shared:.2f} s as one of two processes")
    assert alone < 1.2
    assert shared >= 1.6
