"""The Telegram channel on its own: the webhook route, updates parsed into `Inbound`, messages sent.

python-telegram-bot runs for real against the fake Bot API server over loopback HTTP; only the hub is
a stand-in, which records what the channel hands it. The whole product is tested in tests/e2e.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.channels import telegram
from backend.config import Settings
from backend.db import session_scope
from backend.hub import Hub
from backend.hub.records import Button, ChannelAdapter, Inbound, Outbound
from tests.fakes.images import png_bytes
from tests.fakes.telegram_api import (
    FakeBotApi,
    callback_update,
    contact_update,
    document_update,
    photo_update,
    sticker_update,
    text_update,
)

SECRET = "webhook-secret-" + secrets.token_urlsafe(16)
WEBHOOK_URL = "https://care.example.com/telegram/webhook"


class FakeHub:
    """Records what the channel hands the hub; can be slow or broken on request."""

    def __init__(self) -> None:
        self.inbound: list[Inbound] = []
        self.finished: list[str] = []
        self.adapters: dict[str, ChannelAdapter] = {}
        self.error: Exception | None = None
        self.delays: dict[str, float] = {}
        # When set, each message is answered "<answer> <text>" on its chat through the channel.
        self.answer: str | None = None
        # Where the channel's own bookkeeping (Inbound.in_store) is done, as the hub does it: in the
        # transaction that stores the message.
        self.factory: sessionmaker[Session] | None = None

    def register(self, adapter: ChannelAdapter) -> None:
        self.adapters[adapter.name] = adapter

    async def receive(self, inbound: Inbound) -> None:
        self.inbound.append(inbound)
        if self.error is not None:
            raise self.error  # before the message was stored: the hub did not take it
        # A slow hub: the message is stored (and the channel's bookkeeping done) after the pause.
        await asyncio.sleep(self.delays.get(inbound.text, 0))
        if inbound.in_store is not None and self.factory is not None:
            with session_scope(self.factory) as session:
                inbound.in_store(session)
        if self.answer is not None:
            await self.adapters["telegram"].deliver(
                inbound.external_id, outbound(f"{self.answer} {inbound.text}")
            )
        self.finished.append(inbound.text)


def settings_for(api: FakeBotApi | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": "sqlite://", "app_env": "development"}
    if api is not None:
        values.update(
            telegram_mode="webhook",
            telegram_bot_token=api.token,
            telegram_webhook_secret=SECRET,
            telegram_webhook_url=WEBHOOK_URL,
            telegram_api_base_url=api.base_url,
        )
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def app_for(settings: Settings, hub: FakeHub, factory: sessionmaker[Session] | None = None) -> FastAPI:
    """Only the Telegram channel, in a lifespan of its own; with `factory`, webhook updates are stored."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.session_factory = factory
        hub.factory = factory
        async with telegram.running(app, settings, cast(Hub, hub)):
            yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(telegram.router)
    return app


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def new_chat() -> int:
    return random.randint(10**8, 10**10)


@pytest.fixture(scope="module")
def bot_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture
def hub() -> FakeHub:
    return FakeHub()


@pytest.fixture
def client(bot_api: FakeBotApi, hub: FakeHub) -> Iterator[TestClient]:
    with TestClient(app_for(settings_for(bot_api), hub)) as test_client:
        yield test_client


def post(client: TestClient, update: dict[str, Any] | bytes, secret: str | None = SECRET) -> int:
    headers = {telegram.SECRET_HEADER: secret} if secret is not None else {}
    if isinstance(update, bytes):
        headers["Content-Type"] = "application/json"
        return client.post(telegram.WEBHOOK_PATH, content=update, headers=headers).status_code
    return client.post(telegram.WEBHOOK_PATH, json=update, headers=headers).status_code


