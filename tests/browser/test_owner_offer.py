"""An owned customer's escalation, live in real browsers: the owner's queue shows it as their customer at
once, another agent's queue does not (while the offer stands)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from backend.db import make_engine, make_session_factory, session_scope
from backend.models import Conversation
from backend.services import ownership
from tests.browser.conftest import REPLY_TIMEOUT_MS, console_accounts
from tests.browser.test_console import TelegramShipper, person  # noqa: F401 (the fixture)
from tests.fakes.telegram_api import FakeBotApi
from tools.stack import Stack

pytestmark = pytest.mark.e2e

CUSTOMER = "C004"


@pytest.fixture
def owners(stack: Stack) -> Iterator[dict[str, tuple[str, str]]]:
    """Two agents, the first owning the customer; the owner is removed again afterwards."""
    accounts = console_accounts(stack, {"agent": "Owner"}, prefix="own-")
    accounts |= {"other": console_accounts(stack, {"agent": "Other"}, prefix="other-")["agent"]}
    engine = make_engine(stack.database_url)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as session:
            ownership.set_owner(session, CUSTOMER, accounts["agent"][0], actor="supervisor:browser-test")
        yield accounts
    finally:
        with session_scope(factory) as session:
            ownership.set_owner(session, CUSTOMER, None, actor="supervisor:browser-test")
        engine.dispose()


def test_the_owner_sees_the_offer_live_and_another_agent_does_not(
    stack: Stack,
    browser_telegram: FakeBotApi,
    owners: dict[str, tuple[str, str]],
    person: Any,  # noqa: F811
) -> None:
    owner = person(owners["agent"])
    other = person(owners["other"])
    shipper = TelegramShipper(stack, browser_telegram, random.randint(10**9, 8 * 10**9))
    shipper.say("hello")
    cid = f"telegram:{shipper.chat_id}"
    # The shipper proved to hold the customer's account (as the bot's verification records it).
    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            conversation = session.get(Conversation, cid)
            assert conversation is not None
            conversation.verified_customer_id = CUSTOMER
    finally:
        engine.dispose()
    shipper.say("I want to talk to a real person", expect="person")

    # The owner's open queue shows it by itself, marked as their customer.
    row = owner.locator(f'tr[data-conversation="{cid}"]')
    expect(row).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    expect(row).to_have_attribute("data-your-customer", "true")
    expect(row).to_contain_text("Your customer")
    # The other agent's live queue is updated too: a shipper of no owned customer shows up there, the
    # owner's customer does not; nor after a reload.
    stranger = TelegramShipper(stack, browser_telegram, random.randint(10**9, 8 * 10**9))
    stranger.say("I want to talk to a real person", expect="person")
    expect(other.locator(f'tr[data-conversation="telegram:{stranger.chat_id}"]')).to_be_visible(
        timeout=REPLY_TIMEOUT_MS
    )
    expect(other.locator(f'tr[data-conversation="{cid}"]')).to_have_count(0)
    other.reload()
    expect(other.get_by_role("heading", name="Queue")).to_be_visible()
    expect(other.locator(f'tr[data-conversation="{cid}"]')).to_have_count(0)
