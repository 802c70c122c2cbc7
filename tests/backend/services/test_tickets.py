from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.models import Conversation
from backend.services.handoff import request_person
from backend.services.tickets import (
    API_KEYS,
    BusinessCalendar,
    StaleTicket,
    TicketNotFound,
    count_complaints_for_waybill,
    get_ticket,
    list_ticket_events,
    list_tickets,
    open_ticket,
    record_ticket_event,
    ticket_to_dict,
    update_ticket,
)
from tests.backend.factories import a_ticket

CAL = BusinessCalendar()
TZ = ZoneInfo("Asia/Shanghai")
NUMBER = re.compile(r"T-\d{6}-\d{5}")


def key() -> str:
    return f"test:{uuid.uuid4().hex}"


def conversation() -> str:
    return f"telegram:{uuid.uuid4().hex[:10]}"


def test_open_ticket_number_event_and_sla(db_session: Session) -> None:
    cid = conversation()
    ticket = open_ticket(
        db_session,
        idempotency_key=key(),
        conversation_id=cid,
        kind="complaint",
        status="open",
        actor="bot",
        calendar=CAL,
        waybill="ea 1000 0003 4 cn",
        category="delay",
        level="general",
        priority="P3",
        customer_id="C002",
        summary="Delayed at Wuhan",
        description="It is two days late!!",
        declared_value="1200",
    )
    assert NUMBER.fullmatch(ticket.number)
    assert ticket.number.startswith("T-" + ticket.created_at.astimezone(TZ).strftime("%Y%m") + "-")
    assert (ticket.channel, ticket.waybill, ticket.version) == ("telegram", "EA100000034CN", 1)
    assert ticket.declared_value == Decimal("1200")
    assert ticket.sla_due_at is not None and ticket.sla_due_at > ticket.created_at
    events = list_ticket_events(db_session, ticket.number)
    rows = [(e.action, e.actor, e.from_status, e.to_status) for e in events]
    assert rows == [("created", "bot", None, "open")]
    assert events[0].data is not None and events[0].data["category"] == "delay"


def test_numbers_increase_within_a_month(db_session: Session) -> None:
    at = datetime(2031, 1, 15, 3, 0, tzinfo=timezone.utc)
    first = open_ticket(
        db_session,
        idempotency_key=key(),
        conversation_id=None,
        kind="handoff",
        status="escalated",
        actor="bot",
        calendar=CAL,
        now=at,
    )
    second = open_ticket(
        db_session,
        idempotency_key=key(),
        conversation_id=None,
        kind="handoff",
        status="escalated",
        actor="bot",
        calendar=CAL,
        now=at,
    )
    assert first.number.startswith("T-203101-")
    assert int(second.number[-5:]) == int(first.number[-5:]) + 1
    # The month is the carrier's: 31 Jan 17:00 UTC is already 1 Feb in Shanghai.
    feb = open_ticket(
        db_session,
        idempotency_key=key(),
        conversation_id=None,
        kind="handoff",
        status="escalated",
        actor="bot",
        calendar=CAL,
        now=datetime(2031, 1, 31, 17, 0, tzinfo=timezone.utc),
    )
    assert feb.number.startswith("T-203102-")


def test_same_idempotency_key_returns_the_existing_ticket(db_factory: sessionmaker[Session]) -> None:
    k = key()
    with session_scope(db_factory) as session:
        first = open_ticket(
            session,
            idempotency_key=k,
            conversation_id=conversation(),
            kind="complaint",
            status="open",
            actor="bot",
            calendar=CAL,
            summary="first",
        )
        number = first.number
    with session_scope(db_factory) as session:
        again = open_ticket(
            session,
            idempotency_key=k,
            conversation_id=conversation(),
            kind="complaint",
            status="escalated",
            actor="bot",
            calendar=CAL,
            summary="retried",
        )
        assert (again.number, again.summary, again.status, again.version) == (number, "first", "open", 1)
        assert len(list_ticket_events(session, number)) == 1


def test_update_ticket_audits_and_bumps_version(db_session: Session) -> None:
    ticket = a_ticket(
        db_session,
        conversation_id=conversation(),
        status="escalated",
        calendar=CAL,
        priority="P2",
    )
    updated = update_ticket(
        db_session, number=ticket.number, expected_version=1, actor="agent:alice", status="assigned"
    )
    assert updated.version == 2
    resolved = update_ticket(
        db_session,
        number=ticket.number,
        expected_version=2,
        actor="agent:alice",
        status="resolved",
        agreed_resolution="Refund of the express surcharge",
    )
    assert resolved.version == 3 and resolved.resolved_at is not None
    events = list_ticket_events(db_session, ticket.number)
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("created", None, "escalated"),
        ("status_changed", "escalated", "assigned"),
        ("status_changed", "assigned", "resolved"),
    ]
    assert events[2].data == {
        "changes": {
            "status": {"from": "assigned", "to": "resolved"},
            "agreed_resolution": {"from": None, "to": "Refund of the express surcharge"},
        }
    }
    # No change, no audit row, no new version.
    same = update_ticket(db_session, number=ticket.number, expected_version=3, actor="x", status="resolved")
    assert same.version == 3
    note = record_ticket_event(db_session, number=ticket.number, actor="agent:alice", action="follow_up_call")
    assert note.to_status == "resolved"


