from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from backend.services.conversations import (
    assign_to_agent,
    ensure_conversation,
    get_conversation,
    hand_back_to_bot,
    link_customer,
    list_messages,
    mark_for_agent,
    parse_conversation_id,
    record_message,
)


def new_id(channel: str = "telegram") -> str:
    return f"{channel}:{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize(
    ("conversation_id", "parts"),
    [
        ("telegram:12345", ("telegram", "12345")),
        ("web:6f1c-uuid", ("web", "6f1c-uuid")),
        ("web:a:b", ("web", "a:b")),
        ("tester", ("rest", "tester")),
    ],
)
def test_parse_conversation_id(conversation_id: str, parts: tuple[str, str]) -> None:
    assert parse_conversation_id(conversation_id) == parts


def test_ensure_conversation_creates_once(db_session: Session) -> None:
    cid = new_id()
    first = ensure_conversation(db_session, cid)
    assert (first.channel, first.state, first.handoff_reason) == ("telegram", "bot", None)
    assert first.external_id == cid.split(":", 1)[1]
    assert ensure_conversation(db_session, cid) is first
    assert get_conversation(db_session, "telegram:missing") is None


def test_mark_for_agent_and_back(db_session: Session) -> None:
    cid = new_id("web")
    queued = mark_for_agent(db_session, conversation_id=cid, reason="customer asked for a person")
    assert (queued.state, queued.handoff_reason) == ("queued", "customer asked for a person")
    assert assign_to_agent(db_session, conversation_id=cid).state == "agent"
    back = hand_back_to_bot(db_session, conversation_id=cid)
    assert (back.state, back.handoff_reason) == ("bot", None)


def test_link_customer(db_session: Session) -> None:
    cid = new_id()
    assert link_customer(db_session, conversation_id=cid, customer_id="C002").customer_id == "C002"


def test_record_message_dedupes_replays(db_session: Session) -> None:
    cid = new_id()
    first = record_message(
        db_session, conversation_id=cid, direction="in", sender="shipper", text="hi", channel_message_id="42"
    )
    assert first is not None
    replay = record_message(
        db_session, conversation_id=cid, direction="in", sender="shipper", text="hi", channel_message_id="42"
    )
    assert replay is None
    # The same channel id in the other direction is a different message.
    out = record_message(
        db_session, conversation_id=cid, direction="out", sender="bot", text="hello", channel_message_id="42"
    )
    assert out is not None
    # Messages without a channel id are never deduplicated.
    for _ in range(2):
        again = record_message(db_session, conversation_id=cid, direction="out", sender="bot", text="x")
        assert again is not None
    assert [m.text for m in list_messages(db_session, conversation_id=cid)] == ["hi", "hello", "x", "x"]


def test_record_message_validates_vocabulary(db_session: Session) -> None:
    with pytest.raises(ValueError):
        record_message(db_session, conversation_id=new_id(), direction="sideways", sender="bot", text="?")
