"""The ticket status table over every pair of statuses, and a stale version refused."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.domain import TICKET_STATUSES
from backend.services.tickets import (
    TRANSITIONS,
    InvalidTransition,
    StaleTicket,
    can_move,
    get_ticket,
    update_ticket,
)
from tests.backend.factories import a_ticket

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
    return a_ticket(
        session,
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
