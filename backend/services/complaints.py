"""The complaint use cases: analyse, offer, accept, refuse, escalate (DOMAIN.md's script, stages 3-4).

The bot's actions gather what the conversation established into a `ComplaintDraft`, call one function
here inside one transaction, and put its result into words. The policy (levels, priorities, remedies)
is in backend.complaints; this module applies it to the ticket store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from backend.complaints.analysis import Analysis, ComplaintFacts, analyse, next_remedy
from backend.complaints.findings import to_json
from backend.complaints.remedies import Remedy, remedy_to_json
from backend.complaints.signals import read_complaint
from backend.config import carrier_today
from backend.domain import ShipmentView
from backend.models import Ticket
from backend.services.attachments import adopt_attachments
from backend.services.handoff import hand_over
from backend.services.shipments import get_shipment
from backend.services.tickets import (
    BusinessCalendar,
    count_complaints_for_waybill,
    get_ticket,
    list_ticket_events,
    open_ticket,
    record_ticket_event,
    update_ticket,
)

CATEGORY_NAMES = {
    "delay": "Late shipment",
    "missed_pickup": "Missed pickup",
    "damage": "Damaged goods",
    "loss": "Lost shipment or missing items",
    "wrong_delivery": "Wrong delivery",
    "billing": "Billing problem",
    "staff_conduct": "Conduct of our staff",
    "other": "Other problem",
}


@dataclass(frozen=True)
class ComplaintDraft:
    """A complaint as the conversation has it so far, before or after it has a ticket."""

    key: str  # the ticket's idempotency key: one complaint of one conversation
    conversation_id: str
    category: str
    # Everything the shipper said during the complaint, in order: the analysis reads all of it.
    messages: tuple[str, ...] = ()
    waybill: str | None = None
    description: str = ""
    incident_when: str | None = None
    extent: str | None = None
    declared_value: Decimal | None = None
    photo_status: str | None = None
    customer_wants: str | None = None
    stage: str = "calm"
    # The language the shipper writes in ("zh" or "en"): the ticket's language.
    language: str = "en"


@dataclass(frozen=True)
class Outcome:
    """Where the complaint stands after a use case: an offer waiting for an answer, or a person."""

    ticket_number: str
    analysis: Analysis
    shipment: ShipmentView | None
    offer: Remedy | None = None
    escalated: bool = False
    priority: str | None = None
    due: datetime | None = None


@dataclass(frozen=True)
class Accepted:
    ticket_number: str
    customer_class: str | None


def analyse_draft(
    session: Session, draft: ComplaintDraft, *, now: datetime, calendar: BusinessCalendar
) -> tuple[ShipmentView | None, Analysis]:
    """The policy applied to the draft, the shipment record and this waybill's earlier complaints."""
    view = get_shipment(session, draft.waybill, today=carrier_today()) if draft.waybill else None
    previous = (
        count_complaints_for_waybill(session, draft.waybill, exclude_key=draft.key) if draft.waybill else 0
    )
    facts = ComplaintFacts(
        category=draft.category,
        text="\n".join(draft.messages) or draft.description,
        declared_value=draft.declared_value,
        customer_wants=draft.customer_wants,
        photo_status=draft.photo_status,
        extent=draft.extent,
        previous_complaints_on_waybill=previous,
    )
    signals = read_complaint(draft.messages or (draft.description,))
    return view, analyse(view, facts, now=now, signals=signals, calendar=calendar)


def offer_remedy(
    session: Session, draft: ComplaintDraft, *, now: datetime, calendar: BusinessCalendar
) -> Outcome:
    """The customer confirmed the summary: a ticket with the first remedy offered, or a person at once."""
    view, analysis = analyse_draft(session, draft, now=now, calendar=calendar)
    if analysis.escalate_now or not analysis.remedies:
        reason = analysis.escalate_reason.text("en") if analysis.escalate_reason else "serious complaint"
        return escalate(session, draft, now=now, calendar=calendar, reason=reason, analysed=(view, analysis))
    remedy = analysis.remedies[0]
    ticket = _open(
        session,
        draft,
        (view, analysis),
        status="waiting_customer",
        now=now,
        calendar=calendar,
        stage_reached="negotiate",
        **_offered(remedy),
    )
    return Outcome(
        ticket.number, analysis, view, offer=remedy, priority=ticket.priority, due=ticket.sla_due_at
    )


def accept_remedy(session: Session, ticket_number: str) -> Accepted:
    """The customer accepts what was offered, exactly as the ticket recorded it: the ticket is `open`.

    Raises LookupError when there is no offer on record, InvalidTransition when a person already moved
    the ticket on (resolved or closed it).
    """
    ticket = get_ticket(session, ticket_number)
    if ticket is None or not ticket.remedy_offered:
        raise LookupError(f"no offer on record to accept on {ticket_number!r}")
    if ticket.status != "open":
        ticket = update_ticket(
            session,
            number=ticket.number,
            expected_version=None,
            actor="customer",
            status="open",
            agreed_resolution=ticket.remedy_offered,
            agreed_resolution_facts=ticket.remedy_offered_facts,
        )
    view = get_shipment(session, ticket.waybill) if ticket.waybill else None
    return Accepted(ticket.number, view.customer_class if view else None)


