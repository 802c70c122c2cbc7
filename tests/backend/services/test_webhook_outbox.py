"""The webhook outbox: the real services' changes enqueue their events in the change's own transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.hub import follow_up
from backend.models import WebhookDelivery
from backend.services import conversations as conv
from backend.services import webhooks
from backend.services.agent_work import AgentView, change_ticket, record_conversation_action
from backend.services.handoff import hand_over
from backend.services.tickets import update_ticket
from tests.backend.factories import a_ticket, escalated

ALICE = AgentView(username="alice", role="agent")


@pytest.fixture
def endpoint(db_factory: sessionmaker[Session], seeded_today: object) -> Iterator[int]:
    """An active endpoint for every event type, removed (with its log) after the test."""
    with session_scope(db_factory) as session:
        made, _secret = webhooks.create_endpoint(
            session, url="http://127.0.0.1:9/hook", description="test", events=None, created_by="test"
        )
        endpoint_id = made.id
    yield endpoint_id
    with session_scope(db_factory) as session:
        webhooks.delete_endpoint(session, endpoint_id)


def deliveries(factory: sessionmaker[Session], endpoint_id: int, key: str) -> list[WebhookDelivery]:
    with session_scope(factory) as session:
        return list(
            session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.order_key == key)
                .order_by(WebhookDelivery.id)
            )
        )


def test_a_ticket_and_its_conversation_fire_every_event_from_the_services(
    db_factory: sessionmaker[Session], endpoint: int
) -> None:
    cid, number = escalated(db_factory)  # opened escalated, conversation queued for a person
    with session_scope(db_factory) as session:
        conv.claim_conversation(session, conversation_id=cid, agent="alice")
        record_conversation_action(session, cid, ALICE, "claimed")
    with session_scope(db_factory) as session:
        change_ticket(session, number, ALICE, status="resolved", resolution="refund sent")
    with session_scope(db_factory) as session:
        follow_up.mark_asked(session, number)
        follow_up.answer(session, follow_up.Pending(number, "rating"), "5", language="en")
    with session_scope(db_factory) as session:
        conv.hand_back_to_bot(session, conversation_id=cid)
    with session_scope(db_factory) as session:
        hand_over(session, conversation_id=cid, reason="customer asked for a person")

    ticket_events = [d.event_type for d in deliveries(db_factory, endpoint, number)]
    assert ticket_events == [
        "ticket.created",
        "ticket.claimed",
        "ticket.resolved",
        "ticket.follow_up_answered",
    ]
    conversation_events = [
        (d.event_type, d.payload["data"]["previous_state"]) for d in deliveries(db_factory, endpoint, cid)
    ]
    assert conversation_events == [
        ("conversation.handed_over", "bot"),
        ("conversation.claimed", "queued"),
        ("conversation.handed_back", "agent"),
        ("conversation.handed_over", "bot"),
    ]
    resolved = deliveries(db_factory, endpoint, number)[2]
    assert resolved.payload["type"] == "ticket.resolved"
    assert resolved.payload["id"] == resolved.event_id
    assert resolved.payload["data"]["ticket"]["number"] == number
    assert resolved.payload["data"]["ticket"]["status"] == "resolved"
    assert resolved.status == "pending"


def test_escalating_an_open_ticket_fires_ticket_escalated(
    db_factory: sessionmaker[Session], endpoint: int
) -> None:
    with session_scope(db_factory) as session:
        number = a_ticket(session, contact_phone="+8613812345678").number
    with session_scope(db_factory) as session:
        update_ticket(session, number=number, expected_version=None, actor="bot", status="escalated")
    found = deliveries(db_factory, endpoint, number)
    assert [d.event_type for d in found] == ["ticket.created", "ticket.escalated"]
    # The phone number never leaves in full.
    assert found[1].payload["data"]["ticket"]["contact_phone"] == "*********5678"
    assert "13812345678" not in str(found[1].payload)


def test_a_rolled_back_change_sends_nothing(db_factory: sessionmaker[Session], endpoint: int) -> None:
    key = f"test:{uuid.uuid4().hex}"
    session = db_factory()
    try:
        number = a_ticket(session, idempotency_key=key).number
        session.flush()
        # The row exists inside the transaction...
        assert session.scalars(select(WebhookDelivery).where(WebhookDelivery.order_key == number)).all()
        session.rollback()
    finally:
        session.close()
    assert deliveries(db_factory, endpoint, number) == []  # ...and went with the rollback


def test_only_subscribed_active_endpoints_get_deliveries(
    db_factory: sessionmaker[Session], endpoint: int
) -> None:
    with session_scope(db_factory) as session:
        resolved_only, _ = webhooks.create_endpoint(
            session,
            url="https://crm.example/hook",
            description=None,
            events=["ticket.resolved"],
            created_by="t",
        )
        off, _ = webhooks.create_endpoint(
            session, url="https://off.example/hook", description=None, events=None, created_by="t"
        )
        webhooks.set_active(session, off.id, False)
        ids = resolved_only.id, off.id
    try:
        with session_scope(db_factory) as session:
            number = a_ticket(session).number
        assert [d.event_type for d in deliveries(db_factory, endpoint, number)] == ["ticket.created"]
        assert deliveries(db_factory, ids[0], number) == []
        assert deliveries(db_factory, ids[1], number) == []
    finally:
        with session_scope(db_factory) as session:
            for endpoint_id in ids:
                webhooks.delete_endpoint(session, endpoint_id)


@pytest.mark.parametrize("url", ["ftp://x.example/hook", "javascript:alert(1)", "http://", "hook"])
def test_only_http_urls_are_endpoints(db_session: Session, url: str) -> None:
    with pytest.raises(webhooks.InvalidEndpoint):
        webhooks.create_endpoint(db_session, url=url, description=None, events=None, created_by="t")
