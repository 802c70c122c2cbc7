"""Tickets: idempotent creation with human-readable numbers, optimistic locking and an audit trail."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from backend.complaints.remedies import remedy_said
from backend.complaints.sla import BusinessCalendar
from backend.config import get_settings
from backend.db import begin_write
from backend.domain import OPEN_TICKET_STATUSES, TICKET_KINDS, TICKET_STATUSES
from backend.formatting import json_value
from backend.language import DEFAULT_LANGUAGE, language_from_hint
from backend.models import CompensationRequest, Conversation, Ticket, TicketEvent, utcnow
from backend.services.conversations import parse_conversation_id
from backend.waybill import normalise

# Fields a caller may set through open_ticket/update_ticket; the rest are managed here.
EDITABLE_FIELDS = frozenset(
    {
        "channel",
        "customer_id",
        "waybill",
        "category",
        "level",
        "priority",
        "responsibility",
        "status",
        "summary",
        "description",
        "customer_wants",
        "incident_when",
        "extent",
        "declared_value",
        "photo_status",
        "remedy_offered",
        "remedy_offered_facts",
        "agreed_resolution",
        "agreed_resolution_facts",
        "stage_reached",
        "contact_phone",
        "recorded_by",
        "satisfaction",
        "satisfaction_comment",
        "compensation_cny",
        "sla_due_at",
        "resolution_due_at",
        "conversation_id",
    }
)
# Tickets on which people still work; a reply to the shipper stops their first-response clock.
# The order of ARCHITECTURE.md's API; other tools read these keys as written.
API_KEYS = (
    "number",
    "conversation_id",
    "channel",
    "waybill",
    "kind",
    "category",
    "level",
    "priority",
    "status",
    "summary",
    "customer_wants",
    "agreed_resolution",
    "created_at",
    "sla_due_at",
)
EXTRA_KEYS = (
    "language",
    "responsibility",
    "version",
    "customer_id",
    "description",
    "incident_when",
    "extent",
    "declared_value",
    "photo_status",
    "remedy_offered",
    "stage_reached",
    "contact_phone",
    "recorded_by",
    "satisfaction",
    "satisfaction_comment",
    "compensation_cny",
    "updated_at",
    "resolved_at",
    "resolution_due_at",
    "first_responded_at",
)
# The remedy texts (English, as the API gives them) and their codes and facts (any reader's language).
REMEDY_FACTS = {"remedy_offered": "remedy_offered_facts", "agreed_resolution": "agreed_resolution_facts"}
_NUMBER = re.compile(r"T-(\d{6})-(\d{5})")
_NUMBER_ATTEMPTS = 8
# Advisory-lock namespace for ticket numbering ("TK"); the month (YYYYMM) is the key within it.
_LOCK_SPACE = 0x544B


class StaleTicket(Exception):
    """The ticket changed since the caller read it (optimistic lock)."""

    def __init__(self, number: str, expected: int | None, actual: int | None) -> None:
        super().__init__(f"ticket {number} is at version {actual}, not {expected}; reload and retry")
        self.number = number
        self.expected = expected
        self.actual = actual


class InvalidTransition(ValueError):
    """A ticket cannot move from its status to the one asked for (a closed ticket stays closed)."""

    def __init__(self, number: str, old: str, new: str) -> None:
        super().__init__(f"ticket {number} is {old}; it cannot become {new}")
        self.number, self.old, self.new = number, old, new


# The one table of how a ticket's status may change (ARCHITECTURE.md's statuses). A closed ticket is
# final; a resolved one can only be closed or taken up again by a person (assigned).
TRANSITIONS: dict[str, frozenset[str]] = {
    "waiting_customer": frozenset({"open", "escalated", "assigned", "resolved", "closed"}),
    "open": frozenset({"escalated", "assigned", "waiting_customer", "resolved", "closed"}),
    "escalated": frozenset({"assigned", "open", "waiting_customer", "resolved", "closed"}),
    "assigned": frozenset({"open", "escalated", "waiting_customer", "resolved", "closed"}),
    "resolved": frozenset({"assigned", "closed"}),
    "closed": frozenset(),
}


class AwaitingApproval(InvalidTransition):
    """A compensation waits for a supervisor: the ticket cannot be resolved or closed until it is decided."""

    def __init__(self, number: str, old: str, new: str, amount: Decimal) -> None:
        super().__init__(number, old, new)
        self.amount = amount
        self.args = (
            f"A compensation of {amount} CNY is waiting for a supervisor's approval: ticket {number} "
            f"can be {new} once the request is decided.",
        )


# Statuses that end the work on a ticket: never reached while a compensation request waits.
FINISHED_STATUSES = frozenset({"resolved", "closed"})


def waiting_request(session: Session, ticket_id: int) -> CompensationRequest | None:
    """The ticket's compensation request that waits for a supervisor, if any (at most one waits)."""
    return session.scalars(
        select(CompensationRequest)
        .where(CompensationRequest.ticket_id == ticket_id, CompensationRequest.status == "pending")
        .execution_options(populate_existing=True)
    ).first()


