"""A Chinese agent's day in the console, in a real Chromium (zh-CN): no English word on any page they use.

A Chinese shipper on Telegram reports a lost shipment; the bot escalates it; the agent (a zh-CN
browser) claims it, answers, proposes 800 CNY (above their limit), and a Chinese supervisor approves
it; the shipper hears the agent's name and the decision in Chinese. Every page visited is scanned for
Latin words, as the bot's Chinese replies are: only waybills, ticket numbers and units may stay.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from backend.db import make_engine, make_session_factory, session_scope
from backend.models import Agent, Customer
from tests.browser.conftest import REPLY_TIMEOUT_MS, console_accounts
from tests.browser.test_console import DESKTOP, TelegramShipper
from tests.fakes.telegram_api import FakeBotApi
from tests.text_checks import latin_words
from tools.stack import Stack

pytestmark = pytest.mark.e2e

# The page's own words: what people wrote (the transcript, notes, the shipper's words, resolutions
# typed by agents), colleagues' names and what is marked as another language (the switch's "English",
# lang="en") are left out; everything else is the console speaking.
PAGE_WORDS = """(others) => {
  const page = document.body.cloneNode(true);
  if (others) page.querySelectorAll(others).forEach((element) => element.remove());
  page.querySelectorAll(
    "[data-own-words], .text, .button-chip, .note-text, .person, kbd, script, style, textarea, template, "
      + "[lang]:not([lang^=zh])"
  ).forEach((element) => element.remove());
  return page.textContent;
}"""


TYPED_WAYBILL = re.compile(r"(?<![A-Za-z])[A-Za-z]{2}[\s\d０-９-]*\d[\s\d０-９-]*[A-Za-z]{2}(?![A-Za-z])")


def names_in(stack: Stack) -> list[str]:
    """People's and customers' names and logins as stored: data, written as they were given (C004 and
    the other tests' colleagues have English names), not words of the console."""
    engine = make_engine(stack.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            agents = session.query(Agent).all()
            names = [a.username for a in agents] + [a.display_name for a in agents if a.display_name]
            names += [c.name for c in session.query(Customer).all()]
    finally:
        engine.dispose()
    return sorted(names, key=len, reverse=True)


def english_on(page: Page, stack: Stack, others: str = "") -> list[str]:
    """Latin words the page says (its title included), other than waybills, ticket numbers, units and
    names; `others` selects rows of other tests' data to leave out."""
    text = page.title() + " " + str(page.evaluate(PAGE_WORDS, others))
    for name in names_in(stack):
        text = text.replace(name, " ")
    # Waybills as shippers typed them (spaced, full-width digits) are data too.
    return latin_words(TYPED_WAYBILL.sub(" ", text))


@pytest.fixture(scope="module")
def chinese_people(stack: Stack) -> dict[str, tuple[str, str]]:
    """A Chinese agent and supervisor who chose Chinese for the console."""
    return console_accounts(stack, {"agent": "李伟", "supervisor": "王主管"}, prefix="zh-", language="zh")


@pytest.fixture
def chinese_browser(browser: Browser, stack: Stack) -> Iterator[Any]:
    contexts = []

    def log_in(account: tuple[str, str]) -> Page:
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN")  # type: ignore[arg-type]
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(stack.backend_url + "/console/login")
        assert not english_on(page, stack), english_on(page, stack)
        page.locator("#username").fill(account[0])
        page.locator("#password").fill(account[1])
        page.locator("form button[type=submit]").first.click()
        expect(page.locator("h1").first).to_contain_text("待办")
        return page

    yield log_in
    for context in contexts:
        context.close()


def test_a_chinese_agent_works_a_chinese_complaint_with_no_english_on_the_page(
    stack: Stack,
    browser_telegram: FakeBotApi,
    chinese_people: dict[str, tuple[str, str]],
    chinese_browser: Any,
) -> None:
    agent = chinese_browser(chinese_people["agent"])
    assert not english_on(agent, stack), english_on(agent, stack)
    shipper = TelegramShipper(stack, browser_telegram, random.randint(10**9, 8 * 10**9))
    cid = f"telegram:{shipper.chat_id}"

    # A lost shipment of 3,000 CNY: a serious complaint, handed to a person.
    shipper.say("我们发往成都的EA100000051CN一个多星期都没有任何更新了，是不是丢了？")
    shipper.say("我们要求赔偿", expect="3,000.00")
    shipper.say("对，没错", expect="同事")

    row = agent.locator(f'tr[data-conversation="{cid}"]')
    expect(row).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    assert not english_on(agent, stack), english_on(agent, stack)

    row.get_by_role("link").first.click()
    agent.locator("form[action$='/claim'] button[type=submit]").click()
    expect(agent.locator("#reply-text")).to_be_visible()
    assert not english_on(agent, stack), english_on(agent, stack)

    # The agent's answer reaches the shipper with the agent's name.
    mark = len(browser_telegram.sent(shipper.chat_id))
    agent.locator("#reply-text").fill("您好，我是李伟，正在为您追查这票快递。")
    agent.locator("#reply-form button[type=submit]").click()
    answer = shipper.received("正在为您追查", after=mark)
    assert "李伟" in answer["text"]

    # 800 CNY is above the agent's limit: the ticket waits for a supervisor, nothing is promised.
    mark = len(browser_telegram.sent(shipper.chat_id))
    ticket_form = agent.locator("form:has(select[name=ticket_status])").first
    ticket_form.locator("select[name=ticket_status]").select_option("resolved")
    ticket_form.locator("input[name=compensation_cny]").fill("800")
    ticket_form.locator("textarea[name=resolution]").fill("赔偿800元")
    ticket_form.locator("button[type=submit]").click()
    expect(agent.locator(".approval").first).to_be_visible()
    assert not english_on(agent, stack), english_on(agent, stack)
    assert browser_telegram.wait_for_messages(shipper.chat_id, after=mark, timeout=2) == []

    # The Chinese supervisor sees the request, with its amount, and approves it.
    supervisor = chinese_browser(chinese_people["supervisor"])
    supervisor.goto(stack.backend_url + "/console/approvals")
    [number] = [t["number"] for t in shipper.tickets() if t["kind"] == "complaint"]
    waiting = supervisor.locator("#waiting-approvals tr[data-request]", has_text=number)
    expect(waiting).to_be_visible()
    # The list also holds other tests' requests, made by colleagues with English names: only ours counts.
    ours = f'tr[data-request]:not([data-request="{waiting.get_attribute("data-request")}"])'
    assert not english_on(supervisor, stack, ours), english_on(supervisor, stack, ours)
    waiting.locator("form[action$='/approve'] button[type=submit]").click()
    decided = shipper.received("800.00", after=mark)
    assert not latin_words(decided["text"]), decided["text"]

    supervisor.goto(stack.backend_url + "/console/reports")
    expect(supervisor.locator("#chart-category")).to_be_visible()
    assert not english_on(supervisor, stack), english_on(supervisor, stack)