def received(hub: FakeHub, chat_id: int, count: int = 1) -> list[Inbound]:
    wait_until(lambda: len([i for i in hub.inbound if i.external_id == str(chat_id)]) >= count)
    return [i for i in hub.inbound if i.external_id == str(chat_id)]


def outbound(text: str, *, buttons: tuple[Button, ...] = (), request_contact: bool = False) -> Outbound:
    return Outbound(
        conversation_id="telegram:1",
        message_id=random.randint(1, 10**6),
        sender="bot",
        text=text,
        created_at=datetime.now(timezone.utc),
        buttons=buttons,
        request_contact=request_contact,
    )


def channel_of(client: TestClient) -> telegram.TelegramChannel:
    channel = client.app.state.telegram  # type: ignore[attr-defined]
    assert isinstance(channel, telegram.TelegramChannel)
    return channel


# -- the route ---------------------------------------------------------------------------------------


def test_start_registers_the_channel_and_sets_the_webhook_with_its_secret(
    client: TestClient, bot_api: FakeBotApi, hub: FakeHub
) -> None:
    assert isinstance(hub.adapters["telegram"], telegram.TelegramChannel)
    assert bot_api.webhook == {
        "url": WEBHOOK_URL,
        "secret_token": SECRET,
        "allowed_updates": ["message", "callback_query"],
    }


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET[:-1], SECRET.upper()])
def test_a_missing_or_wrong_secret_is_refused_and_nothing_is_processed(
    client: TestClient, hub: FakeHub, secret: str | None
) -> None:
    chat = new_chat()
    assert post(client, text_update(chat, "where is EA100000025CN?"), secret=secret) == 403
    # Refused before the body is read: malformed JSON with a wrong secret is a 403 too.
    assert post(client, b"{not json", secret=secret) == 403
    time.sleep(0.3)
    assert hub.inbound == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'"an update"',
        b"{}",
        b'{"update_id": "7"}',
        b'{"update_id": 7, "message": "nope"}',
        b'{"update_id": 7, "message": {"message_id": 1}}',
    ],
)
def test_a_body_that_is_not_an_update_is_400(client: TestClient, hub: FakeHub, body: bytes) -> None:
    assert post(client, body) == 400
    assert hub.inbound == []


def test_the_route_still_works_after_bad_requests(client: TestClient, hub: FakeHub) -> None:
    chat = new_chat()
    for body in (b"{not json", b"[]"):
        assert post(client, body) == 400
    assert post(client, text_update(chat, "hello")) == 200
    assert [i.text for i in received(hub, chat)] == ["hello"]


def test_the_route_is_404_when_telegram_is_off(hub: FakeHub) -> None:
    with TestClient(app_for(settings_for(None), hub)) as client:
        assert post(client, text_update(1, "hi")) == 404
        assert client.app.state.telegram is None  # type: ignore[attr-defined]
    assert hub.adapters == {}


def test_the_route_is_404_in_polling_mode() -> None:
    hub = FakeHub()
    with FakeBotApi() as api, TestClient(app_for(settings_for(api, telegram_mode="polling"), hub)) as client:
        assert post(client, text_update(1, "hi")) == 404