def request_to_dict(request: CompensationRequest) -> dict[str, Any]:
    """A compensation request as the console and its API show it, with its ticket's essentials."""
    ticket = request.ticket
    return {
        "id": request.id,
        "ticket": ticket.number,
        "conversation_id": ticket.conversation_id,
        "amount_cny": str(request.amount_cny),
        "status": request.status,
        "reason": request.reason,
        "resolution": request.resolution,
        "requested_by": request.requested_by,
        "agent": request.requested_by.partition(":")[2] or request.requested_by,
        "requested_at": _iso(request.requested_at),
        "changed_at": _iso(request.changed_at),
        "decided_by": request.decided_by,
        "decided_at": _iso(request.decided_at),
        "ticket_status": ticket.status,
        "category": ticket.category,
        "priority": ticket.priority,
        "waybill": ticket.waybill,
        "summary": ticket.summary,
        "customer_id": ticket.customer_id,
        "declared_value": str(ticket.declared_value) if ticket.declared_value is not None else None,
    }


def can_move(old: str, new: str) -> bool:
    """Whether a ticket may go from status `old` to `new` (staying put is always allowed)."""
    return old == new or new in TRANSITIONS.get(old, frozenset())


class TicketNotFound(LookupError):
    """No ticket has this number."""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"unknown ticket field(s): {', '.join(sorted(unknown))}")


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(fields)
    if cleaned.get("waybill"):
        cleaned["waybill"] = normalise(cleaned["waybill"])
    if cleaned.get("declared_value") is not None:
        # Quantised as the column stores it, so the object equals what a later read returns.
        cleaned["declared_value"] = Decimal(str(cleaned["declared_value"])).quantize(Decimal("0.01"))
    return cleaned


def _ticket_language(session: Session, language: str | None, conversation_id: str | None) -> str:
    """The language given, else the conversation's, else English; always one of LANGUAGES."""
    given = language_from_hint(language)
    if given is not None:
        return given
    conversation = session.get(Conversation, conversation_id) if conversation_id else None
    return language_from_hint(conversation.language if conversation else None) or DEFAULT_LANGUAGE


def _next_number(session: Session, period: str) -> str:
    prefix = f"T-{period}-"
    last = session.scalar(select(func.max(Ticket.number)).where(Ticket.number.like(prefix + "%")))
    serial = int(last[len(prefix) :]) + 1 if last else 1
    if serial > 99999:
        raise RuntimeError(f"ticket numbers for {period} are exhausted")
    return f"{prefix}{serial:05d}"


