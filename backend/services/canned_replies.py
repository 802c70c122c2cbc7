"""Canned replies (快捷回复): shared and personal ready-made answers, filled from the conversation.

A shared reply (owner None) is kept by supervisors and offered to every agent; a personal one belongs to
the agent who wrote it. Each is in one language and has a short code the agent types as "/code" in the
reply box. Its body may name {waybill} {ticket} {due} {customer} {agent}: they are filled here, on the
server, from the conversation's own record, so the shipper gets the right values and not what a page
happened to show. A value the record does not have stays as its {name}, for the agent to see and fill.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.domain import OPEN_TICKET_STATUSES
from backend.errors import Conflict, InvalidInput, NotAllowed, NotFound
from backend.i18n import N_, LocalTime, localise
from backend.language import LANGUAGES
from backend.models import Agent, CannedReply, Conversation, Customer, Ticket, utcnow
from backend.services.audit import Person
from backend.services.shipments import get_shipment

VARIABLES = ("waybill", "ticket", "due", "customer", "agent")
CODE = re.compile(r"^[\w-]{1,32}$")
MAX_BODY = 4000


def reply_to_dict(reply: CannedReply) -> dict[str, Any]:
    return {
        "id": reply.id,
        "shared": reply.owner is None,
        "owner": reply.owner,
        "title": reply.title,
        "code": reply.code,
        "language": reply.language,
        "body": reply.body,
    }


def replies_for(session: Session, username: str, *, language: str | None = None) -> list[CannedReply]:
    """The agent's own replies and the shared ones (in one language when given), by code."""
    query = select(CannedReply).where(or_(CannedReply.owner.is_(None), CannedReply.owner == username))
    if language is not None:
        query = query.where(CannedReply.language == language)
    return list(
        session.scalars(query.order_by(CannedReply.code, CannedReply.owner.is_(None), CannedReply.id))
    )


@dataclass(frozen=True)
class Draft:
    """A reply as a form gives it, checked by `checked`."""

    title: str
    code: str
    language: str
    body: str


def checked(draft: Draft) -> Draft:
    title, code, body = draft.title.strip(), draft.code.strip().lstrip("/").lower(), draft.body.strip()
    if not title or len(title) > 100:
        raise InvalidInput(N_("Give the reply a title of at most 100 characters."))
    if not CODE.match(code):
        raise InvalidInput(N_("The short code is one word of at most 32 letters, digits, - or _."))
    if draft.language not in LANGUAGES:
        raise InvalidInput(N_("The language must be one of {languages}."), languages=", ".join(LANGUAGES))
    if not body or len(body) > MAX_BODY:
        raise InvalidInput(N_("The reply's text must be 1 to {most} characters."), most=MAX_BODY)
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(body) if name is not None}
    except ValueError as error:
        raise InvalidInput(N_("The reply's text has an unclosed {{ or }}.")) from error
    unknown = sorted(names - set(VARIABLES))
    if unknown:
        raise InvalidInput(
            N_("Unknown variable {name}: use {known}."),
            name="{" + unknown[0] + "}",
            known=", ".join("{" + v + "}" for v in VARIABLES),
        )
    return Draft(title, code, draft.language, body)


def _may_manage(reply: CannedReply, person: Person) -> None:
    if reply.owner is None and person.role != "supervisor":
        raise NotAllowed(N_("Only supervisors may change shared replies."))
    if reply.owner is not None and reply.owner != person.username:
        raise NotAllowed(N_("This reply belongs to another agent."))


def _ensure_unique(
    session: Session, draft: Draft, owner: str | None, *, except_id: int | None = None
) -> None:
    same = select(CannedReply.id).where(
        CannedReply.code == draft.code,
        CannedReply.language == draft.language,
        CannedReply.owner.is_(None) if owner is None else CannedReply.owner == owner,
    )
    if except_id is not None:
        same = same.where(CannedReply.id != except_id)
    if session.scalar(same) is not None:
        raise Conflict(f"There is already a reply /{draft.code} in this language.")


def create_reply(session: Session, person: Person, draft: Draft, *, shared: bool) -> CannedReply:
    """A new reply: shared ones only by supervisors."""
    if shared and person.role != "supervisor":
        raise NotAllowed("Only supervisors may add shared replies.")
    draft = checked(draft)
    owner = None if shared else person.username
    _ensure_unique(session, draft, owner)
    now = utcnow()
    reply = CannedReply(
        owner=owner,
        title=draft.title,
        code=draft.code,
        language=draft.language,
        body=draft.body,
        created_by=person.username,
        created_at=now,
        updated_at=now,
    )
    session.add(reply)
    session.flush()
    return reply


def get_reply(session: Session, reply_id: int) -> CannedReply:
    reply = session.get(CannedReply, reply_id)
    if reply is None:
        raise NotFound(f"No canned reply {reply_id}.")
    return reply


def update_reply(session: Session, person: Person, reply_id: int, draft: Draft) -> CannedReply:
    reply = get_reply(session, reply_id)
    _may_manage(reply, person)
    draft = checked(draft)
    _ensure_unique(session, draft, reply.owner, except_id=reply.id)
    reply.title, reply.code, reply.language, reply.body = draft.title, draft.code, draft.language, draft.body
    reply.updated_at = utcnow()
    session.flush()
    return reply


def delete_reply(session: Session, person: Person, reply_id: int) -> None:
    reply = get_reply(session, reply_id)
    _may_manage(reply, person)
    session.delete(reply)
    session.flush()


def values_for(
    session: Session, conversation_id: str, username: str, *, language: str, tz: ZoneInfo
) -> dict[str, str]:
    """The variables' values from the conversation's record; a value it does not have is left out."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"No conversation {conversation_id}.")
    tickets = list(
        session.scalars(
            select(Ticket)
            .where(Ticket.conversation_id == conversation_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        )
    )
    ticket = next((t for t in tickets if t.status in OPEN_TICKET_STATUSES), tickets[0] if tickets else None)
    values: dict[str, str] = {}
    waybill = next((t.waybill for t in tickets if t.waybill), None)
    if waybill:
        values["waybill"] = waybill
    if ticket is not None:
        values["ticket"] = ticket.number
        due: datetime | None = ticket.resolution_due_at or ticket.sla_due_at
        if due is not None:
            values["due"] = str(localise(LocalTime(due, tz), language))
    customer_id = conversation.customer_id or next((t.customer_id for t in tickets if t.customer_id), None)
    if customer_id is None and waybill:
        shipment = get_shipment(session, waybill)
        customer_id = shipment.customer_id if shipment else None
    customer = session.get(Customer, customer_id) if customer_id else None
    if customer is not None:
        values["customer"] = customer.name
    name = session.scalar(select(Agent.display_name).where(Agent.username == username))
    if name:
        values["agent"] = name
    return values


def filled(body: str, values: dict[str, str]) -> str:
    """The body with each known variable filled; an unknown one stays as {name} for the agent to see."""
    return string.Formatter().vformat(body, (), _KeepMissing(values))


class _KeepMissing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill_reply(
    session: Session, person: Person, reply_id: int, conversation_id: str, *, tz: ZoneInfo
) -> dict[str, Any]:
    """A reply the agent may use, filled for the conversation: what goes into the reply box."""
    reply = get_reply(session, reply_id)
    if reply.owner is not None and reply.owner != person.username:
        raise NotAllowed(N_("This reply belongs to another agent."))
    values = values_for(session, conversation_id, person.username, language=reply.language, tz=tz)
    return reply_to_dict(reply) | {"text": filled(reply.body, values)}