def test_an_unreachable_telegram_does_not_stop_the_backend(
    hub: FakeHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    closed = settings_for(
        None,
        telegram_mode="webhook",
        telegram_bot_token="123:" + "a" * 30,
        telegram_webhook_secret=SECRET,
        telegram_api_base_url="http://127.0.0.1:9/bot",  # the discard port: nothing listens there
    )
    with TestClient(app_for(closed, hub)) as client:
        # Telegram keeps updates it could not deliver and sends them again: 503, not lost.
        assert post(client, text_update(1, "hi")) == 503
    assert "retrying" in caplog.text
    assert "a" * 30 not in caplog.text


def test_a_refused_token_is_logged_without_the_token(hub: FakeHub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeBotApi() as api:
        wrong = "987654321:" + secrets.token_urlsafe(27)
        with TestClient(app_for(settings_for(api, telegram_bot_token=wrong), hub)) as client:
            assert post(client, text_update(1, "hi")) == 503
    assert "refused TELEGRAM_BOT_TOKEN" in caplog.text
    assert wrong not in caplog.text
    assert wrong.split(":")[1] not in caplog.text


# -- updates into Inbound ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is EA100000025CN?", "where is EA100000025CN?"),
        ("/start", "hello"),
        ("/start track-EA100000025CN", "hello"),
        ("/START@carrier_care_test_bot", "hello"),
        ("/help", "help"),
        ("/human", "I want to talk to a person"),
        # Not one of ours: the hub makes the slash plain words, so Rasa never sees a command.
        ("/restart", "/restart"),
        ("😀🚚📦", "😀🚚📦"),
        ("<b>bold</b> &amp; <script>alert(1)</script>", "<b>bold</b> &amp; <script>alert(1)</script>"),
    ],
)
def test_text_and_commands_reach_the_hub_as_words(
    client: TestClient, hub: FakeHub, text: str, expected: str
) -> None:
    chat = new_chat()
    update = text_update(chat, text, language_code="zh-hans")
    assert post(client, update) == 200
    [inbound] = received(hub, chat)
    assert inbound == Inbound(
        channel="telegram",
        external_id=str(chat),
        text=expected,
        channel_message_id=str(update["update_id"]),
        language_hint="zh-hans",
    )
    assert inbound.conversation_id == f"telegram:{chat}"


def test_a_message_without_text_reaches_the_hub_empty(client: TestClient, hub: FakeHub) -> None:
    chat = new_chat()
    assert post(client, sticker_update(chat)) == 200
    assert post(client, text_update(chat, "")) == 200
    inbound = received(hub, chat, 2)
    assert [(i.text, i.files, i.own_phone) for i in inbound] == [("", (), None), ("", (), None)]


def test_the_shippers_own_contact_is_vouched_for(client: TestClient, hub: FakeHub) -> None:
    chat = new_chat()
    assert post(client, contact_update(chat, "8613800000003", contact_user_id=chat)) == 200
    [inbound] = received(hub, chat)
    assert (inbound.own_phone, inbound.other_phone, inbound.text) == ("8613800000003", None, "")


@pytest.mark.parametrize("contact_user_id", [None, 42])
def test_someone_elses_contact_is_only_a_claim(
    client: TestClient, hub: FakeHub, contact_user_id: int | None
) -> None:
    chat = new_chat()
    assert post(client, contact_update(chat, "+8613800000002", contact_user_id=contact_user_id)) == 200
    [inbound] = received(hub, chat)
    assert (inbound.own_phone, inbound.other_phone) == (None, "+8613800000002")


def test_the_largest_size_of_a_photo_is_downloaded(
    client: TestClient, hub: FakeHub, bot_api: FakeBotApi
) -> None:
    chat = new_chat()
    small, large = png_bytes(2, 2), png_bytes(64, 48, (10, 200, 10))
    sizes = [(bot_api.add_file(small), 2, 2, len(small)), (bot_api.add_file(large), 64, 48, len(large))]
    assert post(client, photo_update(chat, sizes, caption="the vase, broken")) == 200
    [inbound] = received(hub, chat)
    assert [f.data for f in inbound.files] == [large]
    assert inbound.text == "the vase, broken"
    assert [c.params["file_id"] for c in bot_api.calls("getFile")][-1] == sizes[1][0]


def test_an_image_sent_as_a_file_is_downloaded(client: TestClient, hub: FakeHub, bot_api: FakeBotApi) -> None:
    chat = new_chat()
    data = png_bytes(8, 8)
    file_id = bot_api.add_file(data, path="documents/file_9.png")
    update = document_update(
        chat, file_id, mime_type="image/png", file_name="damage.png", file_size=len(data)
    )
    assert post(client, update) == 200
    [inbound] = received(hub, chat)
    assert [(f.data, f.filename) for f in inbound.files] == [(data, "damage.png")]


