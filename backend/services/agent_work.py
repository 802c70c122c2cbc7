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

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.complaints import BOT_GRANT_LIMIT
from backend.console.vocabulary import APPROVAL_STATUSES
from backend.db import begin_write
from backend.domain import OPEN_TICKET_STATUSES, TICKET_STATUSES
from backend.errors import Conflict, InvalidInput, NotAllowed, NotFound
from backend.i18n import N_, Money, phrase, t
from backend.language import LANGUAGES
from backend.models import Agent, CompensationRequest, Conversation, Ticket, utcnow
from backend.services.audit import record_agent_action
from backend.services.conversations import AlreadyClaimed
from backend.services.tickets import (
    FINISHED_STATUSES,
    InvalidTransition,
    StaleTicket,
    agreed_resolution_text,
    get_ticket,
    record_ticket_event,
    request_to_dict,
    ticket_to_dict,
    update_ticket,
    waiting_request,
)

# The audit trail's names for a compensation request's life (ticket_event.action).
APPROVAL_REQUESTED = "compensation_approval_requested"
APPROVAL_CHANGED = "compensation_request_changed"
APPROVAL_WITHDRAWN = "compensation_request_withdrawn"
APPROVED = "compensation_approved"
REJECTED = "compensation_rejected"
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

    async def push(
        self, conversation_id: str, text: str, *, sender: str = "agent", author: str | None = None
    ) -> M: ...

    def announce(self, conversation_id: str, event: dict[str, Any]) -> None: ...

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
        raise NotFound(N_("No conversation {conversation}."), conversation=conversation_id)
    return conversation


def _ticket(session: Session, number: str) -> Ticket:
    ticket = get_ticket(session, number)
    if ticket is None:
        raise NotFound(N_("No ticket {number}."), number=number)
    return ticket


def display_name(session: Session, username: str) -> str | None:
    """The name an agent shows the shipper ("Li Wei"); None for an account that no longer exists."""
    return session.scalar(select(Agent.display_name).where(Agent.username == username))


def ensure_holder(session: Session, conversation_id: str, agent: AgentView) -> Conversation:
    """The agent holds the conversation (a supervisor may act on any conversation an agent holds)."""
    conversation = _conversation(session, conversation_id)
    if conversation.state != "agent" or conversation.owner is None:
        raise Conflict(N_("Claim the conversation first."))
    if conversation.owner != agent.username and not agent.is_supervisor:
        raise Conflict(N_("{owner} is handling this conversation."), owner=conversation.owner)
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
        raise Conflict(N_("This conversation has no ticket to note on."))
    event = record_ticket_event(
        session, number=ticket.number, actor=agent.actor, action="note", data={"text": text}
    )
    return {
        "id": event.id,
        "ticket": ticket.number,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "actor_name": display_name(session, agent.username),
        "text": text,
    }


def _may_change(session: Session, ticket: Ticket, agent: AgentView) -> None:
    if agent.is_supervisor or not ticket.conversation_id:
        return
    conversation = session.get(Conversation, ticket.conversation_id)
    if (
        conversation is not None
        and conversation.state == "agent"
        and conversation.owner not in (None, agent.username)
    ):
        raise Conflict(N_("{owner} is handling this ticket's conversation."), owner=conversation.owner)


def _cents(amount: Decimal | None) -> Decimal | None:
    """An amount as the database keeps it (to the cent), so 800 and 800.00 are one amount."""
    return None if amount is None else amount.quantize(Decimal("0.01"))


def _while_waiting(
    session: Session, request_id: int, values: dict[str, Any], *, amount: Decimal | None = None
) -> None:
    """Change a request only if it still waits (and still asks `amount`): a conditional UPDATE, so of two
    people acting on it at once exactly one does; the other gets a Conflict and changes nothing."""
    stmt = update(CompensationRequest).where(
        CompensationRequest.id == request_id, CompensationRequest.status == "pending"
    )
    if amount is not None:
        stmt = stmt.where(CompensationRequest.amount_cny == amount)
    done = session.execute(stmt.values(**values).execution_options(synchronize_session="fetch"))
    if getattr(done, "rowcount", 1) != 1:
        raise Conflict(
            N_("Request {request} was decided or changed a moment ago; please reload."), request=request_id
        )


