"""What the agents' console reads: the queue and one conversation with everything an agent needs.

The pages and the JSON API both call these functions, so they always show the same thing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.domain import OPEN_TICKET_STATUSES, PRACTICE_CHANNELS
from backend.models import (
    Attachment,
    CompensationRequest,
    Conversation,
    Customer,
    Shipment,
    Ticket,
    TicketEvent,
    utcnow,
)
from backend.phones import mask_phone
from backend.services import sla_watch
from backend.services.conversations import list_messages, message_to_dict
from backend.services.shipments import get_shipment, shipment_to_dict
from backend.services.tickets import request_to_dict, ticket_to_dict

PRIORITY_ORDER = {"P1": 0, "P2": 1, "P3": 2, "P4": 3}
COMPLAINT_STAGES = ("calm", "confirm", "analyse", "negotiate")


def _latest_ticket(session: Session, conversation_id: str) -> Ticket | None:
    return session.scalars(
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id, Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    ).first()


def sla_state(ticket: Ticket | None, now: datetime) -> str | None:
    """`breached`, `near` or `ok` by the SLA watch's rules; None without a deadline."""
    if ticket is None or (ticket.sla_due_at is None and ticket.resolution_due_at is None):
        return None
    state = sla_watch.sla_state(ticket, now=now)
    if state.first_response_breached or state.resolution_breached:
        return "breached"
    return "near" if state.near_breach else "ok"


def queue_item(conversation: Conversation, ticket: Ticket | None, now: datetime) -> dict[str, Any]:
    """One row of the queue (the shape of GET /console/api/queue)."""
    return {
        "id": conversation.id,
        "channel": conversation.channel,
        "state": conversation.state,
        "owner": conversation.owner,
        "language": conversation.language,
        "handoff_reason": conversation.handoff_reason,
        "updated_at": conversation.updated_at.isoformat(),
        # Whose conversation it is, when known (the queue links the customer's page).
        "customer_id": conversation.customer_id
        or conversation.verified_customer_id
        or (ticket.customer_id if ticket is not None else None),
        "ticket": None
        if ticket is None
        else {
            "number": ticket.number,
            "kind": ticket.kind,
            "priority": ticket.priority,
            "sla_due_at": ticket.sla_due_at.isoformat() if ticket.sla_due_at else None,
            # A finished ticket (in a search's results) has no deadline left to watch.
            "sla": sla_state(ticket, now) if ticket.status in OPEN_TICKET_STATUSES else None,
            "category": ticket.category,
            "level": ticket.level,
            "status": ticket.status,
            "summary": ticket.summary,
            "language": ticket.language,
        },
    }


def _queue_key(item: dict[str, Any]) -> tuple[int, str]:
    ticket = item["ticket"] or {}
    return (PRIORITY_ORDER.get(ticket.get("priority") or "", 9), ticket.get("sla_due_at") or "9999")


def queue(session: Session, *, agent: str | None, now: datetime | None = None) -> list[dict[str, Any]]:
    """Conversations waiting for a person, and those `agent` holds: by priority, then SLA due time."""
    now = now or utcnow()
    waiting = Conversation.state == "queued"
    mine = (Conversation.state == "agent") & (Conversation.owner == agent)
    shippers = Conversation.channel.not_in(PRACTICE_CHANNELS)
    conversations = session.scalars(
        select(Conversation).where(waiting | mine if agent else waiting, shippers)
    ).all()
    items = [queue_item(c, _latest_ticket(session, c.id), now) for c in conversations]
    return sorted(items, key=_queue_key)