def test_a_file_that_cannot_be_fetched_still_reaches_the_hub(client: TestClient, hub: FakeHub) -> None:
    chat = new_chat()
    assert post(client, photo_update(chat, [("AgACgone", 90, 90, 1000)], caption="see photo")) == 200
    [inbound] = received(hub, chat)
    assert (inbound.files, inbound.text) == ((), "see photo")


def test_a_pressed_button_is_answered_and_passed_on(
    client: TestClient, hub: FakeHub, bot_api: FakeBotApi
) -> None:
    chat = new_chat()
    update = callback_update(chat, "b:1234:2")
    assert post(client, update) == 200
    [inbound] = received(hub, chat)
    assert (inbound.button, inbound.text) == ((1234, 2), "")
    answered = [c.params["callback_query_id"] for c in bot_api.calls("answerCallbackQuery")]
    assert update["callback_query"]["id"] in answered


def test_a_button_that_is_not_ours_is_answered_but_ignored(
    client: TestClient, hub: FakeHub, bot_api: FakeBotApi
) -> None:
    chat = new_chat()
    update = callback_update(chat, '/inform{"waybill": "EA100000017CN"}')
    assert post(client, update) == 200
    assert wait_until(
        lambda: update["callback_query"]["id"]
        in [c.params["callback_query_id"] for c in bot_api.calls("answerCallbackQuery")]
    )
    time.sleep(0.2)
    assert received(hub, chat, 0) == []


@pytest.mark.parametrize(
    "update",
    [text_update(5551, "hello all", chat_type="group"), text_update(5552, "fixed typo", edited=True)],
    ids=["group chat", "edited message"],
)
def test_groups_and_edits_are_not_answered(client: TestClient, hub: FakeHub, update: dict[str, Any]) -> None:
    assert post(client, update) == 200
    time.sleep(0.3)
    assert hub.inbound == []


def test_one_chat_in_order_other_chats_meanwhile(client: TestClient, hub: FakeHub) -> None:
    first, other = new_chat(), new_chat()
    hub.delays["slow first"] = 0.6
    for update in (
        text_update(first, "slow first"),
        text_update(first, "then this"),
        text_update(other, "other"),
    ):
        assert post(client, update) == 200
    assert wait_until(lambda: len(hub.finished) == 3)
    # The other chat did not wait for the slow one; the slow chat's second message did.
    assert hub.finished == ["other", "slow first", "then this"]


def test_a_failing_handler_is_logged_once_without_secrets_and_the_shipper_is_told(
    client: TestClient, hub: FakeHub, bot_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    chat = new_chat()
    hub.error = RuntimeError(f"database down while calling {bot_api.token} for +86 138 0000 0003")
    assert post(client, text_update(chat, "hello")) == 200
    assert wait_until(lambda: bot_api.texts(chat) == [telegram.SORRY_TEXT])
    failures = [r for r in caplog.records if "failed" in r.getMessage() and r.name == telegram.__name__]
    assert len(failures) == 1
    logged = failures[0].getMessage()
    assert "Traceback" in logged and "RuntimeError: database down" in logged
    assert bot_api.token not in caplog.text and "13800000003" not in caplog.text.replace(" ", "")


def test_httpx_and_the_library_do_not_log_urls_with_the_token(
    client: TestClient, bot_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("telegram").getEffectiveLevel() >= logging.INFO
    caplog.set_level(logging.INFO)
    logging.getLogger("telegram.ext.Application").warning(
        "calling %s/getMe", bot_api.base_url + bot_api.token
    )
    assert bot_api.token not in caplog.text
    assert "<redacted>" in caplog.text


# -- outbound ------------------------------------------------------------------------------------------


def deliver(client: TestClient, chat: int, message: Outbound) -> None:
    client.portal.call(channel_of(client).deliver, str(chat), message)  # type: ignore[union-attr]


def test_buttons_become_an_inline_keyboard_of_references(client: TestClient, bot_api: FakeBotApi) -> None:
    chat = new_chat()
    message = outbound("Is that right?", buttons=(Button("Yes", "/affirm"), Button("No", "/deny")))
    deliver(client, chat, message)
    [sent] = bot_api.sent(chat)
    assert sent["text"] == "Is that right?"
    assert sent["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Yes", "callback_data": f"b:{message.message_id}:0"}],
            [{"text": "No", "callback_data": f"b:{message.message_id}:1"}],
        ]
    }
    assert telegram.parse_callback_data(sent["reply_markup"]["inline_keyboard"][1][0]["callback_data"]) == (
        message.message_id,
        1,
    )