def _lock_numbering(session: Session, period: str) -> None:
    """Serialise number allocation for a month until this transaction ends.

    SQLite: take the database write lock. PostgreSQL: a transaction-level advisory lock, so concurrent
    openings queue for a moment instead of colliding on the unique number and retrying.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :period)"),
            {"space": _LOCK_SPACE, "period": int(period)},
        )
    else:
        begin_write(session)


def get_ticket_by_key(session: Session, idempotency_key: str) -> Ticket | None:
    """The ticket opened with this idempotency key, or None."""
    return session.scalars(select(Ticket).where(Ticket.idempotency_key == idempotency_key)).one_or_none()


def open_ticket(
    session: Session,
    *,
    idempotency_key: str,
    conversation_id: str | None,
    kind: str,
    status: str,
    actor: str,
    calendar: BusinessCalendar | None = None,
    now: datetime | None = None,
    language: str | None = None,
    **fields: Any,
) -> Ticket:
    """Open a ticket, or return the one already opened with this idempotency key, untouched.

    `fields` are Ticket columns (category, level, priority, waybill, summary, ...). When a priority is given
    and sla_due_at (first response) or resolution_due_at is not, it is computed from the business calendar
    (settings by default). `language` ("zh" or "en") is the shipper's; without it the ticket takes the
    conversation's language, and English when there is none.
    """
    if not idempotency_key:
        raise ValueError("idempotency_key must not be empty")
    if kind not in TICKET_KINDS:
        raise ValueError(f"kind must be one of {', '.join(TICKET_KINDS)}; got {kind!r}")
    if status not in TICKET_STATUSES:
        raise ValueError(f"status must be one of {', '.join(TICKET_STATUSES)}; got {status!r}")
    _check_fields(fields)
    fields = _clean(fields)
    existing = get_ticket_by_key(session, idempotency_key)
    if existing is not None:
        return existing
    now = now or utcnow()
    calendar = calendar or BusinessCalendar.from_settings(get_settings())
    period = now.astimezone(calendar.tz).strftime("%Y%m")
    _lock_numbering(session, period)
    existing = get_ticket_by_key(session, idempotency_key)
    if existing is not None:
        return existing

    if fields.get("channel") is None and conversation_id:
        fields["channel"] = parse_conversation_id(conversation_id)[0]
    fields["language"] = _ticket_language(session, language, conversation_id)
    if fields.get("sla_due_at") is None and fields.get("priority"):
        fields["sla_due_at"] = calendar.sla_due(fields["priority"], now)
    if fields.get("resolution_due_at") is None and fields.get("priority"):
        fields["resolution_due_at"] = calendar.resolution_due(fields["priority"], now)
    if status == "resolved":
        fields.setdefault("resolved_at", now)

    for _attempt in range(_NUMBER_ATTEMPTS):
        ticket = Ticket(
            number=_next_number(session, period),
            idempotency_key=idempotency_key,
            conversation_id=conversation_id,
            kind=kind,
            status=status,
            created_at=now,
            updated_at=now,
            **fields,
        )
        try:
            # Safety net (another process without the lock, or a hand-made row): take the next number.
            with session.begin_nested():
                session.add(ticket)
        except IntegrityError:
            existing = get_ticket_by_key(session, idempotency_key)
            if existing is not None:
                return existing
            if get_ticket(session, ticket.number) is not None:
                continue
            raise
        data = {k: json_value(v) for k, v in fields.items() if v is not None}
        data["kind"] = kind
        session.add(
            TicketEvent(
                ticket_id=ticket.id, at=now, actor=actor, action="created", to_status=status, data=data
            )
        )
        session.flush()
        return ticket
    raise RuntimeError(f"could not allocate a ticket number for {period} after {_NUMBER_ATTEMPTS} tries")


def get_ticket(session: Session, number: str) -> Ticket | None:
    """The ticket with this number (T-YYYYMM-NNNNN), or None."""
    return session.scalars(select(Ticket).where(Ticket.number == number.strip().upper())).one_or_none()


def update_ticket(
    session: Session,
    *,
    number: str,
    expected_version: int | None,
    actor: str,
    action: str | None = None,
    calendar: BusinessCalendar | None = None,
    event_data: dict[str, Any] | None = None,
    **changes: Any,
) -> Ticket:
    """Change a ticket and audit it; raises StaleTicket when it is no longer at `expected_version`.

    Pass expected_version=None to skip the caller-side check (the database-side version check still runs).
    `event_data` goes into the audit event beside the changes (which request a decision was about). A
    ticket whose compensation waits for a supervisor is never resolved or closed (AwaitingApproval).
    """
    _check_fields(changes)
    changes = _clean(changes)
    # Re-read the row even if this session holds the ticket already: the version must be current.
    ticket = session.scalars(
        select(Ticket)
        .where(Ticket.number == number.strip().upper())
        .execution_options(populate_existing=True)
    ).one_or_none()
    if ticket is None:
        raise TicketNotFound(number)
    if expected_version is not None and ticket.version != expected_version:
        raise StaleTicket(ticket.number, expected_version, ticket.version)

    if "status" in changes and not can_move(ticket.status, changes["status"]):
        raise InvalidTransition(ticket.number, ticket.status, changes["status"])
    if changes.get("status") in FINISHED_STATUSES and changes["status"] != ticket.status:
        waiting = waiting_request(session, ticket.id)
        if waiting is not None:
            raise AwaitingApproval(ticket.number, ticket.status, changes["status"], waiting.amount_cny)
    for words, facts in REMEDY_FACTS.items():
        if words in changes and changes[words] != getattr(ticket, words) and facts not in changes:
            changes[facts] = None  # new words without facts (an agent's own): the old facts no longer hold
    now = utcnow()
    old_status = ticket.status
    diff: dict[str, Any] = {}
    for name, value in changes.items():
        old = getattr(ticket, name)
        if old != value:
            diff[name] = {"from": json_value(old), "to": json_value(value)}
            setattr(ticket, name, value)
    if "priority" in diff:
        calendar = calendar or BusinessCalendar.from_settings(get_settings())
        if "sla_due_at" not in changes:
            ticket.sla_due_at = calendar.sla_due(ticket.priority, ticket.created_at)
        if "resolution_due_at" not in changes:
            ticket.resolution_due_at = calendar.resolution_due(ticket.priority, ticket.created_at)
    if "status" in diff:
        if ticket.status == "resolved" and ticket.resolved_at is None:
            ticket.resolved_at = now
        elif ticket.status not in ("resolved", "closed"):
            ticket.resolved_at = None
    if not diff and action is None:
        return ticket
    ticket.updated_at = now
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleTicket(ticket.number, expected_version, None) from exc
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            actor=actor,
            action=action or ("status_changed" if "status" in diff else "updated"),
            from_status=old_status,
            to_status=ticket.status,
            data=({"changes": diff} if diff else {}) | json_value(event_data or {}) or None,
        )
    )
    session.flush()
    return ticket


def record_ticket_event(
    session: Session,
    *,
    number: str,
    actor: str,
    action: str,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    """Append a note to a ticket's audit trail without changing the ticket (a call, a reminder)."""
    ticket = get_ticket(session, number)
    if ticket is None:
        raise TicketNotFound(number)
    event = TicketEvent(
        ticket_id=ticket.id,
        at=at or utcnow(),
        actor=actor,
        action=action,
        from_status=ticket.status,
        to_status=ticket.status,
        data={k: json_value(v) for k, v in (data or {}).items()} or None,
    )
    session.add(event)
    session.flush()
    return event


