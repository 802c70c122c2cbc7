"""Handing a conversation to a person: the plain request for a person and the complaint escalation alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.complaints.analysis import PERSON_REQUEST_PRIORITY
from backend.db import begin_write
from backend.i18n import t
from backend.models import Conversation, utcnow
from backend.services import ownership
from backend.services.conversations import ensure_conversation
from backend.services.tickets import BusinessCalendar, open_ticket


@dataclass(frozen=True)
class Handover:
    """The request's ticket, its priority and when a person answers at the latest."""

    ticket_number: str
    priority: str
    due: datetime | None


def hand_over(session: Session, *, conversation_id: str, reason: str) -> None:
    """Marks the conversation for an agent: from now on the hub routes it to the console.

    An agent may claim the conversation while the bot's turn that escalates it is still running (the
    shipper's complaint is on screen before the bot has finished): that claim stands. One conditional
    UPDATE decides it in the database, so it also holds when the claim commits after this transaction
    read the conversation (PostgreSQL re-checks the condition on the row the claim wrote).
    """
    ensure_conversation(session, conversation_id)
    session.flush()
    begin_write(session)
    # A new wait for a person starts here (an escalation of one already waiting keeps its offer).
    was_waiting = (
        session.scalar(select(Conversation.state).where(Conversation.id == conversation_id)) == "queued"
    )
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.owner.is_(None))
        .values(
            state="queued",
            handoff_reason=reason,
            waiting_notice_at=None,
            updated_at=utcnow(),
            **({} if was_waiting else ownership.clear_offer_values()),
        )
        .execution_options(synchronize_session=False)
    )
    # The session's copy must show what the database now holds (queued, or the claiming agent's).
    session.get(Conversation, conversation_id, populate_existing=True)
    if not was_waiting:
        # An owned customer's conversation goes to its owner first (backend.services.ownership).
        ownership.offer_to_owner(session, conversation_id)


def request_person(
    session: Session,
    *,
    conversation_id: str,
    request_id: str,
    text: str,
    waybill: str | None,
    now: datetime,
    language: str | None = None,
    calendar: BusinessCalendar | None = None,
) -> Handover:
    """The shipper asked for a person with no complaint: a `handoff` ticket, once per request, and the
    conversation queued for an agent."""
    ticket = open_ticket(
        session,
        idempotency_key=f"handoff:{conversation_id}:{request_id}",
        conversation_id=conversation_id,
        kind="handoff",
        status="escalated",
        actor="bot",
        calendar=calendar,
        now=now,
        waybill=waybill,
        priority=PERSON_REQUEST_PRIORITY,
        language=language,
        summary=(
            t(language, "Customer asked to talk to a person about {waybill}.", waybill=waybill)
            if waybill
            else t(language, "Customer asked to talk to a person.")
        ),
        description=text,
        recorded_by="bot",
    )
    hand_over(session, conversation_id=conversation_id, reason="customer asked for a person")
    return Handover(ticket.number, ticket.priority or PERSON_REQUEST_PRIORITY, ticket.sla_due_at)