def test_a_contact_request_shows_the_share_button_until_the_next_message(
    client: TestClient, bot_api: FakeBotApi
) -> None:
    chat = new_chat()
    deliver(client, chat, outbound("Tap the button below.", request_contact=True))
    deliver(client, chat, outbound("I found 2 shipments."))
    deliver(client, chat, outbound("Anything else?"))
    first, second, third = bot_api.sent(chat)
    assert first["reply_markup"] == {
        "keyboard": [[{"text": "Share my phone number", "request_contact": True}]],
        "one_time_keyboard": True,
        "resize_keyboard": True,
    }
    assert second["reply_markup"] == {"remove_keyboard": True}
    assert "reply_markup" not in third


def test_a_long_message_is_sent_in_parts_with_the_buttons_last(
    client: TestClient, bot_api: FakeBotApi
) -> None:
    chat = new_chat()
    text = ("word " * 1000).strip()
    deliver(client, chat, outbound(text, buttons=(Button("OK", "/affirm"),)))
    parts = bot_api.sent(chat)
    assert len(parts) == 2
    assert " ".join(p["text"] for p in parts) == text
    assert "reply_markup" not in parts[0] and "inline_keyboard" in parts[1]["reply_markup"]


def test_buttons_without_text_still_get_a_line(client: TestClient, bot_api: FakeBotApi) -> None:
    chat = new_chat()
    deliver(client, chat, outbound("", buttons=(Button("Yes", "/affirm"),)))
    assert bot_api.texts(chat) == [telegram.CHOOSE_TEXT]


def test_a_429_is_waited_out_and_the_message_sent(client: TestClient, bot_api: FakeBotApi) -> None:
    chat = new_chat()
    bot_api.fail_next("sendMessage", retry_after=1)
    started = time.monotonic()
    deliver(client, chat, outbound("Your parcel is in Changsha."))
    assert time.monotonic() - started >= 1.0
    assert bot_api.texts(chat) == ["Your parcel is in Changsha."]
    statuses = [c.status for c in bot_api.calls("sendMessage") if c.params.get("chat_id") == chat]
    assert statuses == [429, 200]


def test_a_refused_message_is_reported_without_the_token(client: TestClient, bot_api: FakeBotApi) -> None:
    bot_api.fail_next("sendMessage", status=400, description=f"Bad Request: chat not found {bot_api.token}")
    with pytest.raises(telegram.DeliveryFailed) as failure:
        deliver(client, new_chat(), outbound("Hello"))
    reported = str(failure.value).lower()
    assert "chat not found" in reported and bot_api.token.lower() not in reported


