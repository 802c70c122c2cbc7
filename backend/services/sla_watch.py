"""The SLA watch: one audit event per ticket that passes its first-response or resolution due time.

`watch_once` runs in one transaction behind a database lock (a transaction-level advisory lock on
PostgreSQL, the write lock on SQLite), so when several backend processes run it at the same moment,
one does the work and the others find nothing left: every breach is written exactly once. A response
or resolution that came late is a breach too, even if no run saw the ticket while it was overdue.
`sla_state` tells the queue which tickets are breached or about to be.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope, try_job_lock
from backend.models import Ticket, TicketEvent, utcnow
from backend.services.periodic import PeriodicCheck

logger = logging.getLogger(__name__)

FIRST_RESPONSE_BREACHED = "sla_first_response_breached"
RESOLUTION_BREACHED = "sla_resolution_breached"
WATCH_ACTOR = "system:sla_watch"
DONE_STATUSES = ("resolved", "closed")
# Within this share of its time left, a ticket is about to breach (as backend.services.console marks it).
NEAR_BREACH_SHARE = 0.25
# Breaches written per run: a backlog (the watch was off for a month) is worked off over several runs
# in short transactions instead of one long one.
BATCH = 500
# Advisory-lock key of the watch on PostgreSQL ("SL", "AW").
_LOCK_SPACE, _LOCK_KEY = 0x534C, 0x4157


@dataclass(frozen=True)
class SlaState:
    """Where a ticket stands against its service levels at one moment."""

    number: str
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_response_breached: bool
    resolution_breached: bool
    # Not breached yet, but a quarter or less of the time to the next pending deadline is left.
    near_breach: bool
    # The deadline the ticket is working towards now (None when nothing is pending).
    next_due_at: datetime | None

    @property
    def breached(self) -> bool:
        """True when either service level was missed."""
        return self.first_response_breached or self.resolution_breached


@dataclass(frozen=True)
class WatchRun:
    """What one run of the watch did."""

    # False when another process held the lock (PostgreSQL): that one is doing the work.
    ran: bool
    first_response_breaches: int = 0
    resolution_breaches: int = 0

    @property
    def events(self) -> int:
        """How many breach events were written."""
        return self.first_response_breaches + self.resolution_breaches


def _missed(due: datetime | None, done_at: datetime | None, *, pending: bool, now: datetime) -> bool:
    """True when `due` passed before the thing was done, or it is still pending and `due` is past."""
    if due is None:
        return False
    if done_at is not None:
        return done_at > due
    return pending and now >= due


def sla_state(ticket: Ticket, *, now: datetime | None = None) -> SlaState:
    """The ticket's first-response and resolution standing at `now` (the rules of the watch's queries)."""
    now = now or utcnow()
    done = ticket.status in DONE_STATUSES
    resolved_at = ticket.resolved_at if done else None
    # Resolving a ticket answers the shipper too; a closed ticket without a time counts as done in time.
    answered_at = ticket.first_responded_at or resolved_at
    first_breached = _missed(ticket.sla_due_at, answered_at, pending=not done, now=now)
    resolution_breached = _missed(ticket.resolution_due_at, resolved_at, pending=not done, now=now)
    pending: datetime | None = None
    if not done:
        pending = ticket.sla_due_at if answered_at is None else None
        pending = pending or ticket.resolution_due_at
    near = False
    if pending is not None and now < pending:
        total = (pending - ticket.created_at).total_seconds()
        near = total > 0 and (pending - now).total_seconds() <= NEAR_BREACH_SHARE * total
    return SlaState(
        number=ticket.number,
        first_response_due_at=ticket.sla_due_at,
        resolution_due_at=ticket.resolution_due_at,
        first_response_breached=first_breached,
        resolution_breached=resolution_breached,
        near_breach=near and not first_breached and not resolution_breached,
        next_due_at=pending,
    )


def _lock(session: Session) -> bool:
    """Take the watch's lock until the transaction ends; False when another process holds it."""
    return try_job_lock(session, _LOCK_SPACE, _LOCK_KEY)


def _no_event(action: str) -> ColumnElement[bool]:
    return ~exists().where(TicketEvent.ticket_id == Ticket.id, TicketEvent.action == action)


def _first_response_breaches(session: Session, now: datetime) -> list[Ticket]:
    due = Ticket.sla_due_at
    stmt = select(Ticket).where(
        due.is_not(None),
        due <= now,
        or_(
            Ticket.first_responded_at > due,
            and_(
                Ticket.first_responded_at.is_(None),
                or_(Ticket.status.not_in(DONE_STATUSES), Ticket.resolved_at > due),
            ),
        ),
        _no_event(FIRST_RESPONSE_BREACHED),
    )
    return list(session.scalars(stmt.order_by(due, Ticket.id).limit(BATCH)))


def _resolution_breaches(session: Session, now: datetime) -> list[Ticket]:
    due = Ticket.resolution_due_at
    stmt = select(Ticket).where(
        due.is_not(None),
        due <= now,
        or_(Ticket.status.not_in(DONE_STATUSES), Ticket.resolved_at > due),
        _no_event(RESOLUTION_BREACHED),
    )
    return list(session.scalars(stmt.order_by(due, Ticket.id).limit(BATCH)))


def _event(
    ticket: Ticket, action: str, due: datetime, done_at: datetime | None, now: datetime
) -> TicketEvent:
    data: dict[str, object] = {"due_at": due.isoformat(), "priority": ticket.priority}
    if done_at is not None:
        data["late_by_s"] = int((done_at - due).total_seconds())
    return TicketEvent(
        ticket_id=ticket.id,
        at=now,
        actor=WATCH_ACTOR,
        action=action,
        from_status=ticket.status,
        to_status=ticket.status,
        data=data,
    )


def watch_once(session: Session, *, now: datetime | None = None) -> WatchRun:
    """Write the breach events that are due at `now`; the caller commits (which releases the lock)."""
    now = now or utcnow()
    if not _lock(session):
        return WatchRun(ran=False)
    first = _first_response_breaches(session, now)
    for ticket in first:
        assert ticket.sla_due_at is not None
        session.add(
            _event(ticket, FIRST_RESPONSE_BREACHED, ticket.sla_due_at, ticket.first_responded_at, now)
        )
    resolution = _resolution_breaches(session, now)
    for ticket in resolution:
        assert ticket.resolution_due_at is not None
        done_at = ticket.resolved_at if ticket.status in DONE_STATUSES else None
        session.add(_event(ticket, RESOLUTION_BREACHED, ticket.resolution_due_at, done_at, now))
    session.flush()
    return WatchRun(ran=True, first_response_breaches=len(first), resolution_breaches=len(resolution))


def run_sla_watch(factory: sessionmaker[Session], *, now: datetime | None = None) -> WatchRun:
    """One run of the watch in its own short transaction."""
    with session_scope(factory) as session:
        run = watch_once(session, now=now)
    if run.events:
        logger.info(
            "SLA watch: %d first-response and %d resolution breach(es) recorded",
            run.first_response_breaches,
            run.resolution_breaches,
        )
    return run


class SlaWatcher(PeriodicCheck[WatchRun]):
    """Runs the watch every `interval_s` seconds in a worker thread, from the backend's lifespan; an
    interval of 0 turns it off. The first run waits one interval too: start-up stays quick, and tests
    that start the app briefly see no writes they did not ask for."""

    def __init__(self, factory: sessionmaker[Session], *, interval_s: float) -> None:
        super().__init__(
            functools.partial(run_sla_watch, factory),
            interval_s=interval_s,
            name="SLA watch",
            wait_first=True,
        )