def complaint_summary(ticket: Ticket, events: list[TicketEvent]) -> dict[str, Any]:
    """The complaint script as an agent reads it: stage reached, facts, analysis, offers."""
    offers: list[str] = []
    for event in events:
        if event.action == "created" and event.data and event.data.get("remedy_offered"):
            offers.append(str(event.data["remedy_offered"]))
        changes = (event.data or {}).get("changes", {})
        if "remedy_offered" in changes and changes["remedy_offered"].get("to"):
            offers.append(str(changes["remedy_offered"]["to"]))
    accepted = ticket.agreed_resolution
    refused = [offer for offer in offers if offer != accepted and (accepted or offer != offers[-1])]
    if ticket.status == "escalated" and offers and not accepted:
        refused = offers[:]  # escalated after the last offer: every offer was turned down
    analysed = [e.data for e in events if e.action == "analysed" and e.data]
    stage = ticket.stage_reached
    return {
        "stage_reached": stage,
        "stages": [
            {
                "name": name,
                "reached": stage is not None
                and COMPLAINT_STAGES.index(name) <= COMPLAINT_STAGES.index(stage),
            }
            for name in COMPLAINT_STAGES
        ],
        "facts": {
            "waybill": ticket.waybill,
            "category": ticket.category,
            "description": ticket.description,
            "when": ticket.incident_when,
            "extent": ticket.extent,
            "declared_value": str(ticket.declared_value) if ticket.declared_value is not None else None,
            "photo": ticket.photo_status,
            "customer_wants": ticket.customer_wants,
            "contact_phone": ticket.contact_phone,
        },
        "analysis": {
            "category": ticket.category,
            "level": ticket.level,
            "responsibility": ticket.responsibility,
            "priority": ticket.priority,
            "findings": list(analysed[-1].get("findings", [])) if analysed else [],
            "escalate_reason": analysed[-1].get("escalate_reason") if analysed else None,
        },
        "offers": {"made": offers, "refused": refused, "accepted": accepted},
    }


def _event_dict(event: TicketEvent) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "data": event.data,
    }


