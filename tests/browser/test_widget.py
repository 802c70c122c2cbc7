"""The web widget as a shipper uses it on a phone (390x844), against the real bot.

Covers: the launcher and the message box, a typed question and the bot's answer with a typing indicator
in between, the bot's buttons, text that is never rendered as HTML, a photo upload (and a file that is no
photo), reload and a new tab keeping the history, and a forged conversation id being refused.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PLACEHOLDER, REPLY_TIMEOUT_MS, Shipper
from tests.fakes.images import png_bytes
from tests.text_checks import latin_words

pytestmark = pytest.mark.e2e

# Set to a path (docs/widget-phone.png) to keep the phone screenshot for the README.
SCREENSHOT_ENV = "WIDGET_SCREENSHOT"


def forge(token: str) -> str:
    """The same token with its signature altered.

    The signature's first character, not its last: the last base64 character carries padding bits, so
    some changes to it decode to the very same signature.
    """
    head, _, signature = token.rpartition(".")
    return f"{head}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


def test_a_conversation_on_a_phone(shipper: Shipper, tmp_path: Path) -> None:
    shipper.visit()
    expect(shipper.launcher).to_have_accessible_name(re.compile("Chat"))
    expect(shipper.message_box).to_be_hidden()  # the widget starts closed
    shipper.open_chat()
    expect(shipper.page.get_by_placeholder(PLACEHOLDER)).to_be_visible()

    shipper.watch_typing()
    shipper.send("where is EA100000025CN")
    answer = shipper.reply_containing("EA100000025CN")
    expect(answer).to_contain_text("Nanning")
    expect(answer).to_contain_text("Shanghai")
    expect(answer).to_contain_text("Changsha hub")
    assert shipper.typing_was_seen(), "no typing indicator while the bot worked"
    expect(shipper.page.locator(".deep-chat-loading-message-bubble")).to_have_count(0)
    shipper.send("where is EA100000034CN")
    shipper.reply_containing("Wuhan hub")
    expect(shipper.page.get_by_role("button", name="Yes, please")).to_be_visible(timeout=REPLY_TIMEOUT_MS)

    # The open chat fills the phone's screen, and nothing scrolls sideways.
    panel = shipper.page.get_by_role("dialog", name=re.compile("Chat with"))
    assert panel.bounding_box() == {"x": 0, "y": 0, "width": 390, "height": 844}
    assert shipper.page.evaluate("() => document.documentElement.scrollWidth") <= 390
    box = shipper.message_box.bounding_box()
    assert (
        box is not None
        and box["x"] >= 0
        and box["x"] + box["width"] <= 390
        and box["y"] + box["height"] <= 844
    )
    for bubble in shipper.page.locator(".message-bubble").all():
        edge = bubble.bounding_box()
        assert edge is not None and edge["x"] >= 0 and edge["x"] + edge["width"] <= 390

    screenshot = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path / "widget-phone.png")
    shipper.page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 0

    shipper.page.get_by_role("button", name="Close chat").click()
    expect(shipper.message_box).to_be_hidden()
    expect(shipper.launcher).to_be_visible()


def test_the_tracking_box_asks_the_chat(shipper: Shipper) -> None:
    shipper.visit()
    shipper.page.get_by_label("Track a shipment").fill("ea100000025cn")
    shipper.page.get_by_role("button", name="Track", exact=True).click()
    expect(shipper.bubbles("user").last).to_have_text("where is EA100000025CN")
    shipper.reply_containing("Changsha hub")


def test_bot_buttons_are_clickable(shipper: Shipper) -> None:
    shipper.visit()
    shipper.open_chat()
    shipper.send("where is EA100000034CN")
    expect(shipper.reply_containing("Wuhan hub")).to_contain_text("2 days late")
    shipper.reply_containing("register a complaint")
    yes = shipper.page.get_by_role("button", name="Yes, please")
    no = shipper.page.get_by_role("button", name="No, thanks")
    expect(yes).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    expect(no).to_be_enabled()
    answers_before = shipper.bubbles("ai").count()

    no.click()

    # The pressed title shows as the shipper's own message, the choice is settled, the bot goes on.
    expect(shipper.bubbles("user").last).to_have_text("No, thanks")
    expect(yes).to_be_disabled()
    expect(no).to_be_disabled()
    expect(shipper.bubbles("ai")).not_to_have_count(answers_before, timeout=REPLY_TIMEOUT_MS)
    assert shipper.bubbles("ai").count() > answers_before


def test_shipper_text_is_shown_as_text_never_as_html(shipper: Shipper) -> None:
    shipper.visit()
    shipper.open_chat()
    hostile = (
        '<img src=x onerror="window.__pwned=1"><b>bold</b> [tap me](javascript:window.__pwned=2) **loud**'
    )
    shipper.send(hostile)
    mine = shipper.bubbles("user").last
    expect(mine).to_have_text(hostile)
    assert mine.locator("img, b, a, strong").count() == 0
    expect(shipper.bubbles("ai").last).not_to_contain_text("Hello! I can track", timeout=REPLY_TIMEOUT_MS)
    assert shipper.page.evaluate("() => window.__pwned") is None


def test_a_photo_is_uploaded_from_the_widget(shipper: Shipper, tmp_path: Path) -> None:
    photo = tmp_path / "parcel.png"
    photo.write_bytes(png_bytes())
    shipper.visit()
    shipper.open_chat()
    answers_before = shipper.bubbles("ai").count()

    with shipper.page.expect_file_chooser() as chooser:
        shipper.page.get_by_role("button", name="Send a photo").click()
    chooser.value.set_files(str(photo))
    shipper.page.get_by_role("button", name="Send", exact=True).click()

    expect(shipper.page.locator(".message-bubble.user-message img")).to_be_visible()
    # The bot's answer takes the place of the typing dots shown during the upload: nothing empty stays.
    spoken = shipper.bubbles("ai").filter(has_text=re.compile(r"\w"))
    expect(spoken).to_have_count(answers_before + 1, timeout=REPLY_TIMEOUT_MS)
    expect(shipper.page.locator(".deep-chat-loading-message-bubble")).to_have_count(0)
    assert all(text.strip() for text in shipper.bubbles("ai").all_inner_texts()), "an empty bubble is left"
    # The hub stores the shipper's message before it asks the bot, so the answer means it is stored.
    history = shipper.fetch("/widget/history", shipper.token())
    assert history["status"] == 200
    [sent] = [m for m in history["body"]["messages"] if m["role"] == "user"]
    assert [a["content_type"] for a in sent["attachments"]] == ["image/png"]


def test_a_file_that_is_not_a_photo_is_refused_politely(shipper: Shipper, tmp_path: Path) -> None:
    fake = tmp_path / "invoice.png"  # named like a photo; the backend reads the content
    fake.write_text("this is a text file, not a picture")
    shipper.visit()
    shipper.open_chat()
    with shipper.page.expect_file_chooser() as chooser:
        shipper.page.get_by_role("button", name="Send a photo").click()
    chooser.value.set_files(str(fake))
    shipper.page.get_by_role("button", name="Send", exact=True).click()
    expect(shipper.bubbles("system").last).to_contain_text("I can only take photos", timeout=REPLY_TIMEOUT_MS)
    history = shipper.fetch("/widget/history", shipper.token())
    assert history["body"]["messages"] == []


def test_reload_and_a_new_tab_keep_the_history(shipper: Shipper) -> None:
    shipper.visit()
    shipper.open_chat()
    shipper.send("where is EA100000025CN")
    shipper.reply_containing("Changsha hub")
    texts_before = shipper.page.locator(".message-bubble").all_inner_texts()

    shipper.page.reload()
    # The chat was open: it opens again, with the same messages, each once.
    expect(shipper.message_box).to_be_visible()
    shipper.wait_connected()
    expect(shipper.page.locator(".message-bubble")).to_have_count(len(texts_before))
    assert shipper.page.locator(".message-bubble").all_inner_texts() == texts_before

    # And the conversation carries on over the new connection.
    shipper.send("where is EA100000034CN")
    shipper.reply_containing("Wuhan hub")

    second_tab = shipper.context.new_page()
    second_tab.goto(shipper.stack.backend_url + "/")
    tab = Shipper(stack=shipper.stack, context=shipper.context, page=second_tab)
    tab.open_chat()
    expect(tab.bubbles("user").filter(has_text="where is EA100000025CN")).to_have_count(1)
    expect(tab.bubbles("ai").filter(has_text="Wuhan hub")).to_have_count(1)


def test_messages_that_arrive_while_the_chat_is_closed_show_on_the_launcher(shipper: Shipper) -> None:
    shipper.visit()
    shipper.open_chat()
    shipper.send("where is EA100000025CN")
    shipper.reply_containing("Changsha hub")
    # Another tab of the same shipper, chat closed: it connects in the background and hears everything.
    other = Shipper(stack=shipper.stack, context=shipper.context, page=shipper.context.new_page())
    other.visit()
    expect(other.page.locator("#carrier-chat-widget")).to_have_attribute("data-connection", "open")
    expect(other.launcher).to_have_accessible_name(re.compile(r"^Chat with Nanning Express$"))

    shipper.send("where is EA100000034CN")
    shipper.reply_containing("Wuhan hub")

    expect(other.launcher).to_have_accessible_name(re.compile(r"Chat.*new message"), timeout=REPLY_TIMEOUT_MS)
    other.open_chat()
    expect(other.bubbles("user").filter(has_text="where is EA100000034CN")).to_have_count(1)
    expect(other.bubbles("ai").filter(has_text="Wuhan hub")).to_have_count(1)
    # Read: the count is gone (the launcher itself is behind the full-screen chat on a phone).
    expect(other.page.locator("button.launcher")).to_have_attribute("aria-label", "Chat with Nanning Express")


def test_a_forged_conversation_id_is_refused(new_shipper: Any) -> None:
    victim: Shipper = new_shipper()
    victim.visit()
    victim.open_chat()
    victim.send("my parcel EA100000025CN, I live at 12 Secret Road")
    victim.reply_containing("EA100000025CN")
    token = victim.token()
    session = victim.page.evaluate(
        """async ([url, token]) => (await fetch(url, {
            method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({session: token}),
        })).json()""",
        [victim.stack.backend_url + "/widget/session", token],
    )
    conversation_id = session["conversation_id"]

    attacker: Shipper = new_shipper()
    attacker.visit()
    for forged in (forge(token), conversation_id, f"web:{uuid.uuid4()}"):
        refused = attacker.fetch("/widget/history", forged)
        assert refused["status"] == 401, forged
    close_code = attacker.page.evaluate(
        """([url, token]) => new Promise((resolve) => {
            const socket = new WebSocket(url);
            socket.onopen = () => socket.send(JSON.stringify({type: 'hello', session: token, after: 0}));
            socket.onclose = (event) => resolve(event.code);
        })""",
        [attacker.stack.backend_url.replace("http", "ws", 1) + "/widget/ws", forge(token)],
    )
    assert close_code == 4401

    # A widget given the forged token starts a conversation of its own and shows none of the victim's.
    attacker.page.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [f"carrier-chat:{attacker.stack.backend_url}", forge(token)],
    )
    attacker.page.reload()
    attacker.open_chat()
    expect(attacker.page.get_by_text("Secret Road")).to_have_count(0)
    assert attacker.token() != forge(token)
    mine = attacker.fetch("/widget/history", attacker.token())
    assert mine["body"]["conversation_id"] != conversation_id
    assert mine["body"]["messages"] == []


def test_a_chinese_shipper_on_a_phone(new_shipper: Any) -> None:
    """A browser set to Chinese: the widget's words are Chinese, and so is the bot's answer."""
    shipper: Shipper = new_shipper("zh-CN")
    shipper.visit()
    shipper.open_chat()
    expect(shipper.page.get_by_role("button", name="关闭对话")).to_be_visible()
    shipper.send("ＥＡ１００００００２５ＣＮ到哪了？")
    answer = shipper.reply_containing("EA100000025CN")
    expect(answer).to_contain_text("长沙")
    expect(answer).to_contain_text("上海")
    text = answer.inner_text()
    assert latin_words(text) == [], text
    shipper.send("where is it now?")
    expect(shipper.reply_containing("Changsha")).to_contain_text("Shanghai")


def test_a_shipper_waiting_for_a_colleague_still_sees_so_after_a_reload(shipper: Shipper) -> None:
    shipper.visit()
    shipper.open_chat()
    header = shipper.page.locator(".panel-header .subtitle")
    expect(header).not_to_have_text("Waiting for a colleague")
    shipper.send("I want to talk to a real person")
    shipper.reply_containing("passing you to a person")
    expect(header).to_have_text("Waiting for a colleague", timeout=REPLY_TIMEOUT_MS)

    shipper.page.reload()
    expect(shipper.message_box).to_be_visible()
    shipper.wait_connected()
    expect(header).to_have_text("Waiting for a colleague")
    # A new tab of the same shipper, too.
    tab = Shipper(stack=shipper.stack, context=shipper.context, page=shipper.context.new_page())
    tab.visit()
    tab.open_chat()
    expect(tab.page.locator(".panel-header .subtitle")).to_have_text("Waiting for a colleague")


def test_the_widget_names_the_common_chinese_system_fonts(new_shipper: Any) -> None:
    """Where the Latin fonts have no Chinese glyphs, the browser falls back to a Chinese font, not boxes."""
    shipper: Shipper = new_shipper("zh-CN")
    shipper.visit()
    shipper.open_chat()
    fonts = shipper.page.evaluate(
        """() => {
            const root = document.querySelector('#carrier-chat-widget').shadowRoot;
            return [root.querySelector('.panel'), root.querySelector('deep-chat')]
                .map(node => getComputedStyle(node).fontFamily);
        }"""
    )
    for family in fonts:
        named = [name.strip().strip('"') for name in family.split(",")]
        # macOS/iOS, Windows, Android/Linux: each platform's Chinese font, before the generic fallback.
        for chinese in ("PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC"):
            assert chinese in named and named.index(chinese) < named.index("sans-serif"), family