def test_stale_version_is_refused(db_factory: sessionmaker[Session]) -> None:
    with session_scope(db_factory) as session:
        number = a_ticket(
            session,
            conversation_id=conversation(),
            status="escalated",
            calendar=CAL,
        ).number
    with session_scope(db_factory) as session:
        update_ticket(session, number=number, expected_version=1, actor="agent:a", status="assigned")
    with session_scope(db_factory) as session, pytest.raises(StaleTicket) as caught:
        update_ticket(session, number=number, expected_version=1, actor="agent:b", status="resolved")
    assert (caught.value.expected, caught.value.actual) == (1, 2)


def test_concurrent_writer_loses_at_flush(db_factory: sessionmaker[Session]) -> None:
    with session_scope(db_factory) as session:
        number = a_ticket(
            session,
            kind="service_request",
            calendar=CAL,
        ).number
    slow = db_factory()
    try:
        held = get_ticket(slow, number)
        assert held is not None
        slow.commit()  # end the read transaction (SQLite would otherwise hold a snapshot)
        with session_scope(db_factory) as fast:
            update_ticket(fast, number=number, expected_version=1, actor="a", summary="fast")
        held.summary = "slow"
        with pytest.raises(Exception, match="expected to update 1 row"):
            slow.flush()
        slow.rollback()
    finally:
        slow.close()


def test_vocabulary_is_validated(db_session: Session) -> None:
    for bad in ({"kind": "rant"}, {"status": "done"}):
        with pytest.raises(ValueError):
            open_ticket(
                db_session,
                idempotency_key=key(),
                conversation_id=None,
                actor="bot",
                calendar=CAL,
                **{"kind": "complaint", "status": "open", **bad},  # type: ignore[arg-type]
            )
    bad_values = (("category", "weather"), ("priority", "P9"), ("level", "huge"), ("photo_status", "x"))
    for field, value in bad_values:
        with pytest.raises(ValueError):
            open_ticket(
                db_session,
                idempotency_key=key(),
                conversation_id=None,
                kind="complaint",
                status="open",
                actor="bot",
                calendar=CAL,
                **{field: value},  # type: ignore[arg-type]
            )
    with pytest.raises(TypeError):
        open_ticket(
            db_session,
            idempotency_key=key(),
            conversation_id=None,
            kind="complaint",
            status="open",
            actor="bot",
            calendar=CAL,
            colour="red",
        )
    with pytest.raises(TicketNotFound):
        update_ticket(db_session, number="T-209912-99999", expected_version=None, actor="x", status="closed")


def test_list_and_count(db_session: Session) -> None:
    cid = conversation()
    k1 = key()
    for k, kind in ((k1, "complaint"), (key(), "complaint"), (key(), "handoff")):
        a_ticket(
            db_session,
            idempotency_key=k,
            conversation_id=cid,
            kind=kind,
            status="escalated",
            calendar=CAL,
            waybill="EA100000079CN",
        )
    assert len(list_tickets(db_session, conversation_id=cid)) == 3
    assert list_tickets(db_session, conversation_id=cid, status="open") == []
    assert count_complaints_for_waybill(db_session, "ea 1000 0007 9 cn") >= 2
    assert count_complaints_for_waybill(db_session, "EA100000079CN", exclude_key=k1) == (
        count_complaints_for_waybill(db_session, "EA100000079CN") - 1
    )
    with pytest.raises(ValueError):
        list_tickets(db_session, status="nope")


