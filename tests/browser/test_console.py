"""The agent console in a real headless Chromium against the real product, with a shipper on Telegram.

The shipper is played through the fake Bot API (webhook updates in, sendMessage calls out); the agent
and the supervisor are real logins in the browser. One journey follows a complaint from the bot's
escalation to the follow-up's answer on the ticket and the monthly report, as DOMAIN.md describes it.
"""

from __future__ import annotations

import os
import random
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from backend.channels.telegram import SECRET_HEADER, WEBHOOK_PATH
from backend.db import make_engine, make_session_factory, session_scope
from backend.models import CompensationRequest
from backend.services.tickets import open_ticket
from tests.browser.conftest import PHONE, REPLY_TIMEOUT_MS, Shipper, console_accounts, watch_content_policy
from tests.fakes.telegram_api import FakeBotApi, callback_update, text_update
from tools.stack import Stack

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
# Set to a folder to keep screenshots of the queue, a conversation and the report (for the README).
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


def snapshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"console-{name}.png"), full_page=False)


@dataclass
class TelegramShipper:
    """A shipper in a private Telegram chat with the bot."""

    stack: Stack
    api: FakeBotApi
    chat_id: int

    def push(self, update: dict[str, Any]) -> None:
        response = httpx.post(
            self.stack.backend_url + WEBHOOK_PATH,
            json=update,
            headers={SECRET_HEADER: self.stack.extra_env["TELEGRAM_WEBHOOK_SECRET"]},
            timeout=10,
        )
        assert response.status_code == 200, response.text

    def say(self, text: str, *, expect: str | None = None) -> list[dict[str, Any]]:
        """Send a text; the bot's answers, which must contain `expect` when it is given."""
        mark = len(self.api.sent(self.chat_id))
        self.push(text_update(self.chat_id, text))
        answers = self.api.wait_for_messages(self.chat_id, after=mark, expect=expect)
        said = " ".join(str(m.get("text", "")) for m in answers).lower()
        assert expect is None or expect.lower() in said, f"after {text!r} expected {expect!r} in {said!r}"
        return answers

    def received(self, words: str, *, after: int = 0) -> dict[str, Any]:
        """The first message to this chat (after the first `after`) containing `words`; waits for it."""
        messages = self.api.wait_for_messages(self.chat_id, after=after, expect=words)
        found = [m for m in messages if words.lower() in str(m.get("text", "")).lower()]
        assert found, f"no message with {words!r} in {[m.get('text') for m in messages]}"
        return found[0]

    def tickets(self) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.stack.backend_url}/api/tickets",
            params={"conversation_id": f"telegram:{self.chat_id}"},
            headers={"Authorization": f"Bearer {self.stack.api_token}"},
            timeout=10,
        )
        return list(response.json()["tickets"])


@pytest.fixture(scope="module")
def accounts(stack: Stack) -> dict[str, tuple[str, str]]:
    """An agent and a supervisor in the stack's database, with passwords only this test knows."""
    return console_accounts(stack, {"agent": "Agent", "supervisor": "Supervisor"})


@pytest.fixture
def person(browser: Browser, stack: Stack) -> Iterator[Any]:
    """Opens a desktop browser for a console user and logs them in."""
    contexts = []
    watched: list[list[str]] = []

    def log_in(account: tuple[str, str]) -> Page:
        context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        context.set_default_timeout(15_000)
        contexts.append(context)
        watched.append(watch_content_policy(context))
        page = context.new_page()
        page.goto(stack.backend_url + "/console")
        expect(page).to_have_url(re.compile(r"/console/login"))
        page.get_by_label("Name").fill(account[0])
        page.get_by_label("Password").fill(account[1])
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Queue")).to_be_visible()
        return page

    yield log_in
    for context in contexts:
        context.close()
    refused = [text for texts in watched for text in texts]
    assert refused == [], "the Content-Security-Policy refused something the console needs"


