"""Compensation above the agent's limit is a request that waits for a supervisor, on SQLite and PostgreSQL.

Nothing of a waiting request reaches the ticket or the shipper: not the amount, not the remedy typed
with it, not a resolved status, not the satisfaction survey. A decision names the request and its
amount; a changed or decided request is refused; of two supervisors deciding at once, one wins.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.errors import Conflict, InvalidInput, NotAllowed, NotFound
from backend.hub import follow_up
from backend.models import CompensationRequest
from backend.services import conversations as conv
from backend.services.agent_work import (
    AgentView,
    Decision,
    change_ticket,
    decide_compensation,
)
from backend.services.tickets import AwaitingApproval, get_ticket, list_ticket_events, update_ticket
from tests.backend.factories import a_ticket, queued_complaint

ALICE = AgentView(username="alice", role="agent")
SUE = AgentView(username="sue", role="supervisor")
ROB = AgentView(username="rob", role="supervisor")
D = Decimal


def _claimed(session: Session) -> tuple[str, str]:
    cid, number = queued_complaint(session, category="damage")
    conv.claim_conversation(session, conversation_id=cid, agent="alice")
    return cid, number


def test_800_with_status_resolved_waits_and_nothing_reaches_the_ticket(db_session: Session) -> None:
    _, number = _claimed(db_session)
    saved = change_ticket(
        db_session,
        number,
        ALICE,
        status="resolved",
        resolution="Compensation of 800 CNY for the broken coffee machine.",
        compensation_cny=D("800.00"),
        note="Receipt shows 800; declared value covers it.",
    )
    request = saved["approval"]
    assert request["status"] == "pending" and request["amount_cny"] == "800.00"
    assert request["agent"] == "alice" and request["reason"] == "Receipt shows 800; declared value covers it."
    assert request["resolution"] == "Compensation of 800 CNY for the broken coffee machine."
    assert (
        saved["held_status"] == "resolved"
        and "Waiting for a supervisor's approval of 800.00" in saved["detail"]
    )
    ticket = get_ticket(db_session, number)
    assert ticket is not None
    assert (ticket.status, ticket.compensation_cny, ticket.agreed_resolution) == ("escalated", None, None)
    [asked] = [
        e for e in list_ticket_events(db_session, number) if e.action == "compensation_approval_requested"
    ]
    assert asked.actor == "agent:alice" and asked.data == {
        "request": request["id"],
        "compensation_cny": "800.00",
        "reason": "Receipt shows 800; declared value covers it.",
    }


def test_a_waiting_request_keeps_the_ticket_from_ending_by_any_path(db_session: Session) -> None:
    _, number = _claimed(db_session)
    change_ticket(db_session, number, ALICE, compensation_cny=D("800"))
    # The console holds the status back; a supervisor's save too; any other caller is refused.
    assert change_ticket(db_session, number, ALICE, status="resolved")["held_status"] == "resolved"
    assert change_ticket(db_session, number, SUE, status="closed")["held_status"] == "closed"
    for final in ("resolved", "closed"):
        with pytest.raises(AwaitingApproval) as refused:
            update_ticket(db_session, number=number, expected_version=None, actor="bot", status=final)
        assert str(refused.value) == (
            f"A compensation of 800.00 CNY is waiting for a supervisor's approval: ticket {number} "
            f"can be {final} once the request is decided."
        )
    ticket = get_ticket(db_session, number)
    assert ticket is not None and ticket.status == "escalated"
    # Other statuses still move.
    assert change_ticket(db_session, number, ALICE, status="waiting_customer")["status"] == "waiting_customer"


def test_no_survey_while_a_request_waits_even_on_a_ticket_resolved_before(db_session: Session) -> None:
    cid, number = _claimed(db_session)
    change_ticket(db_session, number, ALICE, status="resolved")
    assert follow_up.should_ask(db_session, number)
    # Reopened by the agent (resolved -> assigned) is not needed: a request may come after resolution.
    change_ticket(db_session, number, ALICE, compensation_cny=D("650"))
    assert not follow_up.should_ask(db_session, number)
    decide_compensation(db_session, _waiting_id(db_session, number), SUE, approve=True, amount=D("650"))
    assert follow_up.should_ask(db_session, number)


def _waiting_id(session: Session, number: str) -> int:
    request = change_ticket(session, number, SUE)["approval"]
    assert request is not None
    return int(request["id"])


def test_a_changed_amount_is_the_same_request_and_a_stale_decision_is_refused(db_session: Session) -> None:
    _, number = _claimed(db_session)
    first = change_ticket(db_session, number, ALICE, compensation_cny=D("800"))["approval"]
    again = change_ticket(db_session, number, ALICE, compensation_cny=D("900"), note="Two items, not one.")
    assert again["approval"]["id"] == first["id"] and again["approval"]["amount_cny"] == "900.00"
    [changed] = [
        e for e in list_ticket_events(db_session, number) if e.action == "compensation_request_changed"
    ]
    assert changed.data is not None and changed.data["changes"]["amount_cny"] == {
        "from": "800.00",
        "to": "900.00",
    }
    with pytest.raises(Conflict) as stale:
        decide_compensation(db_session, first["id"], SUE, approve=True, amount=D("800.00"))
    assert stale.value.detail == (
        f"Request {first['id']} is now for 900.00 CNY, not 800.00 CNY; "
        "please look at it again before deciding."
    )
    ticket = get_ticket(db_session, number)
    assert ticket is not None and ticket.compensation_cny is None


def test_approval_grants_the_amount_and_the_held_remedy_once_and_tells_the_shipper(
    db_session: Session,
) -> None:
    cid, number = _claimed(db_session)
    request = change_ticket(
        db_session,
        number,
        ALICE,
        resolution="Compensation for the broken machine.",
        compensation_cny=D("800"),
    )["approval"]
    with pytest.raises(NotAllowed):
        decide_compensation(db_session, request["id"], ALICE, approve=True, amount=D("800"))
    with pytest.raises(InvalidInput):
        decide_compensation(db_session, request["id"], SUE, approve=True, amount=None)
    with pytest.raises(NotFound):
        decide_compensation(db_session, 10**9, SUE, approve=True, amount=D("800"))
    decision = decide_compensation(db_session, request["id"], SUE, approve=True, amount=D("800.00"))
    assert isinstance(decision, Decision) and decision.conversation_id == cid
    assert decision.request["status"] == "approved" and decision.request["decided_by"] == "supervisor:sue"
    assert decision.shipper_text == (
        f"Good news about your complaint {number}: we have approved a compensation of 800.00 CNY. "
        "A colleague will confirm the payment with you."
    )
    ticket = get_ticket(db_session, number)
    assert ticket is not None
    assert (ticket.compensation_cny, ticket.agreed_resolution) == (
        D("800.00"),
        "Compensation for the broken machine.",
    )
    [approved] = [e for e in list_ticket_events(db_session, number) if e.action == "compensation_approved"]
    assert approved.actor == "supervisor:sue" and approved.at is not None
    assert approved.data is not None and approved.data["request"] == request["id"]
    assert approved.data["compensation_cny"] == "800.00" and approved.data["requested_by"] == "agent:alice"
    # Decided once: a second click (or another supervisor) is refused and changes nothing.
    with pytest.raises(Conflict) as twice:
        decide_compensation(db_session, request["id"], ROB, approve=False, amount=D("800"))
    assert (
        twice.value.detail == f"Request {request['id']} was approved already (by sue); nothing was changed."
    )
    # The approved amount saved again by the agent is no new request, and the ticket can now be resolved.
    done = change_ticket(db_session, number, ALICE, status="resolved", compensation_cny=D("800"))
    assert done["status"] == "resolved" and "approval" not in done


def test_rejection_grants_nothing_and_says_so_politely_in_chinese(db_session: Session) -> None:
    cid, number = _claimed(db_session)
    conversation = conv.ensure_conversation(db_session, cid)
    conversation.language = "zh"
    request = change_ticket(db_session, number, ALICE, compensation_cny=D("1200"))["approval"]
    decision = decide_compensation(db_session, request["id"], SUE, approve=False, amount=D("1200"))
    assert decision.shipper_text == (
        f"关于您的投诉 {number}：很抱歉，目前提出的赔偿方案未能获批。"
        "同事会尽快与您联系，商量下一步的处理办法。感谢您的耐心。"
    )
    ticket = get_ticket(db_session, number)
    assert ticket is not None and ticket.compensation_cny is None
    [rejected] = [e for e in list_ticket_events(db_session, number) if e.action == "compensation_rejected"]
    assert rejected.actor == "supervisor:sue"
    assert change_ticket(db_session, number, ALICE, status="resolved")["status"] == "resolved"


def test_an_amount_within_the_limit_withdraws_the_waiting_request(db_session: Session) -> None:
    _, number = _claimed(db_session)
    request = change_ticket(db_session, number, ALICE, compensation_cny=D("800"))["approval"]
    granted = change_ticket(db_session, number, ALICE, compensation_cny=D("450"))
    assert granted["compensation_cny"] == "450.00" and "approval" not in granted
    with pytest.raises(Conflict) as gone:
        decide_compensation(db_session, request["id"], SUE, approve=True, amount=D("800"))
    assert (
        gone.value.detail == f"Request {request['id']} was withdrawn already (by alice); nothing was changed."
    )


def test_a_ticket_without_a_conversation_is_decided_without_a_message(db_session: Session) -> None:
    number = a_ticket(db_session, status="assigned").number
    request = change_ticket(db_session, number, ALICE, compensation_cny=D("700"))["approval"]
    decision = decide_compensation(db_session, request["id"], SUE, approve=True, amount=D("700"))
    assert decision.conversation_id is None


def test_two_supervisors_deciding_at_once_one_wins(
    db_factory: sessionmaker[Session], seeded_today: object
) -> None:
    with session_scope(db_factory) as session:
        _, number = _claimed(session)
        request_id = int(change_ticket(session, number, ALICE, compensation_cny=D("800"))["approval"]["id"])
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def decide(who: AgentView, approve: bool) -> None:
        start.wait()
        try:
            with session_scope(db_factory) as session:
                decide_compensation(session, request_id, who, approve=approve, amount=D("800"))
            outcomes[who.username] = "decided"
        except Conflict as refused:
            outcomes[who.username] = refused.detail

    threads = [threading.Thread(target=decide, args=args) for args in ((SUE, True), (ROB, False))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()).count("decided") == 1, outcomes
    with session_scope(db_factory) as session:
        decisions = [
            e.action
            for e in list_ticket_events(session, number)
            if e.action in ("compensation_approved", "compensation_rejected")
        ]
    assert len(decisions) == 1


def test_the_database_lets_one_request_wait_per_ticket(db_session: Session) -> None:
    _, number = _claimed(db_session)
    ticket = get_ticket(db_session, number)
    assert ticket is not None
    change_ticket(db_session, number, ALICE, compensation_cny=D("800"))
    second = CompensationRequest(
        ticket_id=ticket.id, amount_cny=D("900"), status="pending", requested_by="agent:bob"
    )
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.add(second)
        db_session.flush()
