"""A care campaign's follow-up in the web widget: a key customer chatting in the widget is on this month's
message campaign; the backend's care job sends the seed's script into the open chat with the 1–5 buttons,
the shipper presses one and types a suggestion, and both land on the follow-up record.

This module's stack runs the care job every second with quiet hours off, so the test does not depend on
the hour it runs at (quiet hours are tested with a movable clock in tests/backend/services/).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from backend.db import make_engine, make_session_factory, session_scope
from backend.models import CareTarget, Conversation, Customer, FollowUpRecord
from backend.services import care_messages as care
from tests.backend.services.test_care_messages import on_message_campaign
from tests.browser.conftest import REPLY_TIMEOUT_MS, Shipper
from tests.browser.test_widget_notices import widget_conversation
from tests.e2e.conftest import start_stack
from tools.stack import Stack

pytestmark = pytest.mark.e2e

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(
        tmp_path_factory.mktemp("care-stack"), {"CARE_MESSAGE_CHECK_S": "1", "QUIET_HOURS": "off"}
    )
    try:
        yield running
    finally:
        running.stop()


def in_database(stack: Stack, work: Callable[[Session], object]) -> object:
    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return work(session)
    finally:
        engine.dispose()


def on_this_months_campaign(stack: Stack, cid: str) -> int:
    """The widget's shipper becomes a key customer on this month's message campaign: the target's id."""

    def add(session: Session) -> int:
        customer_id = f"CW{uuid.uuid4().hex[:10]}"
        session.add(Customer(id=customer_id, name="Jasmine Logistics", customer_class="A"))
        session.flush()
        conversation = session.get(Conversation, cid)
        assert conversation is not None
        conversation.customer_id = customer_id
        return on_message_campaign(session, customer_id, datetime.now(SHANGHAI).date())

    return int(in_database(stack, add))  # type: ignore[call-overload]


def record_of(stack: Stack, target_id: int) -> tuple[str, FollowUpRecord | None]:
    def read(session: Session) -> tuple[str, FollowUpRecord | None]:
        target = session.get(CareTarget, target_id)
        assert target is not None
        record = care.record_for(session, target_id)
        session.expunge_all()
        return target.status, record

    return in_database(stack, read)  # type: ignore[return-value]


def test_the_script_appears_in_the_widget_and_the_answers_land_on_the_record(
    shipper: Shipper, stack: Stack
) -> None:
    shipper.visit()
    shipper.open_chat()
    shipper.send("hello")
    expect(shipper.bubbles("ai")).not_to_have_count(0, timeout=REPLY_TIMEOUT_MS)
    target_id = on_this_months_campaign(stack, widget_conversation(shipper))

    script = shipper.bubbles("ai").filter(has_text="Are you satisfied with our service?")
    expect(script).to_have_count(1, timeout=REPLY_TIMEOUT_MS)
    expect(script).to_contain_text("Hello Jasmine Logistics, this is the carrier's customer service")
    five = shipper.page.get_by_role("button", name="5", exact=True)
    expect(five).to_be_visible()
    five.click()
    shipper.reply_containing("Do you have any suggestions for our service")
    shipper.send("Evening pickups would help us")
    shipper.reply_containing("We wish you all the best, goodbye!")

    status, record = record_of(stack, target_id)
    assert status == "answered" and record is not None
    assert (record.channel, record.made_by, record.satisfaction) == ("web", "bot", 5)
    assert record.suggestions == "Evening pickups would help us"
    # Sent once for the period: a few more runs of the job add nothing.
    time.sleep(3)
    expect(script).to_have_count(1)
