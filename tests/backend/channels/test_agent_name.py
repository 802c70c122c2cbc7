"""The shipper sees who writes: an agent's display name on Telegram and in the widget, not "Agent"."""

from __future__ import annotations

import random
from datetime import datetime, timezone

from fastapi.testclient import TestClient

from backend.channels.web.wire import widget_message
from backend.hub.records import Outbound
from tests.backend.channels.test_telegram import (  # noqa: F401 (fixtures)
    FakeBotApi,
    bot_api,
    client,
    deliver,
    hub,
    new_chat,
)


def agent_message(text: str, author: str | None) -> Outbound:
    return Outbound(
        conversation_id="telegram:1",
        message_id=random.randint(1, 10**6),
        sender="agent",
        text=text,
        created_at=datetime.now(timezone.utc),
        author=author,
    )


def test_telegram_opens_an_agents_message_with_their_name_in_the_shippers_language(
    client: TestClient,  # noqa: F811
    bot_api: FakeBotApi,  # noqa: F811
) -> None:
    chat = new_chat()
    deliver(client, chat, agent_message("您好，我正在为您查询运单。", "李伟"))
    deliver(client, chat, agent_message("Hello, I'm tracing your parcel now.", "Li Wei"))
    deliver(client, chat, agent_message("An older message", None))
    texts = [m["text"] for m in bot_api.sent(chat)]
    assert texts == [
        "客服 李伟：\n您好，我正在为您查询运单。",
        "Li Wei (customer service):\nHello, I'm tracing your parcel now.",
        "An older message",
    ]


def test_the_widget_gets_the_agents_name_and_never_a_bots() -> None:
    line = {"id": 7, "direction": "out", "sender": "agent", "text": "Hi", "author": "Li Wei", "buttons": []}
    assert widget_message(line)["author"] == "Li Wei"
    assert widget_message(line | {"sender": "bot"})["author"] is None