def _ask_approval(
    session: Session,
    ticket: Ticket,
    agent: AgentView,
    amount: Decimal,
    *,
    waiting: CompensationRequest | None,
    reason: str | None,
    resolution: str | None,
) -> CompensationRequest:
    """Open a request for `amount` on the ticket, or correct the one that waits; audited either way."""
    now = utcnow()
    if waiting is None:
        begin_write(session)
        request = CompensationRequest(
            ticket_id=ticket.id,
            amount_cny=amount,
            status="pending",
            reason=reason,
            resolution=resolution,
            requested_by=agent.actor,
            requested_at=now,
            changed_at=now,
        )
        try:
            with session.begin_nested():
                session.add(request)
        except IntegrityError as error:  # another agent's request got there first (one waits per ticket)
            raise Conflict(
                N_("Another compensation request on this ticket is waiting already; reload it.")
            ) from error
        record_ticket_event(
            session,
            number=ticket.number,
            actor=agent.actor,
            action=APPROVAL_REQUESTED,
            data={"request": request.id, "compensation_cny": amount, "reason": reason},
        )
        return request
    before = {"amount_cny": waiting.amount_cny, "reason": waiting.reason, "resolution": waiting.resolution}
    after = {
        "amount_cny": amount,
        "reason": reason if reason is not None else waiting.reason,
        "resolution": resolution if resolution is not None else waiting.resolution,
    }
    diff = {k: {"from": before[k], "to": after[k]} for k in before if before[k] != after[k]}
    if diff:
        # Only while it still waits: a supervisor deciding at this moment must not see it change under them.
        _while_waiting(session, waiting.id, {**after, "changed_at": now})
        # A supervisor who looked at the old amount must look again: their decision names the amount.
        record_ticket_event(
            session,
            number=ticket.number,
            actor=agent.actor,
            action=APPROVAL_CHANGED,
            data={"request": waiting.id, "changes": diff},
        )
    return waiting


def _withdraw(session: Session, ticket: Ticket, waiting: CompensationRequest, agent: AgentView) -> None:
    """An amount within the limit (or a supervisor's own) replaces the request that waited."""
    values = {"status": "withdrawn", "decided_by": agent.actor, "decided_at": utcnow()}
    _while_waiting(session, waiting.id, values)
    record_ticket_event(
        session,
        number=ticket.number,
        actor=agent.actor,
        action=APPROVAL_WITHDRAWN,
        data={"request": waiting.id, "compensation_cny": waiting.amount_cny},
    )


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
    """Set status, agreed resolution and compensation; compensation above the limit waits for a supervisor.

    While a request waits nothing of it reaches the ticket: the amount and the remedy typed with it are
    held on the request (so the bot cannot tell the shipper a remedy nobody approved), and a resolved or
    closed status is held back (`held_status`), since the ticket cannot end before the decision.
    """
    return _change_ticket(
        session,
        number,
        agent,
        status=status,
        resolution=resolution,
        compensation_cny=compensation_cny,
        note=note,
    )[0]


