"""What the agents' console reads: the queue and one conversation with everything an agent needs.

The pages and the JSON API both call these functions, so they always show the same thing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.complaints.findings import said
from backend.complaints.remedies import remedy_said
from backend.domain import OPEN_TICKET_STATUSES, PRACTICE_CHANNELS
from backend.models import (
    Agent,
    Attachment,
    CompensationRequest,
    Conversation,
    Customer,
    Message,
    Shipment,
    Ticket,
    TicketEvent,
    utcnow,
)
from backend.phones import mask_phone
from backend.services import sla_watch
from backend.services.conversations import NOT_ANSWERED_REASON, list_messages, message_to_dict
from backend.services.ownership import visible_filter
from backend.services.shipments import get_shipment, shipment_to_dict
from backend.services.tickets import agreed_resolution_text, request_to_dict, ticket_to_dict

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
        # The customer's owner it is offered to first while it waits (backend.services.ownership).
        "offered_to": conversation.offered_to if conversation.state == "queued" else None,
        "offered_at": conversation.offered_at.isoformat() if conversation.offered_at else None,
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
    offers = visible_filter(session, agent, now=now)  # another owner's offer stays out of sight
    now = now or utcnow()
    waiting = Conversation.state == "queued"
    mine = (Conversation.state == "agent") & (Conversation.owner == agent)
    shippers = Conversation.channel.not_in(PRACTICE_CHANNELS)
    conversations = session.scalars(
        select(Conversation).where(waiting | mine if agent else waiting, shippers, offers)
    ).all()
    items = [queue_item(c, _latest_ticket(session, c.id), now) for c in conversations]
    return sorted(with_owner_names(session, items), key=_queue_key)


def _not_answered(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A waiting conversation whose message the bot could not answer shows that message, marked."""
    for row in rows:
        if row["state"] == "queued" and row["handoff_reason"] == NOT_ANSWERED_REASON:
            row["not_answered"] = session.scalar(
                select(Message.text)
                .where(Message.conversation_id == row["id"], Message.turn_state == "failed")
                .order_by(Message.id.desc())
                .limit(1)
            )
    return rows


def with_owner_names(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queue rows with the display name of the agent who holds each (people, not logins)."""
    names = _display_names(
        session, {str(r[key]) for r in rows for key in ("owner", "offered_to") if r.get(key)}
    )
    for row in rows:
        row["owner_name"] = names.get(str(row.get("owner")), row.get("owner"))
        row["offered_name"] = names.get(str(row.get("offered_to")), row.get("offered_to"))
    return _not_answered(session, rows)


def complaint_summary(ticket: Ticket, events: list[TicketEvent], language: str = "en") -> dict[str, Any]:
    """The complaint script as an agent reads it: stage reached, facts, analysis, offers; the findings,
    the escalation reason and the bot's offers in the reader's `language` (old plain-string findings and
    an agent's typed resolution as they are)."""
    # Each offer as the ticket recorded it: its English words, and its code and facts when the bot made it.
    offers: list[tuple[str, Any]] = []
    for event in events:
        data = event.data or {}
        if event.action == "created" and data.get("remedy_offered"):
            offers.append((str(data["remedy_offered"]), data.get("remedy_offered_facts")))
        changes = data.get("changes", {})
        if "remedy_offered" in changes and changes["remedy_offered"].get("to"):
            facts = changes.get("remedy_offered_facts", {}).get("to")
            offers.append((str(changes["remedy_offered"]["to"]), facts))
    accepted = ticket.agreed_resolution
    refused = [o for o in offers if o[0] != accepted and (accepted or o[0] != offers[-1][0])]
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
            "findings": [said(f, language) for f in analysed[-1].get("findings", [])] if analysed else [],
            "escalate_reason": said(analysed[-1].get("escalate_reason"), language) if analysed else None,
        },
        "offers": {
            "made": [remedy_said(facts or words, language) for words, facts in offers],
            "refused": [remedy_said(facts or words, language) for words, facts in refused],
            "accepted": agreed_resolution_text(ticket, language),
        },
    }


