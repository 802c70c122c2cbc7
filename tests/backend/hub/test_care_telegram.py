"""A care campaign's follow-up on Telegram: the real channel and python-telegram-bot against the local fake
Bot API, the real hub against the fake Rasa: the script arrives with the 1–5 rating keyboard, a press and a
typed suggestion come back through the webhook and land on the follow-up record."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.channels import telegram
from backend.db import session_scope
from backend.hub import Hub
from backend.hub.broker import Broker
from backend.hub.rasa import RasaGateway
from backend.models import CareTarget, Conversation, Customer
from backend.services import care_messages as care
from backend.services import care_watch
from backend.services.notices import Policy
from tests.backend.channels.test_telegram import new_chat, post, settings_for, wait_until
from tests.backend.factories import CARRIER_TZ, forgets_customers_like
from tests.backend.hub.world import ALWAYS_OPEN, SECRET
from tests.backend.services.test_care_messages import on_message_campaign
from tests.fakes.rasa_server import FakeRasa
from tests.fakes.telegram_api import FakeBotApi, callback_update, text_update

ANYTIME = Policy(tz=CARRIER_TZ, quiet=None)


# Their customers (ids CT…) and campaigns leave the shared database after each test.
_forget_customers = forgets_customers_like("CT")


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


def app_with_hub(
    bot_api: FakeBotApi, rasa_url: str, factory: sessionmaker[Session], uploads: Path
) -> FastAPI:
    """The Telegram channel on a real hub, in a lifespan of its own (app.state.hub for the test)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient() as client:
            gateway = RasaGateway(
                client, base_url=rasa_url, channel_secret=SECRET, api_token="t", timeout_s=5
            )
            hub = app.state.hub = Hub(
                factory, gateway, Broker(), upload_dir=uploads, calendar=ALWAYS_OPEN, retry_pause_s=0.05
            )
            app.state.session_factory = factory
            async with telegram.running(app, settings_for(bot_api), hub):
                yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(telegram.router)
    return app


def keyboard(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(button["text"], button["callback_data"]) for row in rows for button in row]


def test_the_script_arrives_with_the_rating_keyboard_and_the_answers_land_on_the_record(
    bot_api: FakeBotApi,
    fake_rasa: tuple[FakeRasa, str],
    db_factory: sessionmaker[Session],
    seeded_today: date,
    tmp_path: Path,
) -> None:
    rasa, rasa_url = fake_rasa
    rasa.replies, rasa.delay_s, rasa.down = [{"text": "bot reply"}], 0.0, False
    chat = new_chat()
    with TestClient(app_with_hub(bot_api, rasa_url, db_factory, tmp_path)) as client:
        assert post(client, text_update(chat, "hello")) == 200
        assert wait_until(lambda: "bot reply" in bot_api.texts(chat))
        customer_id = f"CT{uuid.uuid4().hex[:10]}"
        with session_scope(db_factory) as session:
            session.add(Customer(id=customer_id, name="Osmanthus Trading", customer_class="A"))
            session.flush()
            conversation = session.get(Conversation, f"telegram:{chat}")
            assert conversation is not None
            conversation.verified_customer_id = customer_id
            target_id = on_message_campaign(session, customer_id, date.today())

        hub = client.app.state.hub  # type: ignore[attr-defined]
        sent = client.portal.call(lambda: care_watch.run_once(hub, db_factory, ANYTIME))  # type: ignore[union-attr]
        assert target_id in sent
        script = bot_api.sent(chat)[-1]
        assert script["text"].startswith("Hello Osmanthus Trading, this is the carrier's customer service")
        buttons = keyboard(script)
        assert [title for title, _ in buttons] == ["1", "2", "3", "4", "5"]

        assert post(client, callback_update(chat, buttons[4][1])) == 200
        assert wait_until(lambda: any("suggestions" in text for text in bot_api.texts(chat)))
        assert post(client, text_update(chat, "Deliver to the back gate, please")) == 200
        assert wait_until(lambda: "goodbye" in bot_api.texts(chat)[-1])

    with session_scope(db_factory) as session:
        target = session.get(CareTarget, target_id)
        record = care.record_for(session, target_id)
        assert target is not None and target.status == "answered"
        assert record is not None
        assert (record.channel, record.satisfaction, record.suggestions) == (
            "telegram",
            5,
            "Deliver to the back gate, please",
        )
    assert rasa.texts_for(f"telegram:{chat}") == ["hello"]