def test_ticket_to_dict_keys(db_session: Session) -> None:
    ticket = a_ticket(
        db_session,
        conversation_id=conversation(),
        calendar=CAL,
        priority="P1",
        declared_value=Decimal("400"),
    )
    data = ticket_to_dict(ticket)
    assert tuple(data)[: len(API_KEYS)] == (
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
    assert {"responsibility", "version", "description"} <= set(data)
    assert datetime.fromisoformat(data["created_at"]).tzinfo is not None
    assert isinstance(data["sla_due_at"], str)
    assert data["declared_value"] == "400.00"


def local(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=TZ)


@pytest.mark.parametrize(
    ("priority", "start", "due"),
    [
        ("P1", local(2026, 11, 23, 10), local(2026, 11, 23, 12)),  # Monday morning
        ("P1", local(2026, 11, 23, 17), local(2026, 11, 24, 10)),  # rolls over to Tuesday
        ("P2", local(2026, 11, 27, 16), local(2026, 11, 30, 11)),  # Friday -> Monday
        ("P3", local(2026, 11, 28, 22), local(2026, 11, 30, 18)),  # Saturday night -> end of Monday
        ("P3", local(2026, 11, 27, 15), local(2026, 11, 27, 18)),  # Friday 15:00 -> that day's closing
        ("P4", local(2026, 11, 23, 10), local(2026, 11, 25, 10)),  # 2 business days = 18 business hours
        ("P4", local(2026, 11, 27, 9), local(2026, 11, 30, 18)),  # Friday opening -> Monday closing
        (None, local(2026, 11, 23, 10), None),
    ],
)
def test_sla_due(priority: str | None, start: datetime, due: datetime | None) -> None:
    assert CAL.sla_due(priority, start) == due
    assert not CAL.is_open(local(2026, 11, 28, 10)) and CAL.is_open(local(2026, 11, 27, 10))


def test_calendar_settings_reach_the_sla_rules() -> None:
    # 08:00-20:00, Monday to Saturday: P4 is two such days, 24 business hours.
    long_days = BusinessCalendar(start_hour=8, end_hour=20, weekdays=frozenset(range(6)))
    assert long_days.sla_due("P4", local(2026, 11, 28, 10)) == local(2026, 12, 1, 10)  # Saturday -> Tuesday
    assert long_days.sla_due("P1", local(2026, 11, 28, 19)) == local(2026, 11, 30, 9)  # Saturday evening
    assert long_days.is_open(local(2026, 11, 28, 8)) and not long_days.is_open(local(2026, 11, 29, 10))


def test_concurrent_openings_get_distinct_numbers(db_factory: sessionmaker[Session]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    at = datetime(2032, 6, 10, 4, 0, tzinfo=timezone.utc)
    shared_key = key()

    def open_some(worker: int) -> list[str]:
        numbers = []
        for i in range(4):
            # Every worker also retries one shared key: it must yield a single ticket.
            k = shared_key if i == 0 else f"{shared_key}:{worker}:{i}"
            with session_scope(db_factory) as session:
                numbers.append(
                    open_ticket(
                        session,
                        idempotency_key=k,
                        conversation_id=None,
                        kind="handoff",
                        status="escalated",
                        actor=f"worker{worker}",
                        calendar=CAL,
                        now=at,
                    ).number
                )
        return numbers

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = [n for batch in pool.map(open_some, range(6)) for n in batch]
    shared = {batch_first for batch_first in results[::4]}
    assert len(shared) == 1
    distinct = sorted(set(results))
    assert len(distinct) == 1 + 6 * 3
    assert [int(n[-5:]) for n in distinct] == list(range(1, len(distinct) + 1))
    assert all(n.startswith("T-203206-") for n in distinct)


# --- the plain request for a person (backend.services.handoff) ----------------------------------------


def test_a_request_for_a_person_opens_one_handoff_ticket_and_queues_the_conversation(
    db_session: Session,
) -> None:
    now = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
    asked = dict(
        conversation_id="web:asks-for-a-person", request_id="m-1", text="agent", waybill=None, now=now
    )
    first = request_person(db_session, **asked)
    again = request_person(db_session, **asked)
    assert first == again and first.priority == "P3" and first.due is not None
    ticket = get_ticket(db_session, first.ticket_number)
    assert ticket is not None
    assert (ticket.kind, ticket.status, ticket.summary) == (
        "handoff",
        "escalated",
        "Customer asked to talk to a person.",
    )
    conversation = db_session.get(Conversation, "web:asks-for-a-person")
    assert conversation is not None
    assert (conversation.state, conversation.handoff_reason) == ("queued", "customer asked for a person")


def test_a_chinese_shippers_request_for_a_person_is_summarised_in_chinese(db_session: Session) -> None:
    now = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
    handover = request_person(
        db_session,
        conversation_id="telegram:asks-in-chinese",
        request_id="m-1",
        text="转人工",
        waybill="EA100000034CN",
        now=now,
        language="zh",
    )
    ticket = get_ticket(db_session, handover.ticket_number)
    assert ticket is not None
    assert (ticket.summary, ticket.language) == ("客户要求转人工客服，运单号 EA100000034CN。", "zh")