def conversation_detail(
    session: Session, conversation_id: str, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """Everything the conversation view shows (the shape of GET /console/api/conversations/{id})."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    now = now or utcnow()
    tickets = list(
        session.scalars(
            select(Ticket)
            .where(Ticket.conversation_id == conversation_id)
            .options(selectinload(Ticket.events))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        )
    )
    ticket_rows = []
    for ticket in tickets:
        row = ticket_to_dict(ticket)
        row["sla"] = sla_state(ticket, now) if ticket.status in OPEN_TICKET_STATUSES else None
        row["complaint"] = (
            complaint_summary(ticket, list(ticket.events)) if ticket.kind == "complaint" else None
        )
        row["events"] = [_event_dict(e) for e in ticket.events]
        row["approval"] = latest_request(session, ticket)
        ticket_rows.append(row)
    waybill = next((t.waybill for t in tickets if t.waybill), None)
    shipment = get_shipment(session, waybill) if waybill else None
    customer_id = (
        conversation.customer_id
        or (shipment.customer_id if shipment else None)
        or next((t.customer_id for t in tickets if t.customer_id), None)
    )
    customer = session.get(Customer, customer_id) if customer_id else None
    earlier: list[dict[str, Any]] = []
    if customer is not None:
        earlier = [
            {
                "number": t.number,
                "category": t.category,
                "status": t.status,
                "created_at": t.created_at.isoformat(),
            }
            for t in session.scalars(
                select(Ticket)
                .where(Ticket.customer_id == customer.id, Ticket.conversation_id != conversation_id)
                .order_by(Ticket.created_at.desc())
                .limit(20)
            )
        ]
    photos = [
        {"id": a.id, "content_type": a.content_type, "size": a.size, "created_at": a.created_at.isoformat()}
        for a in session.scalars(
            select(Attachment).where(Attachment.conversation_id == conversation_id).order_by(Attachment.id)
        )
    ]
    return {
        "id": conversation.id,
        "channel": conversation.channel,
        "state": conversation.state,
        "owner": conversation.owner,
        "language": conversation.language,
        "handoff_reason": conversation.handoff_reason,
        "messages": [
            message_to_dict(m) for m in list_messages(session, conversation_id=conversation_id, limit=500)
        ],
        "tickets": ticket_rows,
        "photos": photos,
        "shipment": shipment_to_dict(shipment) if shipment else None,
        "customer": None
        if customer is None
        else {
            "id": customer.id,
            "name": customer.name,
            "class": customer.customer_class,
            "earlier_tickets": earlier,
        },
    }


def latest_request(session: Session, ticket: Ticket) -> dict[str, Any] | None:
    """The ticket's compensation request that waits, else its newest decided one, else None."""
    requests = list(
        session.scalars(
            select(CompensationRequest)
            .where(CompensationRequest.ticket_id == ticket.id)
            .order_by(CompensationRequest.id.desc())
        )
    )
    chosen = next((r for r in requests if r.status == "pending"), requests[0] if requests else None)
    return request_to_dict(chosen) if chosen is not None else None


def approvals(session: Session, *, decided_limit: int = 20) -> dict[str, list[dict[str, Any]]]:
    """Compensation requests for supervisors: every waiting one (oldest first) and the latest decided."""
    waiting = session.scalars(
        select(CompensationRequest)
        .where(CompensationRequest.status == "pending")
        .options(selectinload(CompensationRequest.ticket))
        .order_by(CompensationRequest.requested_at, CompensationRequest.id)
    )
    decided = session.scalars(
        select(CompensationRequest)
        .where(CompensationRequest.status != "pending")
        .options(selectinload(CompensationRequest.ticket))
        .order_by(CompensationRequest.decided_at.desc(), CompensationRequest.id.desc())
        .limit(decided_limit)
    )
    return {
        "waiting": [request_to_dict(r) for r in waiting],
        "decided": [request_to_dict(r) for r in decided],
    }


def customer_view(session: Session, customer_id: str) -> dict[str, Any] | None:
    """A customer as the console shows them: class, masked phone, and every conversation and ticket,
    newest first. A conversation is theirs when it is on their account (or they proved it is), or holds
    a ticket of theirs; a ticket is theirs when it names them or one of their waybills."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    waybills = select(Shipment.waybill).where(Shipment.customer_id == customer.id)
    tickets = list(
        session.scalars(
            select(Ticket)
            .where((Ticket.customer_id == customer.id) | Ticket.waybill.in_(waybills))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        )
    )
    with_tickets = {t.conversation_id for t in tickets if t.conversation_id}
    conversations = list(
        session.scalars(
            select(Conversation)
            .where(
                (Conversation.customer_id == customer.id)
                | (Conversation.verified_customer_id == customer.id)
                | Conversation.id.in_(with_tickets)
            )
            .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        )
    )
    numbers: dict[str, list[str]] = {}
    for ticket in tickets:
        if ticket.conversation_id:
            numbers.setdefault(ticket.conversation_id, []).append(ticket.number)
    return {
        "id": customer.id,
        "name": customer.name,
        "class": customer.customer_class,
        # Masked as everywhere but the shipper's own chat: the last four digits.
        "phone": mask_phone(customer.phone) if customer.phone else None,
        "conversations": [
            {
                "id": c.id,
                "channel": c.channel,
                "state": c.state,
                "owner": c.owner,
                "language": c.language,
                "created_at": c.created_at.isoformat(),
                "updated_at": c.updated_at.isoformat(),
                "tickets": numbers.get(c.id, []),
                "practice": c.channel in PRACTICE_CHANNELS,
            }
            for c in conversations
        ],
        "tickets": [
            {
                "number": t.number,
                "kind": t.kind,
                "status": t.status,
                "category": t.category,
                "level": t.level,
                "priority": t.priority,
                "waybill": t.waybill,
                "conversation_id": t.conversation_id,
                "created_at": t.created_at.isoformat(),
                "resolved_at": t.resolved_at.isoformat() if t.resolved_at else None,
            }
            for t in tickets
        ],
    }