def test_a_chat_that_blocked_the_bot_is_not_an_error(
    client: TestClient, bot_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    chat = new_chat()
    bot_api.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    deliver(client, chat, outbound("Hello"))
    assert bot_api.texts(chat) == []
    assert "blocked the bot" in caplog.text


def test_an_empty_message_is_not_sent(client: TestClient, bot_api: FakeBotApi) -> None:
    chat = new_chat()
    deliver(client, chat, outbound("  "))
    assert bot_api.calls("sendMessage") == [
        c for c in bot_api.calls("sendMessage") if c.params["chat_id"] != chat
    ]


# -- polling -------------------------------------------------------------------------------------------


def test_polling_mode_fetches_updates_and_passes_them_on() -> None:
    hub = FakeHub()
    with FakeBotApi() as api:
        api.webhook = {"url": "https://old.example.com/hook"}
        with TestClient(app_for(settings_for(api, telegram_mode="polling"), hub)):
            chat = new_chat()
            api.queue_updates(
                text_update(chat, "where is EA100000025CN?"), contact_update(chat, "1", contact_user_id=chat)
            )
            inbound = received(hub, chat, 2)
            assert [(i.text, i.own_phone) for i in inbound] == [("where is EA100000025CN?", None), ("", "1")]
        # Polling needs the webhook gone, asks only for what we answer, and long-polls.
        assert api.webhook is None and api.calls("deleteWebhook")
        polls = [c.params for c in api.calls("getUpdates") if c.status == 200]
        assert polls and polls[0]["allowed_updates"] == ["message", "callback_query"]
        assert any(p.get("timeout") == telegram.POLL_TIMEOUT_S for p in polls)


# -- pure functions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("b:12:0", (12, 0)),
        ("b:987654321:11", (987654321, 11)),
        ("b:12", None),
        ("b:12:1:2", None),
        ("b:-1:0", None),
        ("b:x:0", None),
        ("/affirm", None),
        ("", None),
        (None, None),
        ("b:12:0\n", None),
    ],
)
def test_parse_callback_data(data: object, expected: tuple[int, int] | None) -> None:
    assert telegram.parse_callback_data(data) == expected


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot"),
        ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot"),
        ("http://127.0.0.1:8081/bot{token}/test", "http://127.0.0.1:8081/file/bot{token}/test"),
        ("http://proxy.local/telegram", "http://proxy.local/telegram/file/bot"),
    ],
)
def test_file_base_url(base: str, expected: str) -> None:
    assert telegram.file_base_url(base) == expected


def test_split_text_keeps_every_word_and_the_limit() -> None:
    text = "\n".join(f"line {n} " + "x" * 50 for n in range(200))
    parts = telegram.split_text(text)
    assert all(len(p) <= telegram.MAX_MESSAGE_CHARS for p in parts) and len(parts) == 3
    assert "\n".join(parts) == text
    assert telegram.split_text("y" * 5000) == ["y" * 4096, "y" * 904]
    assert telegram.split_text("   ") == []


def test_typing_shows_only_when_the_answer_takes_a_while(
    client: TestClient, hub: FakeHub, bot_api: FakeBotApi
) -> None:
    quick, slow = new_chat(), new_chat()
    hub.answer = "heard"
    hub.delays["slow one"] = telegram.TYPING_AFTER_S + 0.5

    def typing_to(chat: int) -> list[int]:
        return [
            i
            for i, c in enumerate(bot_api.calls())
            if c.method == "sendChatAction" and c.params["chat_id"] == chat
        ]

    def answers_to(chat: int) -> list[int]:
        return [
            i
            for i, c in enumerate(bot_api.calls())
            if c.method == "sendMessage" and c.params["chat_id"] == chat
        ]

    assert post(client, text_update(quick, "quick one")) == 200
    assert wait_until(lambda: bool(answers_to(quick)))
    assert post(client, text_update(slow, "slow one")) == 200
    assert wait_until(lambda: bool(answers_to(slow)))
    time.sleep(telegram.TYPING_AFTER_S + 0.2)
    # A quick answer needs no indicator; a slow one shows "typing..." first, and only once.
    assert typing_to(quick) == []
    assert len(typing_to(slow)) == 1
    assert typing_to(slow)[0] < answers_to(slow)[0]
    assert bot_api.texts(slow) == ["heard slow one"]
