"""The web widget in a real headless Chromium (Debian's, driven by Playwright) against the real product.

The product is started by the end-to-end tests' `start_stack` (trained model, Rasa, action server,
backend on free ports). It lives for this package only: the browser tests run before tests/e2e, so
their stack is stopped before the end-to-end one starts and two never run at once.

Every test gets its own browser context (a new shipper: own storage, own conversation) at 390x844, and
fails if the page tried to reach anything but the backend or threw an uncaught error.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Playwright,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

from backend.db import make_engine, make_session_factory
from tests.backend.factories import new_account
from tests.e2e.conftest import telegram_stack
from tests.fakes.telegram_api import FakeBotApi
from tools.stack import Stack

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
PHONE: ViewportSize = {"width": 390, "height": 844}
PLACEHOLDER = "Type a message…"
# The real bot answers through Rasa and the action server: allow it a while on a busy machine.
REPLY_TIMEOUT_MS = 30_000


@pytest.fixture(scope="package")
def browser_telegram() -> Iterator[FakeBotApi]:
    """A fake Bot API for this package's stack: the console's journeys start in a Telegram chat."""
    with FakeBotApi() as api:
        yield api


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, browser_telegram: FakeBotApi) -> Iterator[Stack]:
    with telegram_stack(tmp_path_factory.mktemp("browser-stack"), browser_telegram) as running:
        yield running


# Package scope, not session: Playwright's sync API keeps its asyncio loop marked as running in the main
# thread while it is open, and every later test's asyncio.run() would then fail.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run scripts/ensure-chromium.sh (make test does)")
    # Never Playwright's own browser download: the system's Chromium, headless.
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@dataclass
class Shipper:
    """One shipper's browser on a phone: the demo page, the widget, and what the page got up to."""

    stack: Stack
    context: BrowserContext
    page: Page
    outside_requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    # The widget's own words follow the browser's language (en-GB by default).
    placeholder: str = PLACEHOLDER
    launcher_name: str = "Chat"

    # -- the widget --------------------------------------------------------------------------------

    def visit(self, path: str = "/") -> None:
        self.page.goto(self.stack.backend_url + path)

    @property
    def launcher(self) -> Locator:
        return self.page.get_by_role("button", name=re.compile(self.launcher_name))

    @property
    def message_box(self) -> Locator:
        return self.page.get_by_role("textbox", name=self.placeholder)

    def open_chat(self) -> None:
        self.launcher.click()
        expect(self.message_box).to_be_visible()
        self.wait_connected()

    def wait_connected(self) -> None:
        # The widget marks its host element once its WebSocket is ready to send.
        expect(self.page.locator("#carrier-chat-widget")).to_have_attribute("data-connection", "open")

    def send(self, text: str) -> None:
        self.message_box.click()
        self.message_box.fill(text)
        self.page.keyboard.press("Enter")
        expect(self.bubbles("user").filter(has_text=text).last).to_be_visible()

    def bubbles(self, role: str) -> Locator:
        # Playwright's CSS reaches into open shadow roots (ours and deep-chat's).
        return self.page.locator(f".message-bubble.{role}-message")

    def reply_containing(self, words: str) -> Locator:
        bubble = self.bubbles("ai").filter(has_text=re.compile(re.escape(words), re.IGNORECASE)).last
        expect(bubble).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        return bubble

    def token(self) -> str:
        value = self.page.evaluate(
            "key => localStorage.getItem(key)", f"carrier-chat:{self.stack.backend_url}"
        )
        assert value, "the widget kept no session token"
        return str(value)

    def watch_typing(self) -> None:
        """Record whether the typing indicator (deep-chat's loading bubble) ever appears from now on."""
        self.page.evaluate(
            """() => {
                window.__typingSeen = false;
                const widget = document.querySelector('#carrier-chat-widget').shadowRoot;
                const messages = widget.querySelector('deep-chat').shadowRoot.getElementById('messages');
                new MutationObserver(() => {
                    const bubble = messages.querySelector('.deep-chat-loading-message-bubble');
                    if (bubble) window.__typingSeen = true;
                }).observe(messages, {childList: true, subtree: true});
            }"""
        )

    def typing_was_seen(self) -> bool:
        return bool(self.page.evaluate("() => window.__typingSeen"))

    def fetch(self, path: str, token: str | None = None) -> dict[str, Any]:
        """A request from inside the page (cross-checks what the widget's API gives a client)."""
        return dict(
            self.page.evaluate(
                """async ([url, token]) => {
                    const response = await fetch(url, {headers: token ? {'X-Widget-Session': token} : {}});
                    return {status: response.status, body: await response.json().catch(() => null)};
                }""",
                [self.stack.backend_url + path, token],
            )
        )


def watch_content_policy(context: BrowserContext) -> list[str]:
    """What Chromium logs about Content-Security-Policy violations on the context's pages (to assert [])."""
    refused: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    context.on("console", seen)
    return refused


def console_accounts(
    stack: Stack, display_names: dict[str, str], *, prefix: str = "", language: str | None = None
) -> dict[str, tuple[str, str]]:
    """Console users in the stack's database, one per role of `display_names` (role -> the name the
    shipper sees): {role: (username, password)}. `language`: the console language each chose (None:
    follow the browser)."""
    engine = make_engine(stack.database_url)
    try:
        factory = make_session_factory(engine)
        return {
            role: new_account(
                factory,
                role,
                f"{prefix}{role}-{secrets.token_hex(3)}",
                display_name=display_name,
                language=language,
            )
            for role, display_name in display_names.items()
        }
    finally:
        engine.dispose()


@pytest.fixture
def new_shipper(browser: Browser, stack: Stack) -> Iterator[Any]:
    """Makes shippers (browser contexts) for a test; each is checked and closed at its end."""
    made: list[Shipper] = []

    def make(locale: str = "en-GB") -> Shipper:
        context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale=locale)
        context.set_default_timeout(10_000)
        page = context.new_page()
        shipper = Shipper(stack=stack, context=context, page=page)
        if locale.startswith("zh"):
            shipper.placeholder, shipper.launcher_name = "请输入消息…", "联系"

        def guard(route: Route) -> None:
            # Nothing from a CDN or any other host: only the backend that served the widget.
            if route.request.url.startswith(stack.backend_url):
                route.continue_()
            else:
                shipper.outside_requests.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page.on("pageerror", lambda error: shipper.page_errors.append(str(error)))
        made.append(shipper)
        return shipper

    yield make
    for shipper in made:
        shipper.context.close()
    for shipper in made:
        assert shipper.outside_requests == [], "the page reached outside the backend"
        assert shipper.page_errors == [], "the page threw"


@pytest.fixture
def shipper(new_shipper: Any) -> Shipper:
    made: Shipper = new_shipper()
    return made
