"""What agents and supervisors do to conversations and tickets, with every step on the audit trail.

The console's JSON API and its pages' forms call the same use cases here; refusals are domain errors
(backend.errors), which one exception handler turns into HTTP. Each database step is one short
transaction, run through the hub's run_db. Nothing is deleted or edited in place: a ticket changes
through update_ticket, which appends a ticket_event with the actor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.complaints import BOT_GRANT_LIMIT
from backend.domain import OPEN_TICKET_STATUSES, TICKET_STATUSES
from backend.errors import Conflict, InvalidInput, NotAllowed, NotFound
from backend.models import Conversation, Ticket
from backend.services.audit import record_agent_action
from backend.services.conversations import AlreadyClaimed
from backend.services.tickets import (
    InvalidTransition,
    StaleTicket,
    get_ticket,
    list_ticket_events,
    record_ticket_event,
    ticket_to_dict,
    update_ticket,
)

APPROVAL_REQUESTED = "compensation_approval_requested"
MAX_AGENT_TEXT = 4000

T = TypeVar("T")
M = TypeVar("M")


class Desk(Protocol[M]):
    """What the use cases need of the hub (messages of type M): transactions, takeover, sending.

    A protocol rather than an import: the hub calls services, so a service must not import the hub.
    """

    async def run_db(self, work: Callable[[Session], T]) -> T: ...

    async def claim(self, conversation_id: str, *, agent: str) -> Conversation: ...

    async def release(self, conversation_id: str) -> Conversation: ...

    async def hand_back(self, conversation_id: str) -> list[M]: ...

    async def push(self, conversation_id: str, text: str, *, sender: str = "agent") -> M: ...

    async def ask_follow_up(self, ticket_number: str) -> M | None: ...


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


def _conversation(session: Session, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"No conversation {conversation_id}.")
    return conversation


def _ticket(session: Session, number: str) -> Ticket:
    ticket = get_ticket(session, number)
    if ticket is None:
        raise NotFound(f"No ticket {number}.")
    return ticket


def ensure_holder(session: Session, conversation_id: str, agent: AgentView) -> Conversation:
    """The agent holds the conversation (a supervisor may act on any conversation an agent holds)."""
    conversation = _conversation(session, conversation_id)
    if conversation.state != "agent" or conversation.owner is None:
        raise Conflict("Claim the conversation first.")
    if conversation.owner != agent.username and not agent.is_supervisor:
        raise Conflict(f"{conversation.owner} is handling this conversation.")
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
        raise Conflict("This conversation has no ticket to note on.")
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
        raise Conflict(f"{conversation.owner} is handling this ticket's conversation.")


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
    ticket = _ticket(session, number)
    if status is not None and status not in TICKET_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(TICKET_STATUSES)}.")
    _may_change(session, ticket, agent)
    changes: dict[str, Any] = {}
    if status is not None:
        changes["status"] = status
    if resolution is not None:
        changes["agreed_resolution"] = resolution.strip()[:2000]
    approval = None
    if compensation_cny is not None:
        # DOMAIN.md: the bot and agents may grant up to the same limit; above it a supervisor approves.
        if compensation_cny > BOT_GRANT_LIMIT and not agent.is_supervisor:
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
            raise Conflict(str(error)) from error
        except StaleTicket as error:
            raise Conflict("Someone changed this ticket a moment ago; please reload it.") from error
    if note:
        record_ticket_event(
            session, number=number, actor=agent.actor, action="note", data={"text": note.strip()}
        )
    result = ticket_to_dict(ticket)
    if approval:
        result["approval"] = approval
    return result


def approve_compensation(session: Session, number: str, supervisor: AgentView) -> dict[str, Any]:
    """Grant the newest compensation an agent asked approval for (supervisors only)."""
    if not supervisor.is_supervisor:
        raise NotAllowed("Only supervisors may do this.")
    _ticket(session, number)
    requests = [e for e in list_ticket_events(session, number) if e.action == APPROVAL_REQUESTED]
    request = requests[-1] if requests else None
    if request is None or not request.data:
        raise Conflict("No compensation is waiting for approval on this ticket.")
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


def checked_text(text: str | None) -> str:
    """An agent's message or note, trimmed; refused when empty or longer than MAX_AGENT_TEXT."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("The message is empty.")
    if len(text) > MAX_AGENT_TEXT:
        raise InvalidInput("Please keep a message under 4,000 characters.")
    return text


def parse_amount(value: Any) -> Decimal | None:
    """A compensation amount in CNY from a form or JSON, or None when empty."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as error:
        raise InvalidInput("The compensation must be an amount in CNY, like 120 or 120.50.") from error
    if amount < 0:
        raise InvalidInput("The compensation must not be negative.")
    return amount


# -- the use cases, shared by the JSON API and the pages' forms ----------------------------------------


async def claim(desk: Desk[M], conversation_id: str, agent: AgentView) -> Conversation:
    """Take the conversation; Conflict naming the holder when another agent was first."""
    await desk.run_db(lambda s: _conversation(s, conversation_id))
    try:
        conversation = await desk.claim(conversation_id, agent=agent.username)
    except AlreadyClaimed as taken:
        raise Conflict(f"{taken.owner} is already handling this conversation.", owner=taken.owner) from taken
    await desk.run_db(lambda s: record_conversation_action(s, conversation_id, agent, "claimed"))
    return conversation


async def reply(desk: Desk[M], conversation_id: str, agent: AgentView, text: str) -> M:
    """The agent's message, delivered on the shipper's own channel."""
    text = checked_text(text)
    await desk.run_db(lambda s: ensure_holder(s, conversation_id, agent))
    message = await desk.push(conversation_id, text, sender="agent")
    await desk.run_db(lambda s: record_conversation_action(s, conversation_id, agent, "replied"))
    return message


async def release(desk: Desk[M], conversation_id: str, agent: AgentView) -> Conversation:
    """Back to the queue for another person."""
    await desk.run_db(lambda s: ensure_holder(s, conversation_id, agent))
    conversation = await desk.release(conversation_id)
    await desk.run_db(lambda s: record_conversation_action(s, conversation_id, agent, "released"))
    return conversation


async def hand_back(desk: Desk[M], conversation_id: str, agent: AgentView) -> list[M]:
    """The bot speaks again, and says so."""
    await desk.run_db(lambda s: ensure_holder(s, conversation_id, agent))
    await desk.run_db(lambda s: record_conversation_action(s, conversation_id, agent, "handed_back"))
    return await desk.hand_back(conversation_id)


async def note(desk: Desk[M], conversation_id: str, agent: AgentView, text: str) -> dict[str, Any]:
    """An internal note on the conversation's ticket."""
    text = checked_text(text)
    return await desk.run_db(lambda s: add_note(s, conversation_id, agent, text))


async def edit_ticket(
    desk: Desk[M],
    number: str,
    agent: AgentView,
    *,
    status: str | None = None,
    resolution: str | None = None,
    compensation_cny: Any = None,
    note: str | None = None,
) -> dict[str, Any]:
    """change_ticket (the amount as typed or sent), then the satisfaction follow-up once it is resolved."""
    amount = parse_amount(compensation_cny)
    result = await desk.run_db(
        lambda s: change_ticket(
            s, number, agent, status=status, resolution=resolution, compensation_cny=amount, note=note
        )
    )
    if result["status"] == "resolved":
        await desk.ask_follow_up(number)
    return result


async def approve(desk: Desk[M], number: str, supervisor: AgentView) -> dict[str, Any]:
    """A supervisor grants the compensation an agent proposed above the agent's limit."""
    return await desk.run_db(lambda s: approve_compensation(s, number, supervisor))