def test_an_escalated_telegram_complaint_is_taken_over_answered_resolved_and_reported(
    stack: Stack, browser_telegram: FakeBotApi, accounts: dict[str, tuple[str, str]], person: Any
) -> None:
    agent = person(accounts["agent"])
    shipper = TelegramShipper(stack, browser_telegram, random.randint(10**9, 8 * 10**9))
    cid = f"telegram:{shipper.chat_id}"

    # The bot escalates a lost high-value parcel; the row appears in the open queue without a reload.
    shipper.say("our shipment EA100000051CN to Chengdu has vanished, no updates for over a week")
    shipper.say("we want compensation", expect="3,000.00")
    shipper.say("yes that's right", expect="colleague")
    row = agent.locator(f'tr[data-conversation="{cid}"]')
    expect(row).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    expect(row).to_contain_text("P1")
    snapshot(agent, "queue")

    # Claim, and reply: the text reaches the shipper's Telegram chat.
    row.get_by_role("link").first.click()  # the ticket; the customer's link follows
    agent.get_by_role("button", name="Claim this conversation").click()
    mark = len(browser_telegram.sent(shipper.chat_id))
    agent.get_by_label("Reply to the shipper").fill("Hello, this is Alice. I'm tracing EA100000051CN now.")
    agent.get_by_role("button", name="Send to shipper").click()
    assert "tracing EA100000051CN" in shipper.received("this is Alice", after=mark)["text"]
    expect(agent.locator("#transcript")).to_contain_text("this is Alice")
    snapshot(agent, "conversation")

    # While the agent has it, the shipper's words reach the console, not the bot.
    mark = len(browser_telegram.sent(shipper.chat_id))
    shipper.push(text_update(shipper.chat_id, "/restart where is it??"))
    expect(agent.locator("#transcript")).to_contain_text("/restart where is it??", timeout=REPLY_TIMEOUT_MS)
    assert browser_telegram.wait_for_messages(shipper.chat_id, after=mark, timeout=3) == []

    # Hand back: the bot says it is back and answers the next question itself.
    agent.get_by_role("button", name="Hand back to bot").click()
    shipper.received("handed you back", after=mark)
    shipper.say("where is EA100000025CN", expect="Changsha")

    # Resolve the ticket: the follow-up asks once for a rating, on Telegram, with buttons.
    mark = len(browser_telegram.sent(shipper.chat_id))
    agent.locator("select[name=ticket_status]").first.select_option("resolved")
    agent.locator("textarea[name=resolution]").first.fill(
        "Found at Guiyang and delivered; 3,000 CNY refunded."
    )
    agent.get_by_role("button", name="Save ticket").first.click()
    question = shipper.received("1 (not at all) to 5", after=mark)
    keyboard = question["reply_markup"]["inline_keyboard"]
    five = next(b for row in keyboard for b in row if b["text"] == "5")
    mark = len(browser_telegram.sent(shipper.chat_id))
    shipper.push(callback_update(shipper.chat_id, five["callback_data"]))
    shipper.received("do better", after=mark)
    shipper.say("Faster updates next time please", expect="Thank you for your feedback")
    [ticket] = [t for t in shipper.tickets() if t["kind"] == "complaint"]
    assert ticket["status"] == "resolved" and ticket["satisfaction"] == 5
    assert ticket["satisfaction_comment"] == "Faster updates next time please"

    # The supervisor's monthly report counts it; its CSV downloads.
    supervisor = person(accounts["supervisor"])
    supervisor.goto(stack.backend_url + "/console/reports")
    expect(supervisor.locator("#table-satisfaction")).to_contain_text("5")
    expect(supervisor.locator("#table-category")).to_contain_text("Lost or missing goods")
    assert supervisor.locator("#chart-category").is_visible()
    snapshot(supervisor, "report")
    with supervisor.expect_download() as download:
        supervisor.get_by_role("link", name="Download all as CSV").click()
    csv = download.value.path().read_text(encoding="utf-8-sig")  # the BOM is for Excel, not a header
    assert csv.startswith("Month,Table,Label,Value,Unit")
    assert '"Satisfaction (follow-up answers, 1 to 5)",5,1,' in csv


