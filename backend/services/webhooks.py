"""Signed webhooks, the outbox side: endpoints, and the deliveries written with the change they report.

Every delivery is enqueued in ONE place, a session hook (registered in backend.models) rather than a call
in each service: `before_flush` sees every new TicketEvent row (every change to a ticket writes one, by
the audit rule) and every conversation whose `state` the ORM changes; `do_orm_execute` sees the plain
UPDATEs that claim or hand over a conversation in the database. A service written tomorrow fires the
webhooks as long as it audits its ticket changes and sets conversation states, which it must anyway.
The outbox rows are part of the same transaction: a rolled-back change sends nothing, a committed one
is sent even when the process dies right after the commit (backend.services.webhook_delivery).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import ORMExecuteState, Session, attributes

from backend.models import Conversation, Ticket, TicketEvent, WebhookDelivery, WebhookEndpoint, utcnow
from backend.phones import mask_phone

TICKET_EVENTS = (
    "ticket.created",
    "ticket.escalated",
    "ticket.claimed",
    "ticket.resolved",
    "ticket.follow_up_answered",
)
CONVERSATION_EVENTS = ("conversation.handed_over", "conversation.claimed", "conversation.handed_back")
EVENT_TYPES = TICKET_EVENTS + CONVERSATION_EVENTS
# The test event a supervisor sends to one endpoint from the console, subscribed to or not.
PING = "ping"
# The follow-up's satisfaction answer (backend.hub.follow_up.RATED; the services do not import the hub).
_RATED = "follow_up_rated"
# Where a conversation's new state says what happened to it.
_CONVERSATION_MOVES = {
    "queued": "conversation.handed_over",
    "agent": "conversation.claimed",
    "bot": "conversation.handed_back",
}


class InvalidEndpoint(ValueError):
    """A URL that is not http(s), or no known event type."""


@dataclass(frozen=True)
class PendingEvent:
    """One webhook event before it is fanned out to the endpoints that subscribe to it."""

    type: str
    order_key: str
    data: dict[str, Any]


def ticket_event_type(event: TicketEvent) -> str | None:
    """The webhook event a ticket's audit row stands for, or None (notes, photos, breaches...)."""
    if event.action == "created":
        return "ticket.created"
    if event.action == "claimed":
        return "ticket.claimed"
    if event.action == _RATED:
        return "ticket.follow_up_answered"
    if event.to_status != event.from_status and event.to_status in ("escalated", "resolved"):
        return f"ticket.{event.to_status}"
    return None


def ticket_payload(ticket: Ticket) -> dict[str, Any]:
    """The ticket as GET /api/tickets/{number} shows it, with the contact phone masked."""
    from backend.services.tickets import ticket_to_dict

    data = ticket_to_dict(ticket)
    if data.get("contact_phone"):
        data["contact_phone"] = mask_phone(data["contact_phone"])
    return data


def conversation_payload(conversation: Conversation, previous: str | None) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "channel": conversation.channel,
        "state": conversation.state,
        "previous_state": previous,
        "reason": conversation.handoff_reason,
        "owner": conversation.owner,
    }


def _fan_out(session: Session, events: list[PendingEvent], *, now: datetime | None = None) -> None:
    """Write one delivery per (event, subscribed active endpoint); flushed with the session's changes."""
    if not events:
        return
    with session.no_autoflush:
        endpoints = list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))))
    now = now or utcnow()
    for pending in events:
        event_id = str(uuid.uuid4())
        for endpoint in endpoints:
            if pending.type in endpoint.events.split():
                session.add(_delivery(endpoint.id, event_id, pending, now))


def _delivery(endpoint_id: int, event_id: str, pending: PendingEvent, now: datetime) -> WebhookDelivery:
    """A pending outbox row; its payload is the body the receiver gets."""
    body = {"id": event_id, "type": pending.type, "created_at": now.isoformat(), "data": pending.data}
    return WebhookDelivery(
        endpoint_id=endpoint_id,
        event_id=event_id,
        event_type=pending.type,
        order_key=pending.order_key,
        payload=body,
        created_at=now,
        status="pending",
        attempts=0,
        next_attempt_at=now,
    )


def _has_endpoints(session: Session) -> bool:
    with session.no_autoflush:
        return bool(session.scalar(select(func.count()).select_from(WebhookEndpoint)))