def refuse_remedy(
    session: Session,
    draft: ComplaintDraft,
    *,
    ticket_number: str | None,
    refusals: int,
    now: datetime,
    calendar: BusinessCalendar,
) -> Outcome:
    """The customer refused an offer: analysed again with what they said since, then the next step
    of the ladder once, or a person (also when the complaint has become serious meanwhile)."""
    view, analysis = analyse_draft(session, draft, now=now, calendar=calendar)
    remedy = None if analysis.escalate_now else next_remedy(analysis, refusals)
    ticket = get_ticket(session, ticket_number) if ticket_number else None
    if remedy is None or ticket is None:
        reason = (
            analysis.escalate_reason.text("en")
            if analysis.escalate_now and analysis.escalate_reason
            else None
        )
        return escalate(
            session,
            draft,
            now=now,
            calendar=calendar,
            reason=reason or f"customer refused {refusals} offer(s)",
            analysed=(view, analysis),
        )
    ticket = update_ticket(
        session,
        number=ticket.number,
        expected_version=None,
        actor="bot",
        **_offered(remedy),
        **_reassessed(ticket, analysis),
    )
    _record_analysis(session, ticket.number, analysis)
    return Outcome(
        ticket.number, analysis, view, offer=remedy, priority=ticket.priority, due=ticket.sla_due_at
    )


def escalate(
    session: Session,
    draft: ComplaintDraft,
    *,
    now: datetime,
    calendar: BusinessCalendar,
    reason: str,
    analysed: tuple[ShipmentView | None, Analysis] | None = None,
) -> Outcome:
    """Hands the complaint to a person with what is known: ticket `escalated`, conversation queued."""
    view, analysis = analysed or analyse_draft(session, draft, now=now, calendar=calendar)
    ticket = _open(
        session,
        draft,
        (view, analysis),
        status="escalated",
        now=now,
        calendar=calendar,
        stage_reached=draft.stage,
    )
    changes = _reassessed(ticket, analysis)
    if ticket.status != "escalated":
        changes["status"] = "escalated"
    if changes:
        ticket = update_ticket(
            session,
            number=ticket.number,
            expected_version=None,
            actor="bot",
            action="escalated" if "status" in changes else "reassessed",
            **changes,
        )
    hand_over(session, conversation_id=draft.conversation_id, reason=reason)
    return Outcome(
        ticket.number, analysis, view, escalated=True, priority=ticket.priority, due=ticket.sla_due_at
    )


def _open(
    session: Session,
    draft: ComplaintDraft,
    analysed: tuple[ShipmentView | None, Analysis],
    *,
    status: str,
    now: datetime,
    calendar: BusinessCalendar,
    **extra: Any,
) -> Ticket:
    """The complaint's ticket (the one already opened under its key, untouched), with the photos sent
    during the complaint and the analysis on its audit trail."""
    view, analysis = analysed
    ticket = open_ticket(
        session,
        idempotency_key=draft.key,
        conversation_id=draft.conversation_id,
        kind="complaint",
        status=status,
        actor="bot",
        calendar=calendar,
        now=now,
        **ticket_fields(draft, analysis, view),
        **extra,
    )
    adopt_attachments(session, conversation_id=draft.conversation_id, ticket=ticket)
    _record_analysis(session, ticket.number, analysis)
    return ticket


def ticket_fields(draft: ComplaintDraft, analysis: Analysis, view: ShipmentView | None) -> dict[str, Any]:
    """The complaint registration fields of DOMAIN.md, from the draft and the analysis."""
    # The analysis may correct the category from the record (a "delay" that is really a loss).
    category = analysis.category or draft.category
    fields: dict[str, Any] = {
        "waybill": draft.waybill,
        "category": category,
        "summary": f"{CATEGORY_NAMES.get(category, 'Other problem')} ({draft.waybill or 'no waybill'})",
        "description": draft.description,
        "customer_wants": draft.customer_wants,
        "incident_when": draft.incident_when,
        "extent": draft.extent,
        "declared_value": draft.declared_value,
        "photo_status": draft.photo_status,
        "recorded_by": "bot",
        "language": draft.language,
        "level": analysis.level,
        "priority": analysis.priority,
        "responsibility": analysis.responsibility,
        "sla_due_at": analysis.sla_due_at,
    }
    if view is not None:
        fields["customer_id"] = view.customer_id
    return fields


def _offered(remedy: Remedy) -> dict[str, Any]:
    """The offer as the ticket keeps it: English words for the API, the code and facts for every reader."""
    return {"remedy_offered": remedy.description, "remedy_offered_facts": remedy_to_json(remedy)}


def _reassessed(ticket: Ticket, analysis: Analysis) -> dict[str, Any]:
    """Level and priority re-evaluated from what the customer has said since the ticket was opened."""
    changes: dict[str, Any] = {}
    if analysis.level != ticket.level:
        changes["level"] = analysis.level
    if analysis.priority != ticket.priority:
        changes["priority"] = analysis.priority
    return changes


def _record_analysis(session: Session, number: str, analysis: Analysis) -> None:
    """The findings go on the ticket's audit trail for the agent, not to the customer: as phrases with
    their facts (backend.complaints.findings), so each reader reads them in their own language."""
    data = {
        "findings": [to_json(reason) for reason in analysis.reasons],
        "responsibility": analysis.responsibility,
        "escalate_reason": to_json(analysis.escalate_reason),
        "remedies": [remedy_to_json(remedy) for remedy in analysis.remedies],
    }
    # A retried action must not write the same findings twice.
    if any(e.action == "analysed" and e.data == data for e in list_ticket_events(session, number)):
        return
    record_ticket_event(session, number=number, actor="bot", action="analysed", data=data)