def test_an_agent_reply_reaches_a_widget_conversation(
    stack: Stack, accounts: dict[str, tuple[str, str]], person: Any, shipper: Shipper
) -> None:
    shipper.visit()
    shipper.open_chat()
    shipper.send("I want to talk to a real person")
    shipper.reply_containing("passing you to a person")
    resumed = httpx.post(f"{stack.backend_url}/widget/session", json={"session": shipper.token()}, timeout=10)
    cid = resumed.json()["conversation_id"]
    agent = person(accounts["agent"])
    row = agent.locator(f'tr[data-conversation="{cid}"]')
    expect(row).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    row.get_by_role("link").first.click()  # the ticket; the customer's link follows
    agent.get_by_role("button", name="Claim this conversation").click()
    agent.get_by_label("Reply to the shipper").fill("Hi, Bob here from customer service. How can I help?")
    agent.get_by_role("button", name="Send to shipper").click()
    # The agent's words arrive in the open widget by themselves, marked as a person's.
    bubble = shipper.bubbles("agent").filter(has_text="Bob here from customer service").last
    expect(bubble).to_be_visible(timeout=REPLY_TIMEOUT_MS)


# Stand-ins for the browser's sound and desktop notifications that count what the page asked of them.
# The notification permission lives in sessionStorage, so that it survives a reload like the real one.
ALERT_FAKES = """
window.__beeps = 0; window.__notes = []; window.__asked = 0;
class FakeAudio {
  constructor() { this.state = "running"; this.currentTime = 0; this.destination = {}; }
  resume() {}
  createGain() {
    const ramp = { setValueAtTime() {}, exponentialRampToValueAtTime() {} };
    return { gain: ramp, connect: (next) => next };
  }
  createOscillator() {
    return { type: "", frequency: {}, connect: (next) => next, start() { window.__beeps += 1; }, stop() {} };
  }
}
window.AudioContext = FakeAudio;
class FakeNotification {
  constructor(title, options) { window.__notes.push({ title, body: options.body }); }
  static get permission() { return sessionStorage.getItem("fake-permission") || "default"; }
  static requestPermission() {
    window.__asked += 1;
    sessionStorage.setItem("fake-permission", "granted");
    return Promise.resolve("granted");
  }
  close() {}
}
window.Notification = FakeNotification;
"""
QUEUE_TITLE = "Queue · Customer service console"


def _asks_for_a_person(stack: Stack, api: FakeBotApi) -> str:
    shipper = TelegramShipper(stack, api, random.randint(10**9, 8 * 10**9))
    shipper.say("I want to talk to a real person", expect="person")
    return f"telegram:{shipper.chat_id}"


def test_new_conversations_sound_notify_and_count_in_the_title_until_muted(
    stack: Stack, browser_telegram: FakeBotApi, accounts: dict[str, tuple[str, str]], person: Any
) -> None:
    agent = person(accounts["agent"])
    agent.context.add_init_script(ALERT_FAKES)
    agent.reload()
    waiting = agent.locator('tr.queue-row[data-state="queued"]')
    before = waiting.count()
    expect(agent).to_have_title(f"({before}) {QUEUE_TITLE}" if before else QUEUE_TITLE)
    # Permission for desktop notifications is asked on a click, never on load.
    assert agent.evaluate("window.__asked") == 0
    agent.get_by_role("button", name="Turn on desktop notifications").click()
    expect(agent.get_by_role("button", name="Turn on desktop notifications")).to_be_hidden()
    assert agent.evaluate("window.__asked") == 1

    # A new conversation: its row, a sound, a notification, and the title counts it.
    first = _asks_for_a_person(stack, browser_telegram)
    expect(agent.locator(f'tr[data-conversation="{first}"]')).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    expect(agent).to_have_title(f"({before + 1}) {QUEUE_TITLE}")
    assert agent.evaluate("window.__beeps") == 1
    notes = agent.evaluate("window.__notes")
    assert len(notes) == 1 and notes[0]["title"] == "A new conversation is waiting"
    assert notes[0]["body"] == f"{before + 1} waiting for a person"

    # Muted: the title stops counting at once, and stays muted after a reload (localStorage).
    agent.get_by_role("button", name="Alerts on").click()
    expect(agent.get_by_role("button", name="Alerts muted")).to_have_attribute("aria-pressed", "true")
    expect(agent).to_have_title(QUEUE_TITLE)
    agent.reload()
    expect(agent.get_by_role("button", name="Alerts muted")).to_be_visible()
    expect(agent).to_have_title(QUEUE_TITLE)
    second = _asks_for_a_person(stack, browser_telegram)
    expect(agent.locator(f'tr[data-conversation="{second}"]')).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    expect(agent).to_have_title(QUEUE_TITLE)
    assert agent.evaluate("window.__beeps") == 0 and agent.evaluate("window.__notes") == []

    # Back on: the count returns (both conversations wait).
    agent.get_by_role("button", name="Alerts muted").click()
    expect(agent).to_have_title(f"({waiting.count()}) {QUEUE_TITLE}")
    assert waiting.count() >= before + 2


