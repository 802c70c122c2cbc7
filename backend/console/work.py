"""What agents and supervisors do to conversations and tickets, with every step on the audit trail.

Each function is one short transaction (the routes run it through Hub.run_db). Nothing is deleted or
edited in place: a ticket changes through update_ticket, which appends a ticket_event with the actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.domain import TICKET_STATUSES
from backend.hub import Hub, Outbound
from backend.models import Conversation, Ticket, TicketEvent
from backend.services.audit import record_agent_action
from backend.services.console import OPEN_TICKET_STATUSES
from backend.services.conversations import AlreadyClaimed
from backend.services.tickets import (
    InvalidTransition,
    StaleTicket,
    get_ticket,
    record_ticket_event,
    ticket_to_dict,
    update_ticket,
)

# DOMAIN.md: the bot and agents may grant up to 500 CNY; above that a supervisor approves.
AGENT_COMPENSATION_LIMIT = Decimal("500.00")
APPROVAL_REQUESTED = "compensation_approval_requested"
MAX_AGENT_TEXT = 4000


@dataclass(frozen=True)
class AgentView:
    """Who is acting: the agent's login name and role."""

    username: str
    role: str

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.username}"

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


class ConsoleError(Exception):
    """A refused action, with the HTTP status and a sentence for the agent."""

    def __init__(self, status_code: int, detail: str, *, owner: str | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.owner = owner


def _conversation(session: Session, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConsoleError(404, f"No conversation {conversation_id}.")
    return conversation


def ensure_holder(session: Session, conversation_id: str, agent: AgentView) -> Conversation:
    """The agent holds the conversation (a supervisor may act on any conversation an agent holds)."""
    conversation = _conversation(session, conversation_id)
    if conversation.state != "agent" or conversation.owner is None:
        raise ConsoleError(409, "Claim the conversation first.")
    if conversation.owner != agent.username and not agent.is_supervisor:
        raise ConsoleError(409, f"{conversation.owner} is handling this conversation.")
    return conversation


def current_ticket(session: Session, conversation_id: str) -> Ticket | None:
    """The conversation's newest ticket that is still being handled, else its newest one."""
    tickets = list(
        session.scalars(
            select(Ticket)
            .where(Ticket.conversation_id == conversation_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        )
    )
    return next((t for t in tickets if t.status in OPEN_TICKET_STATUSES), tickets[0] if tickets else None)


# What a claim, a release or a hand-back does to the conversation's ticket, when it is in these states.
_TICKET_MOVES = {
    "claimed": (("escalated", "waiting_customer", "open"), "assigned"),
    "released": (("assigned",), "escalated"),
    "handed_back": (("assigned",), "open"),
}


def record_conversation_action(session: Session, conversation_id: str, agent: AgentView, action: str) -> None:
    """Audit a claim, reply, release or hand-back; a claim assigns the ticket, a release re-escalates it."""
    ticket = current_ticket(session, conversation_id)
    if ticket is None:
        record_agent_action(session, agent=agent, action=action, conversation_id=conversation_id)
        return
    moves = _TICKET_MOVES.get(action)
    if moves is not None and ticket.status in moves[0]:
        update_ticket(
            session,
            number=ticket.number,
            expected_version=None,
            actor=agent.actor,
            action=action,
            status=moves[1],
        )
        return
    record_agent_action(
        session, agent=agent, action=action, ticket_number=ticket.number, conversation_id=conversation_id
    )


def add_note(session: Session, conversation_id: str, agent: AgentView, text: str) -> dict[str, Any]:
    """An internal note on the conversation's ticket; never sent to the shipper."""
    _conversation(session, conversation_id)
    ticket = current_ticket(session, conversation_id)
    if ticket is None:
        raise ConsoleError(409, "This conversation has no ticket to note on.")
    event = record_ticket_event(
        session, number=ticket.number, actor=agent.actor, action="note", data={"text": text}
    )
    return {"ticket": ticket.number, "at": event.at.isoformat(), "actor": event.actor, "text": text}


def _may_change(session: Session, ticket: Ticket, agent: AgentView) -> None:
    if agent.is_supervisor or not ticket.conversation_id:
        return
    conversation = session.get(Conversation, ticket.conversation_id)
    if (
        conversation is not None
        and conversation.state == "agent"
        and conversation.owner not in (None, agent.username)
    ):
        raise ConsoleError(409, f"{conversation.owner} is handling this ticket's conversation.")


def change_ticket(
    session: Session,
    number: str,
    agent: AgentView,
    *,
    status: str | None = None,
    resolution: str | None = None,
    compensation_cny: Decimal | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Set status, agreed resolution and compensation; compensation above the limit waits for a supervisor."""
    ticket = get_ticket(session, number)
    if ticket is None:
        raise ConsoleError(404, f"No ticket {number}.")
    if status is not None and status not in TICKET_STATUSES:
        raise ConsoleError(422, f"status must be one of {', '.join(TICKET_STATUSES)}.")
    _may_change(session, ticket, agent)
    changes: dict[str, Any] = {}
    if status is not None:
        changes["status"] = status
    if resolution is not None:
        changes["agreed_resolution"] = resolution.strip()[:2000]
    approval = None
    if compensation_cny is not None:
        if compensation_cny > AGENT_COMPENSATION_LIMIT and not agent.is_supervisor:
            record_ticket_event(
                session,
                number=number,
                actor=agent.actor,
                action=APPROVAL_REQUESTED,
                data={"compensation_cny": str(compensation_cny)},
            )
            approval = "pending"
        else:
            changes["compensation_cny"] = compensation_cny
    if changes:
        try:
            ticket = update_ticket(
                session, number=number, expected_version=None, actor=agent.actor, **changes
            )
        except InvalidTransition as error:
            raise ConsoleError(409, str(error)) from error
        except StaleTicket as error:
            raise ConsoleError(409, "Someone changed this ticket a moment ago; please reload it.") from error
    if note:
        record_ticket_event(
            session, number=number, actor=agent.actor, action="note", data={"text": note.strip()}
        )
    result = ticket_to_dict(ticket)
    if approval:
        result["approval"] = approval
    return result


def approve_compensation(session: Session, number: str, supervisor: AgentView) -> dict[str, Any]:
    """Grant the newest compensation an agent asked approval for."""
    ticket = get_ticket(session, number)
    if ticket is None:
        raise ConsoleError(404, f"No ticket {number}.")
    request = session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == APPROVAL_REQUESTED)
        .order_by(TicketEvent.id.desc())
        .limit(1)
    ).first()
    if request is None or not request.data:
        raise ConsoleError(409, "No compensation is waiting for approval on this ticket.")
    amount = Decimal(str(request.data["compensation_cny"]))
    ticket = update_ticket(
        session,
        number=number,
        expected_version=None,
        actor=supervisor.actor,
        action="compensation_approved",
        compensation_cny=amount,
    )
    return ticket_to_dict(ticket)


# -- the use cases, shared by the JSON API and the pages' forms ----------------------------------------


async def claim(hub: Hub, conversation_id: str, agent: AgentView) -> Conversation:
    """Take the conversation; raises ConsoleError 409 naming the holder when another agent was first."""
    await hub.run_db(lambda s: _conversation(s, conversation_id))
    try:
        conversation = await hub.claim(conversation_id, agent=agent.username)
    except AlreadyClaimed as taken:
        raise ConsoleError(
            409, f"{taken.owner} is already handling this conversation.", owner=taken.owner
        ) from taken
    await hub.run_db(lambda s: record_conversation_action(s, conversation_id, agent, "claimed"))
    return conversation


async def reply(hub: Hub, conversation_id: str, agent: AgentView, text: str) -> Outbound:
    """The agent's message, delivered on the shipper's own channel."""
    text = checked_text(text)
    await hub.run_db(lambda s: ensure_holder(s, conversation_id, agent))
    message = await hub.push(conversation_id, text, sender="agent")
    await hub.run_db(lambda s: record_conversation_action(s, conversation_id, agent, "replied"))
    return message


async def release(hub: Hub, conversation_id: str, agent: AgentView) -> Conversation:
    """Back to the queue for another person."""
    await hub.run_db(lambda s: ensure_holder(s, conversation_id, agent))
    conversation = await hub.release(conversation_id)
    await hub.run_db(lambda s: record_conversation_action(s, conversation_id, agent, "released"))
    return conversation


async def hand_back(hub: Hub, conversation_id: str, agent: AgentView) -> list[Outbound]:
    """The bot speaks again, and says so."""
    await hub.run_db(lambda s: ensure_holder(s, conversation_id, agent))
    await hub.run_db(lambda s: record_conversation_action(s, conversation_id, agent, "handed_back"))
    return await hub.hand_back(conversation_id)


async def note(hub: Hub, conversation_id: str, agent: AgentView, text: str) -> dict[str, Any]:
    text = checked_text(text)
    return await hub.run_db(lambda s: add_note(s, conversation_id, agent, text))


async def edit_ticket(hub: Hub, number: str, agent: AgentView, **changes: Any) -> dict[str, Any]:
    """change_ticket, then the satisfaction follow-up once the ticket is resolved."""
    result = await hub.run_db(lambda s: change_ticket(s, number, agent, **changes))
    if result["status"] == "resolved":
        await hub.ask_follow_up(number)
    return result


def checked_text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise ConsoleError(422, "The message is empty.")
    if len(text) > MAX_AGENT_TEXT:
        raise ConsoleError(422, "Please keep a message under 4,000 characters.")
    return text


def parse_amount(value: Any) -> Decimal | None:
    """A compensation amount in CNY from a form or JSON, or None when empty."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as error:
        raise ConsoleError(422, "The compensation must be an amount in CNY, like 120 or 120.50.") from error
    if amount < 0:
        raise ConsoleError(422, "The compensation must not be negative.")
    return amount
