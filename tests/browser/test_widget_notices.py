"""A proactive notice in the web widget: the shipper asks about a shipment, the carrier's system pushes a
scan, and the notice appears in the open chat as the bot's message, once; after "stop updates" no more.

The package's stack keeps the default quiet hours (21:00-08:00 on the carrier's clock). When the test runs
inside them the notice must wait: nothing appears, the delivery is deferred to 08:00, and the test then
plays the morning by moving that one delivery's due time to now, and the notice appears.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from backend.db import make_engine, make_session_factory, session_scope
from backend.models import NoticeDelivery
from backend.services import notices
from backend.services.notices import parse_quiet_hours
from backend.waybill import make_waybill
from tests.browser.conftest import REPLY_TIMEOUT_MS, Shipper
from tests.e2e.test_notices_telegram import shipments_token
from tools.stack import Stack

pytestmark = pytest.mark.e2e

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUIET = parse_quiet_hours("21:00-08:00")


def new_shipment(stack: Stack, token: str) -> str:
    """A shipment the carrier's system creates through PUT /api/v1/shipments/{waybill}."""
    waybill = make_waybill("NW", random.randrange(10_000_000, 99_999_999))
    # A customer of its own: the demo customers' shipment lists stay as the other browser tests expect.
    customer = httpx.put(
        f"{stack.backend_url}/api/v1/customers/NWC001",
        json={"name": "Widget Notice Traders", "customer_class": "C"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert customer.status_code in (200, 201), customer.text
    today = datetime.now(SHANGHAI).date()
    response = httpx.put(
        f"{stack.backend_url}/api/v1/shipments/{waybill}",
        json={
            "customer_id": "NWC001",
            "origin": "Nanning",
            "destination": "Kunming",
            "status": "in_transit",
            "promised_date": (today + timedelta(days=3)).isoformat(),
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return waybill


def push_scan(stack: Stack, token: str, waybill: str, status: str, location: str) -> None:
    response = httpx.post(
        f"{stack.backend_url}/api/v1/shipments/{waybill}/events",
        json={
            "event_id": f"{status}-{uuid.uuid4().hex[:8]}",
            "occurred_at": datetime.now(timezone.utc).isoformat(),
            "code": status.upper(),
            "location": location,
            "description": f"{status} at {location}",
            "status": status,
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text


def widget_conversation(shipper: Shipper) -> str:
    """The conversation id the backend issued to this widget (from its signed session)."""
    answer = shipper.fetch("/widget/history", shipper.token())
    return str(answer["body"]["conversation_id"])


def statuses(stack: Stack, cid: str) -> list[tuple[str, datetime]]:
    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return [(d.status, d.due_at) for d in notices.deliveries_for(session, cid)]
    finally:
        engine.dispose()


def morning_comes(stack: Stack, cid: str) -> None:
    """The test plays the clock for this conversation's deferred deliveries only."""
    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            session.execute(
                update(NoticeDelivery)
                .where(NoticeDelivery.conversation_id == cid, NoticeDelivery.status == "deferred")
                .values(due_at=datetime.now(timezone.utc) - timedelta(seconds=1))
            )
    finally:
        engine.dispose()


def wait_for(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.25)
    raise AssertionError("timed out")


def test_a_notice_appears_in_the_open_widget_once_and_stop_updates_stops_them(
    shipper: Shipper, stack: Stack
) -> None:
    assert QUIET is not None
    token = shipments_token(stack)
    waybill = new_shipment(stack, token)
    shipper.visit()
    shipper.open_chat()
    shipper.send(f"where is {waybill}")
    shipper.reply_containing("Kunming")
    cid = widget_conversation(shipper)
    notice = shipper.bubbles("ai").filter(has_text=f"Update on your shipment {waybill}")

    push_scan(stack, token, waybill, "held", "Guiyang hub")
    if QUIET.until(datetime.now(timezone.utc), SHANGHAI) is not None:
        # A customer at rest is not disturbed: the notice waits for 08:00.
        wait_for(lambda: statuses(stack, cid))
        [(status, due)] = statuses(stack, cid)
        assert status == "deferred" and due.astimezone(SHANGHAI).time().hour == 8
        time.sleep(6)  # more than one run of the watch
        expect(notice).to_have_count(0)
        morning_comes(stack, cid)
    expect(notice).to_have_count(1, timeout=REPLY_TIMEOUT_MS)
    expect(notice).to_contain_text("it is held at Guiyang hub since")
    expect(notice).to_contain_text('Reply "stop updates" to stop these messages.')

    # "stop updates": the next news does not reach this chat.
    shipper.send("stop updates")
    shipper.reply_containing("won't send you shipment updates")
    push_scan(stack, token, waybill, "out_for_delivery", "Kunming")
    wait_for(lambda: len(statuses(stack, cid)) == 2)
    assert statuses(stack, cid)[1][0] == "stopped"
    time.sleep(6)
    expect(shipper.bubbles("ai").filter(has_text="out for delivery")).to_have_count(0)
    expect(notice).to_have_count(1)
