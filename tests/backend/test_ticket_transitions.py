"""The ticket status table over every pair of statuses, and update_ticket_retrying on a stale version."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.domain import TICKET_STATUSES
from backend.services import tickets
from backend.services.tickets import (
    TRANSITIONS,
    InvalidTransition,
    StaleTicket,
    can_move,
    get_ticket,
    list_ticket_events,
    open_ticket,
    update_ticket,
    update_ticket_retrying,
)

# Written out by hand, so that a change to TRANSITIONS has to change this table too.
ALLOWED = {
    ("open", "escalated"),
    ("open", "assigned"),
    ("open", "waiting_customer"),
    ("open", "resolved"),
    ("open", "closed"),
    ("escalated", "open"),
    ("escalated", "assigned"),
    ("escalated", "waiting_customer"),
    ("escalated", "resolved"),
    ("escalated", "closed"),
    ("assigned", "open"),
    ("assigned", "escalated"),
    ("assigned", "waiting_customer"),
    ("assigned", "resolved"),
    ("assigned", "closed"),
    ("waiting_customer", "open"),
    ("waiting_customer", "escalated"),
    ("waiting_customer", "assigned"),
    ("waiting_customer", "resolved"),
    ("waiting_customer", "closed"),
    ("resolved", "assigned"),
    ("resolved", "closed"),
}
PAIRS = [(old, new) for old, new in itertools.product(TICKET_STATUSES, repeat=2) if old != new]


def test_the_table_covers_every_status_and_only_known_ones() -> None:
    assert set(TRANSITIONS) == set(TICKET_STATUSES)
    assert all(targets <= set(TICKET_STATUSES) for targets in TRANSITIONS.values())
    assert {(old, new) for old, targets in TRANSITIONS.items() for new in targets} == ALLOWED


@pytest.mark.parametrize(("old", "new"), PAIRS)
def test_can_move_over_every_pair(old: str, new: str) -> None:
    assert can_move(old, new) is ((old, new) in ALLOWED)


@pytest.mark.parametrize("status", TICKET_STATUSES)
def test_staying_put_is_always_allowed(status: str) -> None:
    assert can_move(status, status)


@pytest.mark.parametrize("new", [s for s in TICKET_STATUSES if s != "closed"])
def test_closed_never_reopens(new: str) -> None:
    assert not can_move("closed", new)


def open_at(session: Session, status: str) -> str:
    return open_ticket(
        session,
        idempotency_key=f"transitions:{uuid.uuid4().hex}",
        conversation_id=None,
        kind="complaint",
        status=status,
        actor="test",
    ).number


@pytest.mark.parametrize(("old", "new"), PAIRS)
def test_update_ticket_applies_the_table(db_session: Session, old: str, new: str) -> None:
    number = open_at(db_session, old)
    if (old, new) in ALLOWED:
        ticket = update_ticket(db_session, number=number, expected_version=1, actor="t", status=new)
        assert (ticket.status, ticket.version) == (new, 2)
    else:
        with pytest.raises(InvalidTransition) as refused:
            update_ticket(db_session, number=number, expected_version=1, actor="t", status=new)
        assert (refused.value.old, refused.value.new) == (old, new)
        ticket = get_ticket(db_session, number)
        assert ticket is not None and (ticket.status, ticket.version) == (old, 1)


def test_a_stale_version_raises_stale_ticket(db_factory: sessionmaker[Session]) -> None:
    with session_scope(db_factory) as session:
        number = open_at(session, "open")
    with session_scope(db_factory) as session:
        update_ticket(session, number=number, expected_version=1, actor="agent:a", summary="first")
    with session_scope(db_factory) as session, pytest.raises(StaleTicket) as stale:
        update_ticket(session, number=number, expected_version=1, actor="agent:b", summary="second")
    assert (stale.value.number, stale.value.expected, stale.value.actual) == (number, 1, 2)


def test_retrying_applies_the_change_to_the_current_version(db_factory: sessionmaker[Session]) -> None:
    with session_scope(db_factory) as session:
        number = open_at(session, "open")
    with session_scope(db_factory) as session:
        update_ticket(session, number=number, expected_version=1, actor="agent:a", summary="edited")
    with session_scope(db_factory) as session:
        ticket = update_ticket_retrying(session, number, "bot", status="escalated")
        assert (ticket.status, ticket.summary, ticket.version) == ("escalated", "edited", 3)
    with session_scope(db_factory) as session:
        assert [e.actor for e in list_ticket_events(session, number)] == ["test", "agent:a", "bot"]


def stale_first_reads(monkeypatch: pytest.MonkeyPatch, stale_reads: int) -> list[int]:
    """The helper's first `stale_reads` reads return the version before another writer's commit."""
    real = tickets._current_version
    seen: list[int] = []

    def read(session: Session, number: str) -> int:
        version = real(session, number)
        if len(seen) < stale_reads:
            version -= 1
        seen.append(version)
        return version

    monkeypatch.setattr(tickets, "_current_version", read)
    return seen


def test_retrying_rereads_once_after_a_stale_version(
    db_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(db_factory) as session:
        number = open_at(session, "open")
    with session_scope(db_factory) as session:
        update_ticket(session, number=number, expected_version=1, actor="agent:a", summary="edited")
    seen = stale_first_reads(monkeypatch, 1)
    with session_scope(db_factory) as session:
        ticket = update_ticket_retrying(session, number, "bot", status="waiting_customer")
        assert (ticket.status, ticket.version) == ("waiting_customer", 3)
    assert seen == [1, 2]
    with session_scope(db_factory) as session:
        events = list_ticket_events(session, number)
        assert [e.actor for e in events] == ["test", "agent:a", "bot"]  # the failed attempt left nothing


def test_retrying_gives_up_after_a_second_stale_version(
    db_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(db_factory) as session:
        number = open_at(session, "open")
        update_ticket(session, number=number, expected_version=1, actor="agent:a", summary="edited")
    stale_first_reads(monkeypatch, 2)
    with session_scope(db_factory) as session, pytest.raises(StaleTicket):
        update_ticket_retrying(session, number, "bot", status="escalated")
    with session_scope(db_factory) as session:
        ticket = get_ticket(session, number)
        assert ticket is not None and (ticket.status, ticket.version) == ("open", 2)


def test_retrying_still_refuses_an_invalid_transition(
    db_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(db_factory) as session:
        number = open_at(session, "open")
    with session_scope(db_factory) as session:
        update_ticket(session, number=number, expected_version=1, actor="agent:a", status="closed")
    calls: list[dict[str, Any]] = []
    real = tickets.update_ticket

    def counting(session: Session, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(session, **kwargs)

    monkeypatch.setattr(tickets, "update_ticket", counting)
    with session_scope(db_factory) as session, pytest.raises(InvalidTransition):
        update_ticket_retrying(session, number, "bot", status="open")
    assert len(calls) == 1  # refused, not retried
