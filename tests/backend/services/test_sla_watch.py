"""The SLA watch writes one breach event per ticket and deadline, however many backend processes run it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.main import create_app
from backend.models import AuditEvent, Ticket, TicketEvent
from backend.services.audit import record_agent_action
from backend.services.sla_watch import (
    FIRST_RESPONSE_BREACHED,
    RESOLUTION_BREACHED,
    WATCH_ACTOR,
    WatchRun,
    run_sla_watch,
    sla_state,
)
from backend.services.tickets import (
    BusinessCalendar,
    get_ticket,
    record_first_response,
    update_ticket,
)
from tests.backend.factories import a_ticket, settings_for

SH = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class AgentView:
    """Who acts, as the console passes it (anything with a username and a role)."""

    username: str
    role: str


CAL = BusinessCalendar()
BREACHES = (FIRST_RESPONSE_BREACHED, RESOLUTION_BREACHED)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """Shanghai wall-clock time in November 2026 (the 23rd is a Monday), as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SH).astimezone(timezone.utc)


def new_ticket(
    factory: sessionmaker[Session], *, at: datetime, priority: str = "P1", **fields: object
) -> str:
    with session_scope(factory) as session:
        ticket = a_ticket(
            session,
            conversation_id=f"web:{uuid.uuid4()}",
            status="escalated",
            calendar=CAL,
            now=at,
            priority=priority,
            **fields,
        )
        return ticket.number


def breach_events(factory: sessionmaker[Session], number: str) -> list[TicketEvent]:
    with session_scope(factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None
        return list(
            session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket.id, TicketEvent.action.in_(BREACHES))
                .order_by(TicketEvent.id)
            )
        )


def at_once(jobs: list[Callable[[], WatchRun]]) -> list[WatchRun]:
    """Start the jobs in threads at the same instant; their results in order."""
    barrier = threading.Barrier(len(jobs))
    results: list[WatchRun | BaseException | None] = [None] * len(jobs)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = jobs[index]()
        except BaseException as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if isinstance(r, WatchRun)]