# Every element that shows, with its box: those reaching past the viewport's sides are cut off. A box
# that scrolls by itself (the report's trend table) may hold wider content; the box itself may not.
CUT_OFF = """(scrolling) => {
  const width = document.documentElement.clientWidth;
  const cut = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === "hidden") continue;
    if (scrolling && el.parentElement.closest(scrolling)) continue;
    if (box.left < -1 || box.right > width + 1) {
      const name = `${el.tagName.toLowerCase()}.${el.className}`;
      cut.push(`${name} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return { width, scrollWidth: document.documentElement.scrollWidth, cut };
}"""


def _waiting_request(stack: Stack, supervisor_name: str) -> str:
    """A compensation request waiting for a supervisor, on a ticket of a queued conversation."""
    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            ticket = open_ticket(
                session,
                idempotency_key=f"phone:{secrets.token_hex(4)}",
                conversation_id=f"web:{secrets.token_hex(8)}",
                kind="complaint",
                status="assigned",
                actor="bot",
                category="damage",
                priority="P2",
                waybill="EA100000034CN",
            )
            session.add(
                CompensationRequest(
                    ticket_id=ticket.id,
                    amount_cny=800,
                    reason="The invoice for the coffee machine shows 800 CNY; its casing is cracked.",
                    requested_by="agent:someone-with-a-rather-long-username",
                )
            )
            return ticket.number
    finally:
        engine.dispose()


def test_at_390_px_the_queue_approvals_and_report_are_not_cut_off(
    stack: Stack, browser_telegram: FakeBotApi, browser: Browser, accounts: dict[str, tuple[str, str]]
) -> None:
    waiting = _asks_for_a_person(stack, browser_telegram)
    number = _waiting_request(stack, accounts["supervisor"][0])
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(stack.backend_url + "/console")
        page.get_by_label("用户名").fill(accounts["supervisor"][0])
        page.get_by_label("密码").fill(accounts["supervisor"][1])
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name="待办队列")).to_be_visible()
        row = page.locator(f'tr[data-conversation="{waiting}"]')
        expect(row).to_be_visible()
        for path, scrolling, shown in (
            ("/console", None, row),
            ("/console/approvals", None, page.locator("#waiting-approvals tr", has_text=number)),
            ("/console/reports", ".trend-wrap", page.locator("#table-category")),
        ):
            page.goto(stack.backend_url + path)
            expect(shown).to_be_visible()
            layout = page.evaluate(CUT_OFF, scrolling)
            assert layout["scrollWidth"] <= layout["width"] == PHONE["width"], (path, layout)
            assert layout["cut"] == [], (path, layout["cut"])
        # The queue's row is a card: every cell under the other, each labelled by its column.
        page.goto(stack.backend_url + "/console")
        cells = row.locator("td")
        lefts = {
            round(box["x"]) for box in (cells.nth(i).bounding_box() for i in range(cells.count())) if box
        }
        assert len(lefts) == 1, lefts
        label = page.evaluate(
            "(cell) => getComputedStyle(cell, '::before').content", row.locator("td").first.element_handle()
        )
        assert "优先级" in label
        snapshot(page, "queue-phone")
    finally:
        context.close()
