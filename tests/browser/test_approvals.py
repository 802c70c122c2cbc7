"""Compensation above the agent's limit in a real Chromium: a request that waits, a supervisor who decides.

The shipper is on Telegram (the fake Bot API records every message the product sends the chat); the
agent and the supervisor are real logins in their own browsers. Nothing of the request may reach the
shipper before the decision; the decision reaches them once; the survey only after resolution.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from backend.db import make_engine, make_session_factory
from tests.backend.factories import new_account
from tests.browser.conftest import REPLY_TIMEOUT_MS, watch_content_policy
from tests.e2e.conversation import Chat, Telegram
from tests.fakes.telegram_api import FakeBotApi
from tools.stack import Stack

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
SURVEY = "1 (not at all) to 5"


@pytest.fixture(scope="module")
def accounts(stack: Stack) -> dict[str, tuple[str, str]]:
    """An agent and a supervisor in the stack's database, with passwords only this test knows."""
    engine = make_engine(stack.database_url)
    try:
        factory = make_session_factory(engine)
        return {role: new_account(factory, role) for role in ("agent", "supervisor")}
    finally:
        engine.dispose()


@pytest.fixture
def log_in(browser: Browser, stack: Stack) -> Iterator[Any]:
    """Opens a desktop browser for a console user, logged in; fails on any script error of the page."""
    opened: list[tuple[Any, tuple[list[str], list[str]]]] = []

    def open_for(account: tuple[str, str]) -> Page:
        context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        errors_and_refusals = (errors, watch_content_policy(context))
        opened.append((context, errors_and_refusals))
        page.goto(stack.backend_url + "/console")
        page.get_by_label("Name").fill(account[0])
        page.get_by_label("Password").fill(account[1])
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Queue")).to_be_visible()
        return page

    yield open_for
    for context, (errors, refused) in opened:
        context.close()
        assert errors == [], "a console page threw"
        assert refused == [], "the Content-Security-Policy refused something the pages need"


def decisions_told(api: FakeBotApi, chat: Chat) -> list[str]:
    return [t for t in api.texts(chat.id) if "approved a compensation" in t or "could not approve" in t]


def test_800_by_an_agent_waits_for_the_supervisor_and_the_shipper_hears_the_decision_once(
    stack: Stack, browser_telegram: FakeBotApi, accounts: dict[str, tuple[str, str]], log_in: Any
) -> None:
    telegram = Telegram("webhook", browser_telegram, stack, stack.extra_env["TELEGRAM_WEBHOOK_SECRET"])
    chat = telegram.new_chat()
    cid = f"telegram:{chat.id}"
    chat.say("our shipment EA100000051CN to Chengdu has vanished, no updates for over a week")
    chat.say("we want compensation", expect="3,000.00")
    chat.say("yes that's right", expect="colleague")

    # The agent claims it and saves 800 CNY with status resolved.
    agent = log_in(accounts["agent"])
    row = agent.locator(f'tr[data-conversation="{cid}"]')
    expect(row).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    row.get_by_role("link").first.click()  # the ticket; the customer's link follows
    agent.get_by_role("button", name="Claim this conversation").click()
    mark = len(browser_telegram.sent(chat.id))
    form = agent.locator("form.ticket-form").first
    form.locator("select[name=ticket_status]").select_option("resolved")
    form.locator("textarea[name=resolution]").fill("Compensation of 800 CNY for the lost parcel.")
    form.locator("input[name=compensation_cny]").fill("800")
    form.locator("input[name=note]").fill("Invoice for the goods shows 800 CNY.")
    form.get_by_role("button", name="Save ticket").click()

    # Not resolved, the amount still shown, "waiting for approval" said; nothing reached the shipper.
    ticket_box = agent.locator("section.ticket").first
    expect(ticket_box.locator(".approval-state")).to_contain_text("Waiting for approval: 800.00 CNY")
    expect(agent.locator("input[name=compensation_cny]").first).to_have_value("800.00")
    [ticket] = [t for t in chat.tickets() if t["kind"] == "complaint"]
    number = ticket["number"]
    assert (
        ticket["status"] != "resolved"
        and ticket["agreed_resolution"] != "Compensation of 800 CNY for the lost parcel."
    )
    agent.locator("select[name=ticket_status]").first.select_option("resolved")
    agent.get_by_role("button", name="Save ticket").first.click()
    expect(agent.locator("section.ticket h2").first).not_to_contain_text("resolved")
    assert browser_telegram.wait_for_messages(chat.id, after=mark, timeout=3) == []

    # The supervisor's list shows amount, agent, ticket and reason.
    supervisor = log_in(accounts["supervisor"])
    supervisor.get_by_role("link", name="Approvals").click()
    waiting = supervisor.locator("#waiting-approvals tr", has_text=number)
    expect(waiting).to_contain_text("800.00 CNY")
    expect(waiting).to_contain_text(accounts["agent"][0])
    expect(waiting).to_contain_text("Invoice for the goods shows 800 CNY.")

    # The agent corrects the amount meanwhile: approving the 800 the page shows is refused (409).
    agent.locator("input[name=compensation_cny]").first.fill("850")
    agent.get_by_role("button", name="Save ticket").first.click()
    expect(agent.locator(".approval-state").first).to_contain_text("850.00 CNY")
    with supervisor.expect_response(re.compile(r"/console/api/approvals/\d+/approve")) as answer:
        waiting.get_by_role("button", name="Approve 800.00 CNY").click()
    assert answer.value.status == 409
    expect(waiting.locator(".decision-result")).to_contain_text("is now for 850.00 CNY")
    expect(waiting.get_by_role("button")).to_have_count(0)
    assert decisions_told(browser_telegram, chat) == []

    # Read again, approve 850: the page shows the decision, and the shipper hears it once.
    supervisor.reload()
    waiting = supervisor.locator("#waiting-approvals tr", has_text=number)
    with supervisor.expect_response(re.compile(r"/console/api/approvals/\d+/approve")) as answer:
        waiting.get_by_role("button", name="Approve 850.00 CNY").click()
    assert answer.value.status == 200
    expect(waiting.locator(".approval-state")).to_contain_text(f"Approved: 850.00 CNY for {number}")
    expect(waiting.get_by_role("button")).to_have_count(0)
    told = chat.wait(after=mark, expect="approved a compensation")
    assert [m["text"] for m in told if "approved" in m["text"]] == [
        f"Good news about your complaint {number}: we have approved a compensation of 850.00 CNY. "
        "A colleague will confirm the payment with you."
    ]
    assert not any(SURVEY in t for t in browser_telegram.texts(chat.id))

    # Now the agent can resolve it, and the survey follows; the decision was said once.
    agent.reload()
    expect(agent.locator(".approval-state").first).to_contain_text("Approved")
    mark = len(browser_telegram.sent(chat.id))
    agent.locator("select[name=ticket_status]").first.select_option("resolved")
    agent.get_by_role("button", name="Save ticket").first.click()
    chat.wait(after=mark, expect=SURVEY)
    assert len(decisions_told(browser_telegram, chat)) == 1
    [ticket] = [t for t in chat.tickets() if t["kind"] == "complaint"]
    assert ticket["status"] == "resolved"
