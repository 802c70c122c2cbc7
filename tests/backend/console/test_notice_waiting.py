"""A notice for a conversation a person has waits in the console: the agent sends it as the bot's line,
or dismisses it; the shipper never gets it unseen. In English and in Chinese."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.hub.broker import conversation_topic
from backend.models import Customer, Shipment, ShipmentInquiry, utcnow
from backend.services import conversations as conv
from backend.services import notices
from backend.services.notice_watch import prepare, run_once
from tests.backend.console.clients import Console
from tests.backend.console.streams import LiveStream, listening
from tests.backend.factories import escalated
from tests.backend.services.test_notices import ALWAYS, CUSTOMER, deliveries, new_shipment, scan


@pytest.fixture(autouse=True, scope="module")
def _leave_the_seeded_database_as_seeded(db_factory: sessionmaker[Session]) -> Iterator[None]:
    """The notices' own customer and shipments go again: other tests count the demo data exactly."""
    yield
    with session_scope(db_factory) as session:
        waybills = select(Shipment.waybill).where(Shipment.customer_id == CUSTOMER)
        session.execute(delete(ShipmentInquiry).where(ShipmentInquiry.waybill.in_(waybills)))
        # The shipment's events, notices and deliveries go with it (ON DELETE CASCADE).
        session.execute(delete(Shipment).where(Shipment.customer_id == CUSTOMER))
        session.execute(delete(Customer).where(Customer.id == CUSTOMER))


def decide(who: Console, cid: str, delivery_id: int, decision: str) -> Any:
    """Posts the box's button and follows the redirect back to the conversation's page."""
    path = f"/console/conversations/{quote(cid, safe='')}/notices/{delivery_id}"
    posted = who.client.post(path, data={"csrf_token": who.csrf, "decision": decision})
    assert posted.status_code == 303
    return who.get(posted.headers["location"])


def held_notice(factory: sessionmaker[Session], today: date) -> tuple[str, str]:
    """A queued conversation that asked about a shipment which is now held; its id and the waybill."""
    cid, _number = escalated(factory)
    waybill = new_shipment(factory, promised=today + timedelta(days=2))
    with session_scope(factory) as session:
        notices.record_inquiry(session, conversation_id=cid, waybill=waybill, now=utcnow())
    scan(factory, waybill, "held", at=utcnow(), reason="capacity shortage")
    _run, claimed = prepare(factory, ALWAYS)
    assert cid not in [c.conversation_id for c in claimed]
    return cid, waybill


def test_the_agent_sees_the_notice_first_and_sends_it_as_the_bot(
    people: dict[str, Console], db_factory: sessionmaker[Session], seeded_today: date
) -> None:
    cid, waybill = held_notice(db_factory, seeded_today)
    alice = people["alice"]
    page = alice.get(f"/console/conversations/{quote(cid, safe='')}")
    assert "Notice waiting" in page.text and f"Update on your shipment {waybill}" in page.text
    assert "Claim this conversation to send or dismiss it." in page.text
    zh = alice.get(f"/console/conversations/{quote(cid, safe='')}", headers={"Accept-Language": "zh"})
    assert "待发送的通知" in zh.text and "请先接手此会话" in zh.text
    [delivery] = deliveries(db_factory, cid)
    # Not the holder yet: refused, nothing sent.
    refused = decide(alice, cid, delivery.id, "send")
    assert "Claim the conversation first." in refused.text
    assert deliveries(db_factory, cid)[0].status == "held_for_agent"

    alice.post(f"/console/api/conversations/{cid}/claim")
    page = alice.get(f"/console/conversations/{quote(cid, safe='')}")
    assert 'value="send">Send to shipper' in page.text and 'value="dismiss"' in page.text
    sent = decide(alice, cid, delivery.id, "send")
    assert "Notice waiting" not in sent.text
    assert deliveries(db_factory, cid)[0].status == "sent"
    with session_scope(db_factory) as session:
        lines = [(m.sender, m.text) for m in conv.list_messages(session, conversation_id=cid)]
    assert lines[-1] == ("bot", delivery.text)
    # A second click (another tab) sends nothing more.
    decide(alice, cid, delivery.id, "send")
    with session_scope(db_factory) as session:
        assert len(conv.list_messages(session, conversation_id=cid)) == len(lines)


def test_the_agent_may_dismiss_it(
    people: dict[str, Console], db_factory: sessionmaker[Session], seeded_today: date
) -> None:
    cid, _waybill = held_notice(db_factory, seeded_today)
    bob = people["bob"]
    bob.post(f"/console/api/conversations/{cid}/claim")
    [delivery] = deliveries(db_factory, cid)
    page = decide(bob, cid, delivery.id, "dismiss")
    assert "Notice waiting" not in page.text
    assert deliveries(db_factory, cid)[0].status == "dismissed"
    with session_scope(db_factory) as session:
        assert all(m.text != delivery.text for m in conv.list_messages(session, conversation_id=cid))


def test_an_open_conversation_page_hears_of_a_new_notice_live(
    app: FastAPI, people: dict[str, Console], db_factory: sessionmaker[Session], seeded_today: date
) -> None:
    cid, _number = escalated(db_factory)
    waybill = new_shipment(db_factory, promised=seeded_today + timedelta(days=2))
    with session_scope(db_factory) as session:
        notices.record_inquiry(session, conversation_id=cid, waybill=waybill, now=utcnow())
    alice = people["alice"]
    for language, words in (("en", "is waiting for you"), ("zh", "正在等您处理")):
        stream = LiveStream(
            alice.client, f"/console/events/conversations/{cid}", {"accept-language": language}
        )
        try:
            listening(app, conversation_topic(cid))
            status = "held" if language == "en" else "out_for_delivery"
            scan(db_factory, waybill, status, at=utcnow())
            assert alice.client.portal is not None
            alice.client.portal.call(lambda: run_once(app.state.hub, db_factory, ALWAYS))
            assert stream.read_until(words), stream.text
        finally:
            stream.close()
    assert [d.status for d in deliveries(db_factory, cid)] == ["held_for_agent", "held_for_agent"]
