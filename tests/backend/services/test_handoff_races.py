"""A claim made while the bot's turn escalates stands: the hand-over never takes it back."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Conversation, utcnow
from backend.services.conversations import claim_conversation, ensure_conversation
from backend.services.handoff import hand_over, request_person
from backend.services.tickets import get_ticket

WAIT_S = 20


def _new_conversation(factory: sessionmaker[Session]) -> str:
    cid = f"telegram:{uuid.uuid4().hex[:10]}"
    with session_scope(factory) as session:
        ensure_conversation(session, cid)
    return cid


def _holder(factory: sessionmaker[Session], cid: str) -> tuple[str, str | None]:
    with session_scope(factory) as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None
        return conversation.state, conversation.owner


def _claim(factory: sessionmaker[Session], cid: str, agent: str) -> None:
    with session_scope(factory) as session:
        claim_conversation(session, conversation_id=cid, agent=agent)


def test_a_claim_before_the_escalation_writes_stands(db_factory: sessionmaker[Session]) -> None:
    cid = _new_conversation(db_factory)
    _claim(db_factory, cid, "alice")  # the agent saw the shipper's message while Rasa was still busy
    with session_scope(db_factory) as session:
        handover = request_person(
            session, conversation_id=cid, request_id="r1", text="a person please", waybill=None, now=utcnow()
        )
    assert _holder(db_factory, cid) == ("agent", "alice")
    with session_scope(db_factory) as session:
        ticket = get_ticket(session, handover.ticket_number)
        # The request itself is kept, for alice to see.
        assert ticket is not None and ticket.status == "escalated"


def test_without_a_claim_the_escalation_queues(db_factory: sessionmaker[Session]) -> None:
    cid = _new_conversation(db_factory)
    with session_scope(db_factory) as session:
        hand_over(session, conversation_id=cid, reason="customer asked for a person")
    assert _holder(db_factory, cid) == ("queued", None)
    with session_scope(db_factory) as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None and conversation.handoff_reason == "customer asked for a person"


def test_a_claim_committed_after_the_escalation_read_the_conversation_stands(
    db_factory: sessionmaker[Session],
) -> None:
    """Two threads: the escalation's transaction has read the conversation (with the bot, nobody holds
    it) when the claim commits; then it writes the hand-over."""
    cid = _new_conversation(db_factory)
    has_read, claimed = threading.Event(), threading.Event()

    def escalate() -> None:
        with session_scope(db_factory) as session:
            seen = session.get(Conversation, cid)
            assert seen is not None and seen.owner is None
            has_read.set()
            assert claimed.wait(WAIT_S)
            hand_over(session, conversation_id=cid, reason="damaged parcel")

    def claim() -> None:
        assert has_read.wait(WAIT_S)
        _claim(db_factory, cid, "alice")
        claimed.set()

    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(escalate), pool.submit(claim)]:
            done.result(timeout=WAIT_S * 2)
    assert _holder(db_factory, cid) == ("agent", "alice")


def test_claims_and_escalations_at_the_same_moment_always_leave_the_agent(
    db_factory: sessionmaker[Session],
) -> None:
    """Free-running threads, many rounds: whichever commits first, the agent holds the conversation."""
    rounds = 12
    cids = [_new_conversation(db_factory) for _ in range(rounds)]

    def race(cid: str) -> tuple[str, str | None]:
        barrier = threading.Barrier(2)

        def escalate() -> None:
            barrier.wait(WAIT_S)
            with session_scope(db_factory) as session:
                hand_over(session, conversation_id=cid, reason="damaged parcel")

        def claim() -> None:
            barrier.wait(WAIT_S)
            _claim(db_factory, cid, "bob")

        with ThreadPoolExecutor(max_workers=2) as pool:
            for done in [pool.submit(escalate), pool.submit(claim)]:
                done.result(timeout=WAIT_S * 2)
        return _holder(db_factory, cid)

    assert [race(cid) for cid in cids] == [("agent", "bob")] * rounds
