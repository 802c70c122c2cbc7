"""The conversation page in Chromium: shortcuts, the "?" help, a canned reply by its code, a note in place.

A Chinese agent (zh-CN browser) claims a waiting web conversation with Alt+C, inserts a shared canned
reply by typing its short code and Tab (the server fills the waybill and ticket), sends it with
Ctrl+Enter, and saves an internal note that shows "saved" and appears in the timeline without a reload.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from backend.channels.web.wire import SESSION_HEADER
from backend.db import make_engine, make_session_factory, session_scope
from backend.security.accounts import create_agent
from backend.services import canned_replies as canned
from backend.services import conversations as conv
from backend.services.agent_work import AgentView
from backend.services.conversations import list_messages
from tests.backend.factories import a_ticket, queued_complaint
from tests.fakes.images import png_bytes
from tools.stack import Stack

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def chinese_agent(browser: Browser, stack: Stack) -> Iterator[tuple[Page, str, str, str]]:
    """A logged-in Chinese agent, a queued complaint and a shared canned reply: (page, cid, number, code)."""
    name, password = f"agent-{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    code = f"hi{secrets.token_hex(2)}"
    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            create_agent(session, username=name, password=password, role="agent", display_name="李伟")
            cid, number = queued_complaint(session)
            canned.create_reply(
                session,
                AgentView(username="lead", role="supervisor"),
                canned.Draft("问候", code, "zh", "您好，运单 {waybill}（工单 {ticket}）由{agent}为您处理。"),
                shared=True,
            )
    finally:
        engine.dispose()
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(stack.backend_url + "/console/login")
    page.locator("input[name=username]").fill(name)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/console$"))
    yield page, cid, number, code
    context.close()


def test_shortcuts_canned_reply_and_note_on_the_conversation_page(
    stack: Stack, chinese_agent: tuple[Page, str, str, str]
) -> None:
    page, cid, number, code = chinese_agent
    page.goto(f"{stack.backend_url}/console/conversations/{cid}")
    expect(page).to_have_title(re.compile(re.escape(number)))
    # The first-response countdown, in Chinese, counted by the page.
    countdown = page.locator(".countdown .countdown-text")
    expect(countdown).to_have_text(re.compile(r"^(剩余|已超时)(\d+小时)?\d+分钟$"))

    # "?" shows the shortcuts, Esc closes them.
    overlay = page.locator("#shortcuts")
    expect(overlay).to_be_hidden()
    page.keyboard.press("?")
    expect(overlay).to_be_visible()
    expect(overlay).to_contain_text("发送回复")
    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()

    # Alt+C claims; "/code" + Tab inserts the canned reply, filled by the server; Ctrl+Enter sends it.
    page.keyboard.press("Alt+KeyC")
    box = page.locator("#reply-text")
    expect(box).to_be_visible()
    box.click()
    box.type(f"/{code}")
    box.press("Tab")
    filled = f"您好，运单 EA100000034CN（工单 {number}）由李伟为您处理。"
    expect(box).to_have_value(filled)
    box.press("Control+Enter")
    expect(page.locator("#transcript .line.agent").last).to_contain_text(filled)

    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            sent = [m for m in list_messages(session, conversation_id=cid) if m.sender == "agent"]
            assert [(m.text, m.author) for m in sent] == [(filled, "李伟")]  # what the shipper's channel gets
    finally:
        engine.dispose()

    # A note: "saved" in place, and in the timeline at once, marked internal.
    page.locator("#note-text").fill("已致电武汉转运中心")
    page.locator("#note-form button[type=submit]").click()
    expect(page.locator("#note-status")).to_have_text("备注已保存。")
    expect(page.locator("#transcript .line.note")).to_contain_text("已致电武汉转运中心")
    expect(page).to_have_url(re.compile(re.escape(cid.split(":")[1]) + "$"))  # no reload, no ?saved


def test_a_photo_sent_while_the_agent_watches_joins_the_photos_panel(
    stack: Stack, chinese_agent: tuple[Page, str, str, str]
) -> None:
    page = chinese_agent[0]
    # A shipper on the widget, waiting for a person with a complaint ticket open.
    opened = httpx.post(f"{stack.backend_url}/widget/session", json={}, timeout=10).json()
    cid, token = opened["conversation_id"], opened["session"]
    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            conv.record_message(
                session, conversation_id=cid, direction="in", sender="shipper", text="箱子破了"
            )
            a_ticket(
                session, conversation_id=cid, status="escalated", category="damage", waybill="EA100000034CN"
            )
            conv.mark_for_agent(session, conversation_id=cid, reason="damage")
    finally:
        engine.dispose()
    page.goto(f"{stack.backend_url}/console/conversations/{cid}")
    panel = page.locator("#photos-panel")
    expect(panel).to_be_hidden()
    # The live stream is open before the shipper sends the photo.
    page.wait_for_function(
        "() => { const d = document.querySelector('[sse-connect]')['htmx-internal-data'];"
        " return d && d.sseEventSource && d.sseEventSource.readyState === 1; }"
    )
    sent = httpx.post(
        f"{stack.backend_url}/widget/upload",
        headers={SESSION_HEADER: token},
        files={"file": ("crack.png", png_bytes(), "image/png")},
        timeout=10,
    )
    assert sent.status_code == 200, sent.text
    expect(page.locator("#transcript img")).to_have_count(1)
    expect(panel).to_be_visible()
    expect(page.locator("#photos a.photo")).to_have_count(1)
