"""How many SQL statements a widget turn costs the hub: the cost `tools/hub_cost.py` measures stays down."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from backend.db import session_scope
from backend.hub import Inbound
from backend.models import Conversation
from backend.services import conversations as conv
from tests.backend.hub.world import World, user


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def widget_message(external: str, text: str) -> Inbound:
    return Inbound(channel="fake", external_id=external, text=text, channel_message_id=uuid.uuid4().hex)


def test_a_widget_turn_is_six_statements_and_a_replay_stores_nothing(world: World) -> None:
    world.rasa.replies = [{"text": "It is in Shanghai."}]
    external = user()
    cid = f"fake:{external}"
    world.receive(widget_message(external, "where is EA100000025CN"))  # creates the conversation
    engine = world.factory.kw["bind"]
    second = widget_message(external, "and when will it arrive?")
    with counting(engine) as statements:
        turn = world.receive(second)
    assert [reply.text for reply in turn.replies] == ["It is in Shanghai."]
    # In: the conversation's state and language, an owed follow-up or care question (one indexed read for
    # both), the message inserted leased. Out: the state after the bot's turn, the answer, the turn marked
    # answered.
    assert statements == ["SELECT", "SELECT", "INSERT", "SELECT", "INSERT", "UPDATE"], statements

    with counting(engine) as statements:
        replay = world.receive(second)
    assert replay.duplicate and replay.replies == []
    assert world.channel.texts(external) == ["It is in Shanghai.", "It is in Shanghai."]
    with session_scope(world.factory) as session:
        lines = [
            (m.direction, m.text, m.turn_state) for m in conv.list_messages(session, conversation_id=cid)
        ]
    assert lines == [
        ("in", "where is EA100000025CN", "answered"),
        ("out", "It is in Shanghai.", None),
        ("in", "and when will it arrive?", "answered"),
        ("out", "It is in Shanghai.", None),
    ]


def test_the_language_is_written_only_when_it_changes(world: World) -> None:
    external = user()
    cid = f"fake:{external}"

    def language(session: Session) -> str | None:
        return session.scalar(select(Conversation.language).where(Conversation.id == cid))

    world.receive(widget_message(external, "where is my parcel EA100000025CN"))
    with session_scope(world.factory) as session:
        assert language(session) == "en"
    engine = world.factory.kw["bind"]
    with counting(engine) as statements:
        world.receive(widget_message(external, "hello, is it there yet?"))
    assert "UPDATE" in statements and statements.count("UPDATE") == 1  # only the turn's finish
    with counting(engine) as statements:
        world.receive(widget_message(external, "我的包裹在哪里"))
    assert statements.count("UPDATE") == 2  # the language, then the turn's finish
    with session_scope(world.factory) as session:
        assert language(session) == "zh"