def _locked_ticket(session: Session, number: str) -> Ticket:
    """The ticket, locked for this transaction: one change of a ticket at a time, each seeing the last.

    FOR UPDATE on PostgreSQL (a second edit waits, then reads what the first committed); SQLite's write
    lock does the same there.
    """
    begin_write(session)
    ticket = session.scalars(
        select(Ticket)
        .where(Ticket.number == number.strip().upper())
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if ticket is None:
        raise NotFound(N_("No ticket {number}."), number=number)
    return ticket


def _change_ticket(
    session: Session,
    number: str,
    agent: AgentView,
    *,
    status: str | None,
    resolution: str | None,
    compensation_cny: Decimal | None,
    note: str | None,
) -> tuple[dict[str, Any], bool]:
    """change_ticket, and whether this change is the one that resolved the ticket."""
    ticket = _locked_ticket(session, number)
    was_resolved = ticket.status == "resolved"
    if status is not None and status not in TICKET_STATUSES:
        raise InvalidInput(N_("status must be one of {statuses}."), statuses=", ".join(TICKET_STATUSES))
    _may_change(session, ticket, agent)
    compensation_cny = _cents(compensation_cny)
    changes: dict[str, Any] = {}
    resolution = resolution.strip()[:2000] if resolution is not None else None
    if (
        resolution is not None
        and ticket.agreed_resolution_facts
        and resolution in {agreed_resolution_text(ticket, language) for language in LANGUAGES}
    ):
        # The bot's agreed remedy, as the page showed it in the agent's language, saved unchanged: it
        # keeps its code and facts (so each reader still reads it in their own language).
        resolution = None
    note = note.strip() if note else None
    waiting = waiting_request(session, ticket.id)
    if compensation_cny is not None:
        # The amount the ticket holds already (granted, or approved) is no new request when saved again.
        already = compensation_cny == ticket.compensation_cny
        # DOMAIN.md: the bot and agents may grant up to the same limit; above it a supervisor approves.
        if compensation_cny > BOT_GRANT_LIMIT and not agent.is_supervisor and not already:
            waiting = _ask_approval(
                session,
                ticket,
                agent,
                compensation_cny,
                waiting=waiting,
                reason=note,
                resolution=resolution,
            )
            resolution = None  # held on the request
        elif waiting is not None and (already or compensation_cny != waiting.amount_cny):
            _withdraw(session, ticket, waiting, agent)
            waiting = None
    if waiting is not None and resolution is not None:
        # The remedy belongs to the waiting compensation: kept on the request, never yet on the ticket.
        if resolution != (waiting.resolution or ""):
            _ask_approval(
                session,
                ticket,
                agent,
                waiting.amount_cny,
                waiting=waiting,
                reason=None,
                resolution=resolution,
            )
        resolution = None
    if compensation_cny is not None and waiting is None and compensation_cny != ticket.compensation_cny:
        changes["compensation_cny"] = compensation_cny
    if resolution is not None:
        changes["agreed_resolution"] = resolution
    held = None
    if status is not None:
        if waiting is not None and status in FINISHED_STATUSES and status != ticket.status:
            held = status
        else:
            changes["status"] = status
    if changes:
        try:
            ticket = update_ticket(
                session, number=number, expected_version=None, actor=agent.actor, **changes
            )
        except InvalidTransition as error:
            raise Conflict(str(error)) from error
        except StaleTicket as error:
            raise Conflict(N_("Someone changed this ticket a moment ago; please reload it.")) from error
    if note:
        record_ticket_event(session, number=number, actor=agent.actor, action="note", data={"text": note})
    result = ticket_to_dict(ticket)
    if waiting is not None:
        result["approval"] = request_to_dict(waiting)
        result["detail"] = (
            f"Waiting for a supervisor's approval of {waiting.amount_cny} CNY; the ticket can be resolved "
            "once it is decided."
        )
    if held is not None:
        result["held_status"] = held
    return result, not was_resolved and result["status"] == "resolved"


@dataclass(frozen=True)
class Decision:
    """A supervisor's decision on a compensation request, and what the shipper is told of it."""

    request: dict[str, Any]
    conversation_id: str | None
    shipper_text: str


def decision_text(*, approved: bool, kind: str, number: str, amount: Decimal, language: str | None) -> str:
    """The shipper's news of a decision, in their language: the agreed compensation, or a colleague's call."""
    request = kind != "complaint"
    if approved:
        msgid = (
            N_(
                "Good news about your request {number}: we have approved a compensation of {amount}. "
                "A colleague will confirm the payment with you."
            )
            if request
            else N_(
                "Good news about your complaint {number}: we have approved a compensation of {amount}. "
                "A colleague will confirm the payment with you."
            )
        )
    else:
        msgid = (
            N_(
                "About your request {number}: we could not approve the compensation proposed so far. "
                "A colleague will contact you shortly to agree on the next step. Thank you for your patience."
            )
            if request
            else N_(
                "About your complaint {number}: we could not approve the compensation proposed so far. "
                "A colleague will contact you shortly to agree on the next step. Thank you for your patience."
            )
        )
    return t(language, msgid, number=number, amount=Money(amount))


def decide_compensation(
    session: Session, request_id: int, supervisor: AgentView, *, approve: bool, amount: Decimal | None
) -> Decision:
    """Approve or reject one request, naming its amount: a changed or already decided request is a Conflict.

    The decision is a conditional update (still pending, still this amount), so of two supervisors
    deciding at once exactly one wins, and the shipper hears one decision.
    """
    if not supervisor.is_supervisor:
        raise NotAllowed(N_("Only supervisors may do this."))
    if amount is None:
        raise InvalidInput(N_("Name the amount you decide on, as the request shows it."))
    amount = _cents(amount)
    begin_write(session)
    request = session.scalars(
        select(CompensationRequest)
        .where(CompensationRequest.id == request_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if request is None:
        raise NotFound(N_("No compensation request {request}."), request=request_id)
    if request.status != "pending":
        by = (request.decided_by or "").partition(":")[2] or request.decided_by
        raise Conflict(
            N_("Request {request} was {status} already (by {by}); nothing was changed."),
            request=request_id,
            status=phrase(APPROVAL_STATUSES.get(request.status, request.status)),
            by=by,
        )
    if request.amount_cny != amount:
        raise Conflict(
            N_("Request {request} is now for {now}, not {amount}; please look at it again before deciding."),
            request=request_id,
            now=Money(request.amount_cny or 0),
            amount=Money(amount or 0),
        )
    decision = {
        "status": "approved" if approve else "rejected",
        "decided_by": supervisor.actor,
        "decided_at": utcnow(),
    }
    _while_waiting(session, request_id, decision, amount=amount)
    session.refresh(request)
    ticket = request.ticket
    changes: dict[str, Any] = {}
    if approve:
        changes["compensation_cny"] = amount
        if request.resolution:
            changes["agreed_resolution"] = request.resolution
    ticket = update_ticket(
        session,
        number=ticket.number,
        expected_version=None,
        actor=supervisor.actor,
        action=APPROVED if approve else REJECTED,
        event_data={"request": request.id, "compensation_cny": amount, "requested_by": request.requested_by},
        **changes,
    )
    conversation = session.get(Conversation, ticket.conversation_id) if ticket.conversation_id else None
    language = (conversation.language if conversation else None) or ticket.language
    text = decision_text(
        approved=approve, kind=ticket.kind, number=ticket.number, amount=amount, language=language
    )
    return Decision(
        request=request_to_dict(request), conversation_id=ticket.conversation_id, shipper_text=text
    )


def checked_text(text: str | None) -> str:
    """An agent's message or note, trimmed; refused when empty or longer than MAX_AGENT_TEXT."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(N_("The message is empty."))
    if len(text) > MAX_AGENT_TEXT:
        raise InvalidInput(N_("Please keep a message under 4,000 characters."))
    return text


# The largest amount the store holds (models.Money: twelve digits, two after the point).
MAX_AMOUNT = Decimal("9999999999.99")


def parse_amount(value: Any) -> Decimal | None:
    """A compensation amount in CNY from a form or JSON, or None when empty."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip())
        if not amount.is_finite():  # "NaN", "inf": Decimal reads them, no ticket can hold them
            raise InvalidOperation
        amount = amount.quantize(Decimal("0.01"))
    except InvalidOperation as error:
        raise InvalidInput(N_("The compensation must be an amount in CNY, like 120 or 120.50.")) from error
    if abs(amount) > MAX_AMOUNT:
        raise InvalidInput(N_("The compensation must be at most {amount}."), amount=Money(MAX_AMOUNT))
    if amount < 0:
        raise InvalidInput(N_("The compensation must not be negative."))
    return amount


# -- the use cases, shared by the JSON API and the pages' forms ----------------------------------------


async def claim(desk: Desk[M], conversation_id: str, agent: AgentView) -> Conversation:
    """Take the conversation; Conflict naming the holder when another agent was first."""
    await desk.run_db(lambda s: _conversation(s, conversation_id))
    try:
        conversation = await desk.claim(conversation_id, agent=agent.username)
    except AlreadyClaimed as taken:
        raise Conflict(N_("{owner} is already handling this conversation."), owner=taken.owner) from taken
    await desk.run_db(lambda s: record_conversation_action(s, conversation_id, agent, "claimed"))
    return conversation


async def reply(desk: Desk[M], conversation_id: str, agent: AgentView, text: str) -> M:
    """The agent's message, delivered on the shipper's own channel."""
    text = checked_text(text)
    await desk.run_db(lambda s: ensure_holder(s, conversation_id, agent))
    name = await desk.run_db(lambda s: display_name(s, agent.username))
    message = await desk.push(conversation_id, text, sender="agent", author=name)
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
    saved = await desk.run_db(lambda s: add_note(s, conversation_id, agent, text))
    # Everyone watching the conversation sees the note in its timeline at once (never the shipper).
    desk.announce(conversation_id, {"type": "note", "conversation_id": conversation_id, "note": saved})
    return saved


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
    """change_ticket (the amount as typed or sent), then the satisfaction follow-up once it is resolved.

    Only the edit that resolved the ticket asks: a second "resolved" save (a double click, a colleague at
    the same moment) waits for the first on the ticket's lock, sees it resolved, and asks nothing.
    """
    amount = parse_amount(compensation_cny)
    result, resolved_now = await desk.run_db(
        lambda s: _change_ticket(
            s, number, agent, status=status, resolution=resolution, compensation_cny=amount, note=note
        )
    )
    if resolved_now:
        await desk.ask_follow_up(number)
    return result


async def decide(
    desk: Desk[M], request_id: int, supervisor: AgentView, *, approve: bool, amount_cny: Any
) -> dict[str, Any]:
    """A supervisor approves or rejects a request; the shipper hears it once, on their own channel."""
    amount = parse_amount(amount_cny)
    decision = await desk.run_db(
        lambda s: decide_compensation(s, request_id, supervisor, approve=approve, amount=amount)
    )
    if decision.conversation_id:
        await desk.push(decision.conversation_id, decision.shipper_text, sender="system")
    return decision.request