def record_first_response(
    session: Session,
    *,
    at: datetime | None = None,
    ticket_number: str | None = None,
    conversation_id: str | None = None,
) -> list[str]:
    """A person answered the shipper: stop the first-response clock (once); returns the tickets it stopped.

    Given a conversation, every unfinished ticket of it that still waits for a first response. The column
    is set with a plain UPDATE, without bumping the ticket's version: a reply is not an edit, and must not
    make an agent's open ticket form stale.
    """
    if (ticket_number is None) == (conversation_id is None):
        raise TypeError("give ticket_number or conversation_id")
    at = at or utcnow()
    stmt = select(Ticket.id, Ticket.number).where(
        Ticket.first_responded_at.is_(None), Ticket.status.in_(OPEN_TICKET_STATUSES)
    )
    if ticket_number is not None:
        stmt = stmt.where(Ticket.number == ticket_number.strip().upper())
    else:
        stmt = stmt.where(Ticket.conversation_id == conversation_id)
    rows = session.execute(stmt).all()
    if not rows:
        return []
    table = cast(Table, Ticket.__table__)
    session.execute(
        update(table)
        .where(table.c.id.in_([row.id for row in rows]), table.c.first_responded_at.is_(None))
        .values(first_responded_at=at)
    )
    # Tickets this session holds already see the new value without a reload (and keep their version).
    for obj in session.identity_map.values():
        if isinstance(obj, Ticket) and obj.id in {row.id for row in rows} and obj.first_responded_at is None:
            set_committed_value(obj, "first_responded_at", at)
    return [row.number for row in rows]


