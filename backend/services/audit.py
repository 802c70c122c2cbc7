"""The audit trail of what people do: a ticket_event when it concerns a ticket, an audit_event otherwise.

Both tables are append-only (the models refuse updates and deletes). Actors are named `role:username`
(`agent:li.wei`, `supervisor:zhang`), as backend.services.agent_work names them; the system's own jobs are
`system:<job>`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from backend.formatting import json_value
from backend.models import AuditEvent, TicketEvent, utcnow
from backend.services.tickets import record_first_response, record_ticket_event

# Actions that answer the shipper: the first of them stops a ticket's first-response clock.
FIRST_RESPONSE_ACTIONS = frozenset({"replied"})


class Person(Protocol):
    """Anything naming an agent or supervisor: backend.models.Agent, backend.services.agent_work.AgentView."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...


def actor_of(person: Person) -> str:
    """How the audit trail names a person: `role:username`."""
    return f"{person.role}:{person.username}"


def record_audit_event(
    session: Session,
    *,
    actor: str,
    action: str,
    agent_id: int | None = None,
    conversation_id: str | None = None,
    client_ip: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one audit_event (logins, logouts, lockouts, account changes, actions on no ticket)."""
    event = AuditEvent(
        at=at or utcnow(),
        actor=actor[:100],
        action=action[:50],
        agent_id=agent_id,
        conversation_id=conversation_id,
        client_ip=(client_ip or "")[:64] or None,
        data=json_value(data) if data else None,
    )
    session.add(event)
    session.flush()
    return event


def record_agent_action(
    session: Session,
    *,
    agent: Person,
    action: str,
    ticket_number: str | None = None,
    conversation_id: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TicketEvent | AuditEvent:
    """Audit one thing an agent or supervisor did, with actor and time; returns the event written.

    With a ticket number it is a ticket_event on that ticket (the conversation goes into its data),
    otherwise an audit_event. An action in FIRST_RESPONSE_ACTIONS also stops the first-response clock of
    the ticket, or of the conversation's unfinished tickets.
    """
    at = at or utcnow()
    payload = json_value(dict(data or {}))
    event: TicketEvent | AuditEvent
    if ticket_number is not None:
        if conversation_id is not None:
            payload.setdefault("conversation_id", conversation_id)
        event = record_ticket_event(
            session, number=ticket_number, actor=actor_of(agent), action=action, data=payload or None, at=at
        )
    else:
        event = record_audit_event(
            session,
            actor=actor_of(agent),
            action=action,
            agent_id=getattr(agent, "id", None),
            conversation_id=conversation_id,
            data=payload or None,
            at=at,
        )
    if action in FIRST_RESPONSE_ACTIONS and (ticket_number or conversation_id):
        if ticket_number is not None:
            record_first_response(session, at=at, ticket_number=ticket_number)
        else:
            record_first_response(session, at=at, conversation_id=conversation_id)
    return event
