"""Webhook updates are committed before Telegram gets its 200, and fed again when a process died with them.

The real channel and python-telegram-bot against the fake Bot API; the database is the migrated store
of tests/backend (SQLite, and PostgreSQL when TEST_POSTGRES_URL is set); the hub is the recording
stand-in of test_telegram.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.channels.telegram.inbox import MAX_ATTEMPTS, UpdateInbox
from backend.clock import utcnow
from backend.db import make_engine, make_session_factory, session_scope
from backend.models import TelegramUpdate
from tests.backend.channels.test_telegram import (
    FakeHub,
    app_for,
    new_chat,
    post,
    received,
    settings_for,
    wait_until,
)
from tests.fakes.telegram_api import FakeBotApi, text_update


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    # One bot per test: its id keys the stored rows, so tests never see each other's updates.
    with FakeBotApi() as api:
        yield api


def row(factory: sessionmaker[Session], api: FakeBotApi, update_id: int) -> TelegramUpdate | None:
    with session_scope(factory) as session:
        return session.get(TelegramUpdate, (api.bot_id, update_id))


def test_the_update_is_stored_before_the_200_and_marked_once_the_hub_took_it(
    bot_api: FakeBotApi, db_factory: sessionmaker[Session]
) -> None:
    hub = FakeHub()
    hub.delays["slow"] = 1.5
    chat = new_chat()
    update_data = text_update(chat, "slow")
    with TestClient(app_for(settings_for(bot_api), hub, db_factory)) as client:
        assert post(client, update_data) == 200
        # The hub is still working on it: the row can only come from the route, before its 200.
        stored = row(db_factory, bot_api, update_data["update_id"])
        assert hub.finished == []
        assert stored is not None and stored.processed_at is None
        assert stored.payload["message"]["text"] == "slow"
        assert wait_until(lambda: hub.finished == ["slow"])
        assert wait_until(
            lambda: (r := row(db_factory, bot_api, update_data["update_id"])) is not None
            and r.processed_at is not None
        )


def test_no_200_when_the_update_cannot_be_stored(bot_api: FakeBotApi, tmp_path: Path) -> None:
    # A database without the table: every insert fails, as when the database is down.
    broken = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    hub = FakeHub()
    chat = new_chat()
    with TestClient(app_for(settings_for(bot_api), hub, broken)) as client:
        assert post(client, text_update(chat, "hello")) == 503
        time.sleep(0.3)
    # Telegram keeps an update it got no 200 for and sends it again; nothing was processed meanwhile.
    assert hub.inbound == []


def test_a_redelivered_update_is_200_and_changes_nothing(
    bot_api: FakeBotApi, db_factory: sessionmaker[Session]
) -> None:
    hub = FakeHub()
    chat = new_chat()
    update_data = text_update(chat, "where is EA100000025CN?")
    with TestClient(app_for(settings_for(bot_api), hub, db_factory)) as client:
        assert post(client, update_data) == 200
        assert wait_until(lambda: len(hub.finished) == 1)
        assert post(client, update_data) == 200
        time.sleep(0.5)
    assert [i.text for i in hub.inbound] == ["where is EA100000025CN?"]
    stored = row(db_factory, bot_api, update_data["update_id"])
    assert stored is not None and stored.attempts == 1 and stored.processed_at is not None


def _left_by_a_dead_process(factory: sessionmaker[Session], api: FakeBotApi, data: dict) -> None:
    """What a backend killed right after its 200 leaves: the row stored and claimed, never processed."""
    assert UpdateInbox(factory, api.bot_id, lease_s=60).store(data["update_id"], data)
    with session_scope(factory) as session:
        session.execute(
            update(TelegramUpdate)
            .where(TelegramUpdate.bot_id == api.bot_id, TelegramUpdate.update_id == data["update_id"])
            .values(claimed_at=utcnow() - timedelta(minutes=5))
        )


def test_after_a_restart_a_stored_unprocessed_update_is_processed_exactly_once(
    bot_api: FakeBotApi, db_factory: sessionmaker[Session]
) -> None:
    chat = new_chat()
    data = text_update(chat, "my parcel EA100000025CN is late")
    _left_by_a_dead_process(db_factory, bot_api, data)
    settings = settings_for(bot_api, telegram_update_lease_s=1.0, telegram_replay_interval_s=0.2)
    # Two processes come up on the same database at once: one of them takes the update.
    first, second = FakeHub(), FakeHub()
    with (
        TestClient(app_for(settings, first, db_factory)),
        TestClient(app_for(settings, second, db_factory)),
    ):
        assert wait_until(lambda: len(first.finished) + len(second.finished) >= 1)
        time.sleep(2.5)  # more than two leases and many sweeps: nothing is fed a second time
    assert [i.text for i in first.inbound + second.inbound] == ["my parcel EA100000025CN is late"]
    stored = row(db_factory, bot_api, data["update_id"])
    assert stored is not None and stored.processed_at is not None and stored.attempts == 2
    # A later restart finds nothing to do.
    third = FakeHub()
    with TestClient(app_for(settings, third, db_factory)):
        time.sleep(0.8)
    assert third.inbound == []


def test_an_update_whose_handler_failed_is_fed_again_after_the_lease(
    bot_api: FakeBotApi, db_factory: sessionmaker[Session]
) -> None:
    hub = FakeHub()
    hub.error = RuntimeError("Rasa went away")
    chat = new_chat()
    data = text_update(chat, "hello")
    settings = settings_for(bot_api, telegram_update_lease_s=0.5, telegram_replay_interval_s=0.2)
    with TestClient(app_for(settings, hub, db_factory)) as client:
        assert post(client, data) == 200
        assert wait_until(lambda: len(hub.inbound) == 1)
        hub.error = None
        assert wait_until(lambda: hub.finished == ["hello"])
        assert wait_until(
            lambda: (r := row(db_factory, bot_api, data["update_id"])) is not None
            and r.processed_at is not None
        )
    assert len(received(hub, chat)) == 2


def test_an_update_that_always_fails_is_given_up(
    bot_api: FakeBotApi, db_factory: sessionmaker[Session]
) -> None:
    inbox = UpdateInbox(db_factory, bot_api.bot_id, lease_s=0.01)
    data = text_update(new_chat(), "poison")
    assert inbox.store(data["update_id"], data)
    fed = 0
    for _ in range(MAX_ATTEMPTS + 2):
        time.sleep(0.02)
        fed += len(inbox.claim_stale())
    assert fed == MAX_ATTEMPTS - 1  # stored once, fed again until MAX_ATTEMPTS tries in all
    with session_scope(db_factory) as session:
        left = session.scalars(
            select(TelegramUpdate).where(
                TelegramUpdate.bot_id == bot_api.bot_id, TelegramUpdate.processed_at.is_(None)
            )
        ).all()
    assert left == []
