from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Conversation
from backend.services.conversations import (
    AlreadyClaimed,
    claim_conversation,
    ensure_conversation,
    hand_back_to_bot,
    list_messages,
    mark_for_agent,
    parse_conversation_id,
    record_message,
    release_conversation,
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
    assert db_session.get(Conversation, "telegram:missing") is None


def test_mark_for_agent_and_back(db_session: Session) -> None:
    cid = new_id("web")
    queued = mark_for_agent(db_session, conversation_id=cid, reason="customer asked for a person")
    assert (queued.state, queued.handoff_reason) == ("queued", "customer asked for a person")
    assert claim_conversation(db_session, conversation_id=cid, agent="agent").state == "agent"
    back = hand_back_to_bot(db_session, conversation_id=cid)
    assert (back.state, back.handoff_reason) == ("bot", None)


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


def test_fifty_concurrent_claims_give_exactly_one_owner(db_factory: sessionmaker[Session]) -> None:
    cid = new_id()
    with session_scope(db_factory) as session:
        mark_for_agent(session, conversation_id=cid, reason="test")
    barrier = threading.Barrier(50)

    def claim(agent: str) -> str | None:
        barrier.wait()
        try:
            with session_scope(db_factory) as session:
                claim_conversation(session, conversation_id=cid, agent=agent)
            return agent
        except AlreadyClaimed as taken:
            return f"taken by {taken.owner}"

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(claim, [f"agent{i}" for i in range(50)]))
    winners = [r for r in results if not r.startswith("taken")]
    assert len(winners) == 1
    assert results.count(f"taken by {winners[0]}") == 49
    with session_scope(db_factory) as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None and (conversation.state, conversation.owner) == ("agent", winners[0])


def test_claiming_ones_own_conversation_again_is_fine(db_session: Session) -> None:
    cid = new_id()
    mark_for_agent(db_session, conversation_id=cid, reason="test")
    claim_conversation(db_session, conversation_id=cid, agent="alice")
    assert claim_conversation(db_session, conversation_id=cid, agent="alice").owner == "alice"
    with pytest.raises(AlreadyClaimed) as taken:
        claim_conversation(db_session, conversation_id=cid, agent="bob")
    assert taken.value.owner == "alice"


def test_release_and_hand_back_clear_the_owner(db_session: Session) -> None:
    cid = new_id()
    claim_conversation(db_session, conversation_id=cid, agent="alice")
    released = release_conversation(db_session, conversation_id=cid)
    assert (released.state, released.owner) == ("queued", None)
    claim_conversation(db_session, conversation_id=cid, agent="bob")
    back = hand_back_to_bot(db_session, conversation_id=cid)
    assert (back.state, back.owner) == ("bot", None)