def list_ticket_events(session: Session, number: str) -> list[TicketEvent]:
    """The audit trail of a ticket, oldest first."""
    ticket = get_ticket(session, number)
    if ticket is None:
        raise TicketNotFound(number)
    return list(
        session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        )
    )


def list_tickets(
    session: Session,
    *,
    conversation_id: str | None = None,
    status: str | None = None,
    waybill: str | None = None,
    limit: int = 100,
) -> list[Ticket]:
    """Tickets, newest first, optionally filtered."""
    if status is not None and status not in TICKET_STATUSES:
        raise ValueError(f"status must be one of {', '.join(TICKET_STATUSES)}; got {status!r}")
    stmt = select(Ticket)
    if conversation_id is not None:
        stmt = stmt.where(Ticket.conversation_id == conversation_id)
    if status is not None:
        stmt = stmt.where(Ticket.status == status)
    if waybill is not None:
        stmt = stmt.where(Ticket.waybill == normalise(waybill))
    stmt = stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def count_complaints_for_waybill(session: Session, waybill: str, *, exclude_key: str | None = None) -> int:
    """How many complaint tickets exist for this waybill (a second one makes a complaint serious)."""
    stmt = (
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.waybill == normalise(waybill), Ticket.kind == "complaint")
    )
    if exclude_key is not None:
        stmt = stmt.where(Ticket.idempotency_key != exclude_key)
    return int(session.scalar(stmt) or 0)


def ticket_to_dict(ticket: Ticket) -> dict[str, Any]:
    """The API shape: ARCHITECTURE.md's keys first, in its order, then the rest; times as ISO strings."""
    out: dict[str, Any] = {}
    for key in API_KEYS + EXTRA_KEYS:
        value = getattr(ticket, key)
        if isinstance(value, datetime):
            value = _iso(value)
        elif isinstance(value, Decimal):
            value = str(value)
        out[key] = value
    return out


def remedy_offered_text(ticket: Ticket, language: str | None) -> str | None:
    """The remedy last offered, in the reader's language (an agent's own words as written)."""
    return _remedy_text(ticket, "remedy_offered", language)


def agreed_resolution_text(ticket: Ticket, language: str | None) -> str | None:
    """The agreed resolution in the reader's language: the bot's remedy from its code and facts, an
    agent's typed resolution (or one stored before remedies had facts) as written."""
    return _remedy_text(ticket, "agreed_resolution", language)


def _remedy_text(ticket: Ticket, field: str, language: str | None) -> str | None:
    facts = getattr(ticket, REMEDY_FACTS[field])
    if facts:
        return remedy_said(facts, language)
    return cast(str | None, getattr(ticket, field))
