"""Finding conversations for the console: one search box and the queue's filters, read in the database.

One box takes whatever an agent has at hand: a waybill (any spacing or case: "ea 1000 0003 4cn"), a
phone number (any format backend.phones reads: 138-0000-0003, +86 138 0000 0003, full-width digits),
a ticket number (t-202611-00042), a customer id (c002) or part of a customer's name. The filters narrow
any list: mine, unassigned (waiting for a person), the shipper's language, the ticket's priority and its
status, resolved and closed ones included. Without a search or a status the list is the live queue
(waiting conversations and the agent's own, as backend.services.console.queue has it); a search or a
status looks at every conversation, finished ones too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from backend.domain import PRACTICE_CHANNELS, PRIORITIES, TICKET_STATUSES
from backend.language import LANGUAGES
from backend.models import Conversation, Customer, Shipment, Ticket, utcnow
from backend.phones import normalise_phone
from backend.services.console import _latest_ticket, _queue_key, queue_item, with_owner_names
from backend.services.ownership import visible_filter
from backend.waybill import normalise as normalise_waybill
from backend.waybill import validate as validate_waybill

# A search answers with at most this many conversations (most urgent first); the agent narrows it.
MAX_RESULTS = 100
TICKET_NUMBER = re.compile(r"T-?(\d{6})-?(\d{5})")
CUSTOMER_ID = re.compile(r"C\d{3,}")


@dataclass(frozen=True)
class QueueFilter:
    """What the agent asked for: a search text and the filters (empty: the live queue)."""

    query: str = ""
    mine: bool = False
    unassigned: bool = False
    language: str | None = None
    priority: str | None = None
    status: str | None = None

    @classmethod
    def of(
        cls,
        *,
        q: str | None = None,
        mine: bool = False,
        unassigned: bool = False,
        language: str | None = None,
        priority: str | None = None,
        status: str | None = None,
    ) -> QueueFilter:
        """The filter from a form's fields (also the console routes' dependency: `q` and the filters as
        the query string has them); a value we do not know is no filter rather than an error."""
        return cls(
            query=" ".join((q or "").split())[:200],
            mine=mine,
            unassigned=unassigned,
            language=language if language in LANGUAGES else None,
            priority=priority if priority in PRIORITIES else None,
            status=status if status in TICKET_STATUSES else None,
        )

    @property
    def searching(self) -> bool:
        """A search or a status looks beyond the live queue (finished conversations too)."""
        return bool(self.query or self.status)

    @property
    def active(self) -> bool:
        return self.searching or self.mine or self.unassigned or bool(self.language or self.priority)


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _matching_conversations(session: Session, query: str) -> Select[tuple[str]]:
    """Ids of the conversations the search text points at, by every key it can be."""
    text = _folded(query)
    compact = normalise_waybill(text)  # no spaces or dashes, upper case
    conditions: list[Any] = []
    customers: list[Any] = []
    waybill = validate_waybill(text)
    if waybill.status != "malformed":  # the shape of a waybill: look it up even with a wrong check digit
        found = waybill.value
        conditions.append(Conversation.id.in_(select(Ticket.conversation_id).where(Ticket.waybill == found)))
        customers.append(select(Shipment.customer_id).where(Shipment.waybill == found))
    number = TICKET_NUMBER.fullmatch(compact)
    if number:
        conditions.append(
            Conversation.id.in_(
                select(Ticket.conversation_id).where(Ticket.number == f"T-{number[1]}-{number[2]}")
            )
        )
    phone = normalise_phone(text)
    if phone:
        conditions.append(
            Conversation.id.in_(select(Ticket.conversation_id).where(Ticket.contact_phone == phone))
        )
        customers.append(select(Customer.id).where(Customer.phone == phone))
    if CUSTOMER_ID.fullmatch(compact):
        customers.append(select(Customer.id).where(Customer.id == compact))
    if len(text) >= 2:
        # Part of a customer's name ("wang", "五金"): case-insensitive, as typed. Digits that also make a
        # valid phone number (an 8-digit fixed line) may be part of a name too, so both are looked up.
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        customers.append(select(Customer.id).where(func.lower(Customer.name).like(pattern, escape="\\")))
    for ids in customers:
        conditions += [
            Conversation.customer_id.in_(ids),
            Conversation.verified_customer_id.in_(ids),
            Conversation.id.in_(select(Ticket.conversation_id).where(Ticket.customer_id.in_(ids))),
        ]
    if not conditions:
        return select(Conversation.id).where(False)  # type: ignore[arg-type]
    return select(Conversation.id).where(or_(*conditions))


def _newest_ticket(session: Session, conversation_id: str) -> Ticket | None:
    """The conversation's newest ticket, finished or not (a search shows resolved ones too)."""
    return session.scalars(
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    ).first()


def find_conversations(
    session: Session, wanted: QueueFilter, *, agent: str | None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The queue's rows for this filter (the shape of backend.services.console.queue_item), most urgent
    first; without a search or a status only the live queue's conversations."""
    # Another owner's conversation offered to them is out of sight until its offer runs out (on the
    # ownership service's clock unless a time was given).
    offers = visible_filter(session, agent, now=now)
    now = now or utcnow()
    query = select(Conversation).where(Conversation.channel.not_in(PRACTICE_CHANNELS), offers)
    if wanted.searching:
        if wanted.query:
            query = query.where(Conversation.id.in_(_matching_conversations(session, wanted.query)))
    else:
        waiting = Conversation.state == "queued"
        mine = (Conversation.state == "agent") & (Conversation.owner == agent)
        query = query.where(waiting | mine if agent else waiting)
    if wanted.mine:
        query = query.where(Conversation.state == "agent", Conversation.owner == agent)
    if wanted.unassigned:
        query = query.where(Conversation.state == "queued")
    if wanted.language:
        query = query.where(Conversation.language == wanted.language)
    conversations = session.scalars(query.order_by(Conversation.updated_at.desc()).limit(MAX_RESULTS * 5))
    rows: list[dict[str, Any]] = []
    for conversation in conversations:
        ticket = (
            _newest_ticket(session, conversation.id)
            if wanted.searching
            else _latest_ticket(session, conversation.id)
        )
        if wanted.priority and (ticket is None or ticket.priority != wanted.priority):
            continue
        if wanted.status and (ticket is None or ticket.status != wanted.status):
            continue
        rows.append(queue_item(conversation, ticket, now))
        if len(rows) >= MAX_RESULTS:
            break
    return sorted(with_owner_names(session, rows), key=_queue_key)
