"""The actions' one door to the backend: sessions, transactions and retries, outcomes back, one error out.

Every call is one short transaction against the system of record through a backend service. Database
trouble comes out as `BackendUnavailable` (the actions' base turns it into the polite message); a ticket
that a person changed meanwhile is tried once more before `StaleTicket` comes out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from backend.config import carrier_today, get_settings
from backend.domain import ShipmentView
from backend.services import complaints as use_cases
from backend.services import customers, handoff, notices
from backend.services.attachments import count_attachments
from backend.services.complaints import Accepted, ComplaintDraft, Outcome
from backend.services.customers import PhoneLookup
from backend.services.handoff import Handover
from backend.services.shipments import get_shipment
from backend.services.store import open_store
from backend.services.store import transaction as store_transaction
from backend.services.tickets import BusinessCalendar, StaleTicket, get_ticket, list_tickets

Result = TypeVar("Result")


class BackendUnavailable(Exception):
    """The system of record cannot be reached (or failed mid-transaction): nothing was done."""


@dataclass(frozen=True)
class TicketView:
    """What the bot may say about a ticket."""

    number: str
    kind: str
    status: str
    conversation_id: str | None
    waybill: str | None
    agreed_resolution: str | None
    sla_due_at: datetime | None
    # The agreed remedy as a code and its facts (None when an agent typed it): said in any language.
    agreed_resolution_facts: dict[str, Any] | None = None


@lru_cache(maxsize=1)
def _session_factory() -> sessionmaker[Session]:
    # Made on the first call, never at import: the action server loads this package before it serves.
    return open_store(get_settings().database_url)


@contextmanager
def transaction() -> Iterator[Session]:
    """A short transaction against the system of record."""
    with store_transaction(_session_factory()) as session:
        yield session


def _call(use_case: Callable[[Session], Result]) -> Result:
    """Runs a use case in one transaction; database trouble becomes BackendUnavailable."""
    try:
        with transaction() as session:
            return use_case(session)
    except SQLAlchemyError as trouble:
        raise BackendUnavailable(str(trouble)) from trouble


def _retrying(use_case: Callable[[Session], Result]) -> Result:
    """Runs a use case in one transaction; once more if a person changed the ticket meanwhile."""
    try:
        return _call(use_case)
    except StaleTicket:
        return _call(use_case)


def _calendar() -> BusinessCalendar:
    return BusinessCalendar.from_settings(get_settings())


def _ticket_view(ticket: Any) -> TicketView:
    return TicketView(
        number=ticket.number,
        kind=ticket.kind,
        status=ticket.status,
        conversation_id=ticket.conversation_id,
        waybill=ticket.waybill,
        agreed_resolution=ticket.agreed_resolution,
        sla_due_at=ticket.sla_due_at,
        agreed_resolution_facts=ticket.agreed_resolution_facts,
    )


# --- shipments and customers -----------------------------------------------------------------------


def shipment(waybill: str, *, conversation_id: str | None = None) -> ShipmentView | None:
    """The shipment's record as of today in the carrier's time zone, or None when it is not in the store.

    With `conversation_id` (a shipper asked about it), the look-up is remembered in the same transaction
    so the conversation hears of the shipment's next changes (backend.services.notices).
    """

    def read(session: Session) -> ShipmentView | None:
        view = get_shipment(session, waybill, today=carrier_today())
        if view is not None and conversation_id:
            notices.record_inquiry(session, conversation_id=conversation_id, waybill=view.waybill)
        return view

    return _call(read)


def stop_updates(conversation_id: str) -> bool:
    """The shipper opts out of proactive notices; False when they already had."""
    return _call(lambda session: notices.stop_updates(session, conversation_id=conversation_id))


def resume_updates(conversation_id: str) -> bool:
    """The shipper wants proactive notices again; False when they had not opted out."""
    return _call(lambda session: notices.resume_updates(session, conversation_id=conversation_id))


def shipments_by_phone(*, conversation_id: str, phone: str, known_waybill: str | None) -> PhoneLookup:
    """The account's shipments, if the conversation has proved it holds the account of `phone`."""
    return _call(
        lambda session: customers.shipments_by_phone(
            session,
            conversation_id=conversation_id,
            phone=phone,
            known_waybill=known_waybill,
            today=carrier_today(),
        )
    )


def prove_phone(*, conversation_id: str, phone: str, customer_id: str) -> PhoneLookup:
    """The phone number proved with a shipment of `customer_id`: the account's shipments, if they match."""
    return _call(
        lambda session: customers.prove_with_shipment(
            session,
            conversation_id=conversation_id,
            phone=phone,
            customer_id=customer_id,
            today=carrier_today(),
        )
    )


def attachment_count(conversation_id: str) -> int:
    """How many files the shipper has attached in this conversation."""
    return _call(lambda session: count_attachments(session, conversation_id))


# --- tickets and hand-overs ------------------------------------------------------------------------


def ticket(number: str) -> TicketView | None:
    """The ticket with this number, or None."""

    def read(session: Session) -> TicketView | None:
        found = get_ticket(session, number)
        return None if found is None else _ticket_view(found)

    return _call(read)


def latest_ticket(conversation_id: str) -> TicketView | None:
    """The newest ticket of this conversation, or None."""

    def read(session: Session) -> TicketView | None:
        mine = list_tickets(session, conversation_id=conversation_id, limit=1)
        return _ticket_view(mine[0]) if mine else None

    return _call(read)


def request_person(
    *, conversation_id: str, request_id: str, text: str, waybill: str | None, now: datetime, language: str
) -> Handover:
    """The shipper asked for a person with no complaint: the request's ticket, conversation queued."""
    return _call(
        lambda session: handoff.request_person(
            session,
            conversation_id=conversation_id,
            request_id=request_id,
            text=text,
            waybill=waybill,
            now=now,
            language=language,
        )
    )


# --- complaints ------------------------------------------------------------------------------------


def escalate_complaint(draft: ComplaintDraft, *, now: datetime, reason: str) -> Outcome:
    """Hands the complaint to a person: ticket `escalated`, conversation queued."""
    calendar = _calendar()
    return _retrying(
        lambda session: use_cases.escalate(session, draft, now=now, calendar=calendar, reason=reason)
    )


def offer_remedy(draft: ComplaintDraft, *, now: datetime) -> Outcome:
    """The customer confirmed the summary: the first remedy offered, or a person at once."""
    calendar = _calendar()
    return _retrying(lambda session: use_cases.offer_remedy(session, draft, now=now, calendar=calendar))


def accept_remedy(ticket_number: str) -> Accepted:
    """The customer accepts the offer on record (LookupError: none; InvalidTransition: moved on)."""
    return _retrying(lambda session: use_cases.accept_remedy(session, ticket_number))


def refuse_remedy(
    draft: ComplaintDraft, *, ticket_number: str | None, refusals: int, now: datetime
) -> Outcome:
    """The customer refused an offer: the next remedy once, or a person."""
    calendar = _calendar()
    return _retrying(
        lambda session: use_cases.refuse_remedy(
            session, draft, ticket_number=ticket_number, refusals=refusals, now=now, calendar=calendar
        )
    )
