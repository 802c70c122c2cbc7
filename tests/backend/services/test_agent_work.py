"""The agents' use cases without HTTP: the refusals are domain errors with the sentence the agent reads."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from backend.errors import Conflict, InvalidInput, NotAllowed, NotFound
from backend.services import conversations as conv
from backend.services.agent_work import (
    AgentView,
    add_note,
    change_ticket,
    checked_text,
    decide_compensation,
    ensure_holder,
    parse_amount,
    record_conversation_action,
)
from backend.services.tickets import get_ticket, list_ticket_events
from tests.backend.factories import queued_complaint

ALICE = AgentView(username="alice", role="agent")
BOB = AgentView(username="bob", role="agent")
SUE = AgentView(username="sue", role="supervisor")


def test_agent_view_names_the_actor() -> None:
    assert (ALICE.actor, ALICE.is_supervisor) == ("agent:alice", False)
    assert (SUE.actor, SUE.is_supervisor) == ("supervisor:sue", True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", Decimal("120.00")),
        (120.5, Decimal("120.50")),
        ("0", Decimal("0.00")),
    ],
)
def test_amounts_are_read_to_the_cent(value: object, expected: Decimal | None) -> None:
    assert parse_amount(value) == expected


@pytest.mark.parametrize(
    ("value", "sentence"),
    [
        ("lots", "The compensation must be an amount in CNY, like 120 or 120.50."),
        ("-5", "The compensation must not be negative."),
    ],
)
def test_bad_amounts_are_invalid_input(value: str, sentence: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_amount(value)
    assert refused.value.detail == sentence


def test_messages_are_trimmed_and_bounded() -> None:
    assert checked_text("  Hello  ") == "Hello"
    assert checked_text("x" * 4000) == "x" * 4000
    for text, sentence in (
        (None, "The message is empty."),
        ("   ", "The message is empty."),
        ("x" * 4001, "Please keep a message under 4,000 characters."),
    ):
        with pytest.raises(InvalidInput) as refused:
            checked_text(text)
        assert refused.value.detail == sentence


def test_unknown_conversations_and_tickets_are_not_found(db_session: Session) -> None:
    with pytest.raises(NotFound) as refused:
        ensure_holder(db_session, "web:nobody", ALICE)
    assert refused.value.detail == "No conversation web:nobody."
    with pytest.raises(NotFound) as refused:
        change_ticket(db_session, "T-190001-00001", ALICE, status="resolved")
    assert refused.value.detail == "No ticket T-190001-00001."


def test_only_the_holder_acts_and_a_supervisor_may_step_in(db_session: Session) -> None:
    cid, _ = queued_complaint(db_session)
    with pytest.raises(Conflict) as refused:
        ensure_holder(db_session, cid, ALICE)
    assert refused.value.detail == "Claim the conversation first." and refused.value.owner is None
    conv.claim_conversation(db_session, conversation_id=cid, agent="alice")
    assert ensure_holder(db_session, cid, ALICE).owner == "alice"
    assert ensure_holder(db_session, cid, SUE).owner == "alice"
    with pytest.raises(Conflict) as refused:
        ensure_holder(db_session, cid, BOB)
    assert refused.value.detail == "alice is handling this conversation."


def test_claim_release_and_hand_back_move_the_ticket(db_session: Session) -> None:
    cid, number = queued_complaint(db_session)
    statuses = []
    for action in ("claimed", "replied", "released", "claimed", "handed_back"):
        record_conversation_action(db_session, cid, ALICE, action)
        ticket = get_ticket(db_session, number)
        assert ticket is not None
        statuses.append(ticket.status)
    assert statuses == ["assigned", "assigned", "escalated", "assigned", "open"]
    actions = [e.action for e in list_ticket_events(db_session, number)]
    assert actions[-5:] == ["claimed", "replied", "released", "claimed", "handed_back"]


def test_a_note_needs_a_ticket(db_session: Session) -> None:
    cid = f"web:{uuid.uuid4()}"
    conv.record_message(db_session, conversation_id=cid, direction="in", sender="shipper", text="hi")
    with pytest.raises(Conflict) as refused:
        add_note(db_session, cid, ALICE, "called them")
    assert refused.value.detail == "This conversation has no ticket to note on."


def test_an_unknown_status_is_invalid_input(db_session: Session) -> None:
    _, number = queued_complaint(db_session)
    with pytest.raises(InvalidInput) as refused:
        change_ticket(db_session, number, ALICE, status="done")
    assert refused.value.detail == (
        "status must be one of open, escalated, assigned, waiting_customer, resolved, closed."
    )


def test_compensation_up_to_500_is_granted_and_above_it_waits_for_a_supervisor(db_session: Session) -> None:
    _, number = queued_complaint(db_session)
    granted = change_ticket(db_session, number, ALICE, compensation_cny=Decimal("500.00"))
    assert granted["compensation_cny"] == "500.00" and "approval" not in granted
    pending = change_ticket(db_session, number, ALICE, compensation_cny=Decimal("500.01"))
    assert pending["approval"]["status"] == "pending" and pending["compensation_cny"] == "500.00"
    request_id = pending["approval"]["id"]
    with pytest.raises(NotAllowed) as refused:
        decide_compensation(db_session, request_id, ALICE, approve=True, amount=Decimal("500.01"))
    assert refused.value.detail == "Only supervisors may do this."
    decision = decide_compensation(db_session, request_id, SUE, approve=True, amount=Decimal("500.01"))
    assert decision.request["status"] == "approved"
    ticket = get_ticket(db_session, number)
    assert ticket is not None and ticket.compensation_cny == Decimal("500.01")
    # A supervisor's own amount needs nobody's approval.
    assert (
        change_ticket(db_session, number, SUE, compensation_cny=Decimal("900.00"))["compensation_cny"]
        == "900.00"
    )


def test_another_agents_conversation_keeps_its_ticket(db_session: Session) -> None:
    cid, number = queued_complaint(db_session)
    conv.claim_conversation(db_session, conversation_id=cid, agent="alice")
    with pytest.raises(Conflict) as refused:
        change_ticket(db_session, number, BOB, status="resolved")
    assert refused.value.detail == "alice is handling this ticket's conversation."
    assert change_ticket(db_session, number, SUE, status="resolved")["status"] == "resolved"
