"""The console's search and filters (backend.services.search): every key finds the conversation, however
it is typed, and the filters narrow the list, finished conversations included when asked for."""

from __future__ import annotations

import random
import uuid
from typing import Any

from sqlalchemy.orm import Session

from backend.models import Conversation, Customer
from backend.services.conversations import claim_conversation, mark_for_agent, record_message
from backend.services.search import QueueFilter, find_conversations
from backend.waybill import make_waybill
from tests.backend.factories import a_ticket, forget_customer


def _ids(session: Session, agent: str | None = "alice", **wanted: Any) -> list[str]:
    return [row["id"] for row in find_conversations(session, QueueFilter.of(**wanted), agent=agent)]


def _customer(session: Session) -> Customer:
    """A customer of this test alone: its own id, mobile number and name."""
    serial = random.randrange(10**7, 10**8)
    customer = Customer(
        id=f"C9{serial}",
        name=f"Qilin Cold Chain {serial}",
        customer_class="A",
        phone=f"+86139{serial}",
    )
    session.add(customer)
    session.flush()
    return customer


def _conversation(session: Session, **ticket: Any) -> tuple[str, Any]:
    """A web conversation waiting for a person, with a complaint ticket carrying `ticket`'s fields."""
    cid = f"web:{uuid.uuid4()}"
    record_message(session, conversation_id=cid, direction="in", sender="shipper", text="hello")
    opened = a_ticket(session, conversation_id=cid, status="escalated", category="delay", **ticket)
    mark_for_agent(session, conversation_id=cid, reason="customer asked for a person")
    return cid, opened


def test_each_key_finds_the_conversation_however_it_is_typed(db_session: Session) -> None:
    customer = _customer(db_session)
    waybill = make_waybill("EZ", random.randrange(10**7))
    by_waybill, _ = _conversation(db_session, waybill=waybill)
    by_number, ticket = _conversation(db_session, priority="P2")
    by_phone, _ = _conversation(db_session)
    db_session.get(Conversation, by_phone).customer_id = customer.id  # type: ignore[union-attr]
    contact = f"137{random.randrange(10**7, 10**8)}"
    by_contact, _ = _conversation(db_session, contact_phone=f"+86{contact}")
    unrelated, _ = _conversation(db_session)
    db_session.flush()

    spaced = f"{waybill[:2].lower()} {waybill[2:6]} {waybill[6:11]} {waybill[11:].lower()}"
    assert _ids(db_session, q=spaced) == [by_waybill]
    assert _ids(db_session, q=waybill) == [by_waybill]
    assert _ids(db_session, q=ticket.number.lower()) == [by_number]
    assert _ids(db_session, q=ticket.number.replace("-", " ")) == [by_number]
    mobile = customer.phone[3:]  # 139xxxxxxxx
    full_width = "".join(chr(ord(d) + 0xFEE0) for d in mobile)
    spaced_phone = f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}"
    for typed in (mobile, spaced_phone, f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}", full_width):
        assert _ids(db_session, q=typed) == [by_phone], typed
    # The number the shipper gave in the complaint, typed with spaces.
    assert _ids(db_session, q=f"{contact[:3]} {contact[3:7]} {contact[7:]}") == [by_contact]
    assert _ids(db_session, q=customer.id.lower()) == [by_phone]
    assert _ids(db_session, q=customer.name.split()[-1]) == [by_phone]
    assert _ids(db_session, q=customer.name.upper()) == [by_phone]
    assert unrelated not in _ids(db_session, q="EZ000000000CN")
    assert _ids(db_session, q="no such thing anywhere") == []
    forget_customer(db_session, customer.id)


def test_digits_that_also_make_a_phone_number_still_find_a_name(db_session: Session) -> None:
    # 10102947 is a valid Beijing fixed line (+8610102947) and the number in this customer's name.
    customer = _customer(db_session)
    customer.name = f"Qilin Cold Chain 10102947 {customer.id}"
    by_name, _ = _conversation(db_session)
    db_session.get(Conversation, by_name).customer_id = customer.id  # type: ignore[union-attr]
    db_session.flush()
    assert by_name in _ids(db_session, q="10102947")
    forget_customer(db_session, customer.id)


def test_the_filters_narrow_the_queue_and_resolved_ones_show_only_when_asked(db_session: Session) -> None:
    mine, _ = _conversation(db_session, priority="P1")
    claim_conversation(db_session, conversation_id=mine, agent="alice")
    theirs, _ = _conversation(db_session, priority="P1")
    claim_conversation(db_session, conversation_id=theirs, agent="bob")
    waiting_zh, _ = _conversation(db_session, priority="P4")
    db_session.get(Conversation, waiting_zh).language = "zh"  # type: ignore[union-attr]
    waiting_en, _ = _conversation(db_session, priority="P3")
    db_session.get(Conversation, waiting_en).language = "en"  # type: ignore[union-attr]
    done, done_ticket = _conversation(db_session, priority="P2")
    done_ticket.status = "resolved"
    db_session.get(Conversation, done).state = "bot"  # type: ignore[union-attr]
    db_session.flush()

    live = _ids(db_session)
    assert {mine, waiting_zh, waiting_en} <= set(live)
    assert theirs not in live and done not in live  # the live queue: waiting and mine, nothing finished
    assert mine in _ids(db_session, mine=True) and waiting_zh not in _ids(db_session, mine=True)
    unassigned = _ids(db_session, unassigned=True)
    assert {waiting_zh, waiting_en} <= set(unassigned) and mine not in unassigned
    assert waiting_zh in _ids(db_session, language="zh") and waiting_en not in _ids(db_session, language="zh")
    assert waiting_zh in _ids(db_session, priority="P4") and mine not in _ids(db_session, priority="P4")
    resolved = _ids(db_session, status="resolved")
    assert done in resolved and mine not in resolved
    # A search looks at every conversation: another agent's, and finished ones, with their status.
    [row] = find_conversations(db_session, QueueFilter.of(q=done_ticket.number), agent="alice")
    assert row["ticket"]["status"] == "resolved" and row["ticket"]["sla"] is None
    assert _ids(db_session, q=done_ticket.number, status="escalated") == []
    # Filters combine; an unknown value is no filter rather than an error.
    assert _ids(db_session, unassigned=True, language="zh", priority="P4") == [
        i for i in _ids(db_session, unassigned=True, language="zh") if i == waiting_zh
    ]
    assert set(_ids(db_session, language="fr", priority="P9", status="lost")) == set(live)


def test_practice_conversations_are_never_found(db_session: Session) -> None:
    practice = f"cli:{uuid.uuid4()}"
    ticket = a_ticket(db_session, conversation_id=practice, status="escalated")
    mark_for_agent(db_session, conversation_id=practice, reason="customer asked for a person")
    assert _ids(db_session, q=ticket.number) == []