def test_ticket_deadlines_follow_the_calendar(db_factory: sessionmaker[Session], seeded_today: date) -> None:
    number = new_ticket(db_factory, at=local(23, 15), priority="P3")
    with session_scope(db_factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None
        # P3 at 15:00 on a Monday: by the end of that Monday, for the first response and the resolution.
        assert ticket.sla_due_at == ticket.first_response_due_at == local(23, 18)
        assert ticket.resolution_due_at == local(23, 18)
        assert ticket.first_responded_at is None
        ticket = update_ticket(
            session, number=number, expected_version=None, actor="supervisor:x", priority="P1"
        )
        assert (ticket.sla_due_at, ticket.resolution_due_at) == (local(23, 17), local(23, 17))


def test_two_runners_at_once_write_one_event(db_factory: sessionmaker[Session], seeded_today: date) -> None:
    for _round in range(3):
        # Opened Monday 23 November 10:00: both P1 deadlines (12:00) are long past.
        numbers = [new_ticket(db_factory, at=local(23, 10)) for _ in range(3)]
        runs = at_once([lambda: run_sla_watch(db_factory, now=local(24, 10)) for _ in range(4)])
        assert any(run.ran for run in runs)
        for number in numbers:
            events = breach_events(db_factory, number)
            assert sorted(e.action for e in events) == sorted(BREACHES), number
            assert all(e.actor == WATCH_ACTOR for e in events)
    # Later runs find nothing new on these tickets.
    run_sla_watch(db_factory, now=local(30, 10))
    assert len(breach_events(db_factory, numbers[0])) == 2


def test_nothing_before_the_deadline_and_late_answers_count(
    db_factory: sessionmaker[Session], seeded_today: date
) -> None:
    on_time = new_ticket(db_factory, at=local(23, 10))
    late = new_ticket(db_factory, at=local(23, 10))
    still_open = new_ticket(db_factory, at=local(23, 10))
    with session_scope(db_factory) as session:
        record_first_response(session, ticket_number=on_time, at=local(23, 11))
        resolved = get_ticket(session, on_time)
        assert resolved is not None
        resolved.status, resolved.resolved_at = "resolved", local(23, 11, 45)
        record_first_response(session, ticket_number=late, at=local(23, 13, 30))
    # Before the deadline: nothing anywhere on these tickets.
    run_sla_watch(db_factory, now=local(23, 11, 59))
    assert [breach_events(db_factory, n) for n in (on_time, late, still_open)] == [[], [], []]
    run_sla_watch(db_factory, now=local(23, 14))
    late_events = {e.action: e for e in breach_events(db_factory, late)}
    assert set(late_events) == set(BREACHES)
    assert late_events[FIRST_RESPONSE_BREACHED].data == {
        "due_at": local(23, 12).isoformat(),
        "priority": "P1",
        "late_by_s": 90 * 60,
    }
    assert {e.action for e in breach_events(db_factory, still_open)} == set(BREACHES)
    assert breach_events(db_factory, on_time) == []  # answered and resolved in time


def test_sla_state_for_the_queue(db_factory: sessionmaker[Session], seeded_today: date) -> None:
    number = new_ticket(db_factory, at=local(23, 10))  # P1: due 12:00
    with session_scope(db_factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None
        early = sla_state(ticket, now=local(23, 11))
        assert (early.breached, early.near_breach, early.next_due_at) == (False, False, local(23, 12))
        near = sla_state(ticket, now=local(23, 11, 40))  # 20 of 120 minutes left
        assert (near.breached, near.near_breach) == (False, True)
        gone = sla_state(ticket, now=local(23, 12))
        assert gone.first_response_breached and gone.resolution_breached and not gone.near_breach
        # An answer in time stops the first-response clock; the resolution is still due.
        record_first_response(session, ticket_number=number, at=local(23, 11, 30))
        answered = sla_state(ticket, now=local(23, 12, 30))
        assert not answered.first_response_breached and answered.resolution_breached


def test_without_priority_there_is_no_deadline(db_factory: sessionmaker[Session], seeded_today: date) -> None:
    with session_scope(db_factory) as session:
        ticket = a_ticket(
            session,
            kind="handoff",
            status="escalated",
            calendar=CAL,
            now=local(2, 10),
        )
        state = sla_state(ticket, now=local(30, 10))
        assert (state.breached, state.near_breach, state.next_due_at) == (False, False, None)
        number = ticket.number
    run_sla_watch(db_factory, now=local(30, 10))
    assert breach_events(db_factory, number) == []


def test_agent_actions_are_audited_and_a_reply_stops_the_clock(
    db_factory: sessionmaker[Session], seeded_today: date
) -> None:
    li = AgentView(username="li", role="agent")
    with session_scope(db_factory) as session:
        ticket = a_ticket(
            session,
            conversation_id=f"web:{uuid.uuid4()}",
            status="assigned",
            calendar=CAL,
            priority="P2",
        )
        conversation_id, version = ticket.conversation_id, ticket.version
        assert conversation_id is not None
        replied = record_agent_action(session, agent=li, action="replied", conversation_id=conversation_id)
        assert isinstance(replied, AuditEvent) and replied.actor == "agent:li"
        assert ticket.first_responded_at == replied.at
        # A reply is no edit: the ticket's version (an agent's open form) stays valid.
        assert session.scalars(select(Ticket.version).where(Ticket.id == ticket.id)).one() == version
        noted = record_agent_action(
            session, agent=li, action="note", ticket_number=ticket.number, data={"text": "called the courier"}
        )
        assert isinstance(noted, TicketEvent)
        assert (noted.actor, noted.ticket_id, noted.data) == (
            "agent:li",
            ticket.id,
            {"text": "called the courier"},
        )
        first = ticket.first_responded_at
        record_agent_action(session, agent=li, action="replied", ticket_number=ticket.number)
        assert session.scalars(select(Ticket.first_responded_at).where(Ticket.id == ticket.id)).one() == first


def test_the_audit_trail_is_append_only(db_factory: sessionmaker[Session], seeded_today: date) -> None:
    number = new_ticket(db_factory, at=local(23, 10))
    with pytest.raises(ValueError, match="append-only"), session_scope(db_factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None
        ticket.events[0].action = "rewritten"
        session.flush()
    with pytest.raises(ValueError, match="append-only"), session_scope(db_factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None
        session.delete(ticket.events[0])
        session.flush()
    with session_scope(db_factory) as session:
        event = record_agent_action(
            session, agent=AgentView(username="z", role="supervisor"), action="exported"
        )
    with pytest.raises(ValueError, match="append-only"), session_scope(db_factory) as session:
        row = session.get(AuditEvent, event.id)
        assert row is not None
        row.actor = "someone else"
        session.flush()


def test_the_backend_runs_the_watch_and_stops_it(
    db_url: str, seeded_today: date, db_factory: sessionmaker[Session]
) -> None:
    number = new_ticket(db_factory, at=local(23, 10))
    app = create_app(settings_for(db_url, sla_watch_interval_s=0.05))
    with TestClient(app):
        watcher = app.state.sla_watcher
        deadline = time.monotonic() + 20
        while len(breach_events(db_factory, number)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(breach_events(db_factory, number)) == 2
    assert watcher._task is None  # cancelled with the app
    off = create_app(settings_for(db_url, sla_watch_interval_s=0))
    with TestClient(off):
        assert off.state.sla_watcher._task is None


def test_interval_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from backend.config import Settings

    assert Settings(_env_file=None).sla_watch_interval_s == 60  # type: ignore[call-arg]
    monkeypatch.setenv("SLA_WATCH_INTERVAL_S", "15")
    assert Settings(_env_file=None).sla_watch_interval_s == 15  # type: ignore[call-arg]
    monkeypatch.setenv("SLA_WATCH_INTERVAL_S", "-1")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]