def _event_dict(event: TicketEvent, names: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "actor": event.actor,
        # A person's display name ("Li Wei", 李伟) for `role:username` actors; None for the bot and others.
        "actor_name": (names or {}).get(event.actor.partition(":")[2]) if ":" in event.actor else None,
        # A transfer's new holder by name.
        "to_name": (names or {}).get(str((event.data or {}).get("to"))) if event.data else None,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "data": event.data,
    }


def countdown(ticket: Ticket) -> dict[str, str] | None:
    """The deadline the agent works against now: first response until someone answered, then resolution."""
    if ticket.first_responded_at is None and ticket.sla_due_at is not None:
        return {"target": "first_response", "due": ticket.sla_due_at.isoformat()}
    if ticket.resolution_due_at is not None:
        return {"target": "resolution", "due": ticket.resolution_due_at.isoformat()}
    return None


def _display_names(session: Session, usernames: set[str]) -> dict[str, str]:
    """Each agent's display name by username (the console shows people by name, not login)."""
    if not usernames:
        return {}
    rows = session.execute(select(Agent.username, Agent.display_name).where(Agent.username.in_(usernames)))
    return {username: name for username, name in rows}


def conversation_detail(
    session: Session, conversation_id: str, *, now: datetime | None = None, language: str = "en"
) -> dict[str, Any] | None:
    """Everything the conversation view shows (the shape of GET /console/api/conversations/{id}), the
    bot's findings and remedies in the reader's `language`."""
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
    names = _display_names(
        session,
        {e.actor.partition(":")[2] for t in tickets for e in t.events if ":" in e.actor}
        | {str(e.data["to"]) for t in tickets for e in t.events if e.data and e.data.get("to")}
        | ({conversation.owner} if conversation.owner else set()),
    )
    ticket_rows = []
    for ticket in tickets:
        row = ticket_to_dict(ticket)
        # The bot's agreed remedy in the reader's language (an agent's typed one as written).
        row["agreed_resolution_said"] = agreed_resolution_text(ticket, language)
        row["sla"] = sla_state(ticket, now) if ticket.status in OPEN_TICKET_STATUSES else None
        row["complaint"] = (
            complaint_summary(ticket, list(ticket.events), language=language)
            if ticket.kind == "complaint"
            else None
        )
        row["events"] = [_event_dict(e, names) for e in ticket.events]
        row["approval"] = latest_request(session, ticket)
        row["countdown"] = countdown(ticket) if ticket.status in OPEN_TICKET_STATUSES else None
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
        "owner_name": names.get(conversation.owner or ""),
        "language": conversation.language,
        "handoff_reason": conversation.handoff_reason,
        "messages": [
            message_to_dict(m) for m in list_messages(session, conversation_id=conversation_id, limit=500)
        ],
        "tickets": ticket_rows,
        # Internal notes, for the timeline beside the transcript (agents only, never the shipper).
        "notes": [
            {
                "id": e.id,
                "ticket": t.number,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "actor_name": names.get(e.actor.partition(":")[2]),
                "text": (e.data or {}).get("text", ""),
            }
            for t in tickets
            for e in t.events
            if e.action == "note"
        ],
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
    return _with_names(session, [request_to_dict(chosen)])[0] if chosen is not None else None


def _with_names(session: Session, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Compensation requests with the display names of who asked and who decided (people, not logins)."""
    deciders = {str(r["decided_by"]).partition(":")[2] for r in requests if r.get("decided_by")}
    names = _display_names(session, {str(r["agent"]) for r in requests if r.get("agent")} | deciders)
    for request in requests:
        request["agent_name"] = names.get(str(request.get("agent")), request.get("agent"))
        decider = str(request.get("decided_by") or "").partition(":")[2]
        request["decider_name"] = names.get(decider, decider or None)
    return requests


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
        "waiting": _with_names(session, [request_to_dict(r) for r in waiting]),
        "decided": _with_names(session, [request_to_dict(r) for r in decided]),
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
        # The agent who looks after the customer (backend.services.ownership), by name.
        "owner": customer.owner,
        "owner_name": _display_names(session, {customer.owner}).get(customer.owner)
        if customer.owner
        else None,
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
