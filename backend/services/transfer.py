"""Transfer a conversation (and its open ticket) to a named colleague, atomically and audited.

The holder, or a supervisor, names the colleague and the holder they saw. One conditional UPDATE on the
conversation (owner still the holder they saw) decides: of two transfers at once exactly one wins, the
other is refused with 409 and the name of who has it now. The ticket follows the conversation (a ticket's
person is the conversation's holder); both audit trails say who moved it from whom to whom.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.db import begin_write
from backend.errors import Conflict, InvalidInput, NotAllowed, NotFound
from backend.i18n import N_
from backend.models import Agent, Conversation, utcnow
from backend.services.agent_work import AgentView, current_ticket
from backend.services.audit import record_agent_action

TRANSFERRED = "transferred"


class Announcer(Protocol):
    """What tells the console a conversation changed hands (backend.hub.Hub)."""

    async def run_db(self, work: Any) -> Any: ...

    def changed_hands(self, conversation_id: str, owner: str, *, by: str) -> None: ...


def colleagues(session: Session, *, besides: str | None = None) -> list[dict[str, str]]:
    """The active agents and supervisors one may transfer to, by name."""
    rows = session.execute(
        select(Agent.username, Agent.display_name).where(Agent.active.is_(True)).order_by(Agent.display_name)
    )
    return [{"username": u, "name": n} for u, n in rows if u != besides]


def transfer_conversation(
    session: Session, conversation_id: str, by: AgentView, *, to: str, holder: str
) -> Conversation:
    """Give the conversation `holder` had to `to`; Conflict when it is no longer `holder`'s."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(N_("No conversation {conversation}."), conversation=conversation_id)
    if by.username != holder and not by.is_supervisor:
        raise NotAllowed(N_("Only the agent handling the conversation, or a supervisor, may transfer it."))
    target = session.scalar(select(Agent).where(Agent.username == to))
    if target is None or not target.active:
        raise InvalidInput(N_("Transfer to an active colleague."))
    if to == holder:
        raise InvalidInput(N_("{owner} is already handling this conversation."), owner=to)
    begin_write(session)
    # One conditional UPDATE decides a race between two transfers (or a transfer and a release).
    moved = session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id, Conversation.state == "agent", Conversation.owner == holder
        )
        .values(owner=to, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    conversation = session.get(Conversation, conversation_id, populate_existing=True)
    assert conversation is not None
    if moved.rowcount != 1:
        now = conversation.owner if conversation.state == "agent" else None
        if now:
            raise Conflict(N_("The conversation changed hands first: {owner} is handling it now."), owner=now)
        raise Conflict(N_("The conversation is no longer with an agent."))
    ticket = current_ticket(session, conversation_id)
    record_agent_action(
        session,
        agent=by,
        action=TRANSFERRED,
        ticket_number=ticket.number if ticket is not None else None,
        conversation_id=conversation_id,
        data={"from": holder, "to": to},
    )
    return conversation


async def transfer(
    desk: Announcer, conversation_id: str, by: AgentView, *, to: str, holder: str
) -> Conversation:
    """The use case: move it, then tell every console (the new holder's queue lists it at once)."""
    conversation: Conversation = await desk.run_db(
        lambda s: transfer_conversation(s, conversation_id, by, to=to, holder=holder)
    )
    desk.changed_hands(conversation_id, to, by=by.username)
    return conversation
