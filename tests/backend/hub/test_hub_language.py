"""The shipper's language as the hub records it on the conversation and tells the bot."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.hub import Inbound
from backend.models import Conversation
from tests.backend.hub.world import World, user


def language_of(factory: sessionmaker[Session], cid: str) -> str | None:
    with session_scope(factory) as session:
        conversation = session.get(Conversation, cid)
        return conversation.language if conversation else None


def test_every_message_sets_the_conversations_language_and_the_bot_is_told(world: World) -> None:
    external = user()
    cid = f"fake:{external}"
    steps = [
        ("where is my parcel", "en"),
        ("我的快递到哪了", "zh"),
        ("EA100000034CN", "zh"),  # no words: the conversation keeps its language
        ("EA100000034CN到哪了", "zh"),  # Chinese with a Latin waybill is Chinese
        ("ＥＡ１０００００００３４ＣＮ", "zh"),  # full-width, still no words
        ("ok thanks, and the other one?", "en"),  # the shipper switched back
        ("👍", "en"),
    ]
    for message, expected in steps:
        world.receive(Inbound(channel="fake", external_id=external, text=message))
        assert language_of(world.factory, cid) == expected, message
        assert world.rasa.received[-1]["metadata"]["language"] == expected, message
        assert world.rasa.received[-1]["metadata"]["channel"] == "fake"


@pytest.mark.parametrize(
    ("hint", "expected"), [("zh-hans", "zh"), ("zh_CN", "zh"), ("en-GB", "en"), ("fr", "en"), (None, "en")]
)
def test_telegrams_language_code_decides_a_first_message_without_words(
    world: World, hint: str | None, expected: str
) -> None:
    external = user()
    world.receive(Inbound(channel="fake", external_id=external, text="EA100000034CN", language_hint=hint))
    assert language_of(world.factory, f"fake:{external}") == expected
    assert world.rasa.received[-1]["metadata"]["language"] == expected


def test_the_text_outweighs_the_hint(world: World) -> None:
    external = user()
    world.receive(Inbound(channel="fake", external_id=external, text="where is it", language_hint="zh-hans"))
    assert language_of(world.factory, f"fake:{external}") == "en"
    world.receive(Inbound(channel="fake", external_id=external, text="还没到", language_hint="en"))
    assert language_of(world.factory, f"fake:{external}") == "zh"


def test_a_pressed_button_keeps_the_language(world: World) -> None:
    external = user()
    world.rasa.replies = [{"text": "要登记投诉吗？", "buttons": [{"title": "好的", "payload": "/affirm"}]}]
    [offer] = world.receive(Inbound(channel="fake", external_id=external, text="我的快递还没到")).replies
    world.rasa.replies = [{"text": "好"}]
    world.receive(Inbound(channel="fake", external_id=external, button=(offer.message_id, 0)))
    last = world.rasa.received[-1]
    assert (last["message"], last["metadata"]["button"]) == ("/affirm", True)
    assert last["metadata"]["language"] == "zh"