def enqueue_from_flush(session: Session) -> None:
    """The before_flush hook: new ticket audit rows and ORM-changed conversation states become events.

    Cheap when nothing is subscribed: the candidates are picked from the flush first, the endpoints are
    counted only when there are some, and payloads are built only when someone receives them.
    """
    tickets = [(kind, e) for e in session.new if isinstance(e, TicketEvent) if (kind := ticket_event_type(e))]
    moves = []
    for obj in list(session.dirty) + list(session.new):
        if not isinstance(obj, Conversation):
            continue
        history = attributes.get_history(obj, "state")
        if not history.added:
            continue
        previous = history.deleted[0] if history.deleted else None
        if obj in session.new and obj.state == "bot":
            continue  # a new conversation starting with the bot is no hand-over
        if previous != obj.state:
            moves.append((obj, previous))
    if not (tickets or moves) or not _has_endpoints(session):
        return
    events: list[PendingEvent] = []
    # session.new keeps the order rows were added in: one ticket's events are enqueued in that order.
    for kind, row in tickets:
        with session.no_autoflush:
            ticket = row.ticket if row.ticket_id is None else session.get(Ticket, row.ticket_id)
        if ticket is None:
            continue
        data = {"ticket": ticket_payload(ticket), "actor": row.actor, "action": row.action}
        events.append(PendingEvent(kind, ticket.number, data))
    for conversation, previous in moves:
        payload = conversation_payload(conversation, previous)
        events.append(PendingEvent(_CONVERSATION_MOVES[conversation.state], conversation.id, payload))
    _fan_out(session, events)


def _sets_state(statement: Any) -> bool:
    values = getattr(statement, "_values", None)
    if values is None:
        return True  # cannot tell: look
    return any(getattr(key, "key", key) == "state" for key in values)


def enqueue_from_update(state: ORMExecuteState) -> Any:
    """The do_orm_execute hook: an UPDATE of conversations that sets `state` reports the rows it moved.

    The rows it will touch are read (and locked, on PostgreSQL) first, so what changed is exact even
    with other processes at work; returns the statement's result, or None to let it run as usual.
    """
    if not state.is_update or state.bind_mapper is None or state.bind_mapper.class_ is not Conversation:
        return None
    statement = state.statement
    if not _sets_state(statement):
        return None
    session = state.session
    if not _has_endpoints(session):
        return None
    where = getattr(statement, "whereclause", None)
    before_stmt = select(Conversation.id, Conversation.state)
    if where is not None:
        before_stmt = before_stmt.where(where)
    if session.get_bind().dialect.name == "postgresql":
        before_stmt = before_stmt.with_for_update()
    before = dict(session.execute(before_stmt).tuples().all())
    result = state.invoke_statement()
    if not before:
        return result
    rows = session.execute(
        select(
            Conversation.id,
            Conversation.state,
            Conversation.channel,
            Conversation.handoff_reason,
            Conversation.owner,
        ).where(Conversation.id.in_(list(before)))
    ).all()
    events = []
    for conversation_id, new_state, channel, reason, owner in rows:
        if new_state == before[conversation_id]:
            continue
        data = {
            "id": conversation_id,
            "channel": channel,
            "state": new_state,
            "previous_state": before[conversation_id],
            "reason": reason,
            "owner": owner,
        }
        events.append(PendingEvent(_CONVERSATION_MOVES[new_state], conversation_id, data))
    _fan_out(session, events)
    return result


# --- endpoints, managed by supervisors ---


def check_url(url: str) -> str:
    """An http(s) URL with a host, stripped; InvalidEndpoint otherwise."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise InvalidEndpoint("url")
    return url


def create_endpoint(
    session: Session, *, url: str, description: str | None, events: list[str] | None, created_by: str
) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint and its secret, which the caller shows once and nobody sees again."""
    chosen = [e for e in (events or EVENT_TYPES) if e in EVENT_TYPES]
    if not chosen:
        raise InvalidEndpoint("events")
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        url=check_url(url),
        description=(description or "").strip()[:200] or None,
        secret=secret,
        events=" ".join(sorted(set(chosen), key=EVENT_TYPES.index)),
        active=True,
        created_by=created_by[:100],
        created_at=utcnow(),
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def set_active(session: Session, endpoint_id: int, active: bool) -> WebhookEndpoint | None:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is not None:
        endpoint.active = active
        session.flush()
    return endpoint


def delete_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint | None:
    """Remove the endpoint and its delivery log."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        return None
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
    session.delete(endpoint)
    session.flush()
    return endpoint


def send_ping(session: Session, endpoint_id: int) -> WebhookDelivery | None:
    """Queue a `ping` for one endpoint (sent by the delivery worker like any event)."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        return None
    ping = PendingEvent(PING, f"ping:{endpoint.id}", {})
    delivery = _delivery(endpoint.id, str(uuid.uuid4()), ping, utcnow())
    session.add(delivery)
    session.flush()
    return delivery


def list_deliveries(
    session: Session,
    *,
    status: str | None = None,
    endpoint_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[WebhookDelivery], int]:
    """The delivery log, newest first, and how many rows match the filter."""
    stmt = select(WebhookDelivery)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    if endpoint_id:
        stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.order_by(WebhookDelivery.id.desc()).offset((max(page, 1) - 1) * per_page).limit(per_page)
    )
    return list(rows), total
