"""Polled Telegram updates go through the stored-update inbox too, before their offset is acknowledged.

The real channel and python-telegram-bot in polling mode against the fake Bot API (whose getUpdates
forgets every update below the offset asked for, as Telegram does); the database is the migrated store
of tests/backend; the hub is the recording stand-in of test_telegram.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory, session_scope
from backend.models import Base, TelegramUpdate
from tests.backend.channels.test_telegram import FakeHub, app_for, new_chat, settings_for, wait_until
from tests.backend.channels.test_telegram_inbox import _left_by_a_dead_process
from tests.fakes.telegram_api import FakeBotApi, text_update


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    # One bot per test: its id keys the stored rows (and the poller lock), so tests never meet.
    with FakeBotApi() as api:
        yield api


def polling(api: FakeBotApi, tmp_path: Path, **overrides: object) -> object:
    # The poller lock in a file of this test's own (no Redis, an SQLite database of its own).
    return settings_for(
        api, telegram_mode="polling", database_url=f"sqlite:///{tmp_path / 'lock.db'}", **overrides
    )


def row(factory: sessionmaker[Session], api: FakeBotApi, update_id: int) -> TelegramUpdate | None:
    with session_scope(factory) as session:
        return session.get(TelegramUpdate, (api.bot_id, update_id))


def processed(factory: sessionmaker[Session], api: FakeBotApi, update_id: int) -> bool:
    stored = row(factory, api, update_id)
    return stored is not None and stored.processed_at is not None


def acknowledged(api: FakeBotApi, update_id: int) -> bool:
    """The poller asked for an offset past the update: Telegram has forgotten it. (The fake records a
    call when it answers, and the next getUpdates waits up to its long-poll timeout: so this reads what
    the fake still holds, which the offset of a call trims as soon as the call arrives.)"""
    with api._lock:
        return all(u["update_id"] != update_id for u in api._updates)


def test_a_polled_update_is_stored_before_its_offset_is_acknowledged(
    bot_api: FakeBotApi, db_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    hub = FakeHub()
    hub.delays["slow"] = 1.5
    data = text_update(new_chat(), "slow")
    seen_at_ack: list[TelegramUpdate | None] = []
    with TestClient(app_for(polling(bot_api, tmp_path), hub, db_factory)):  # type: ignore[arg-type]
        bot_api.queue_updates(data)
        assert wait_until(lambda: acknowledged(bot_api, data["update_id"]))
        seen_at_ack.append(row(db_factory, bot_api, data["update_id"]))
        assert wait_until(lambda: hub.finished == ["slow"])
        assert wait_until(lambda: processed(db_factory, bot_api, data["update_id"]))
    # When Telegram was told to forget it, the update was already ours, not yet processed by the hub.
    stored = seen_at_ack[0]
    assert stored is not None and stored.payload["message"]["text"] == "slow"
    assert [i.text for i in hub.inbound] == ["slow"]


def test_a_polled_update_that_cannot_be_stored_is_not_acknowledged_and_is_taken_once_stored(
    bot_api: FakeBotApi, tmp_path: Path
) -> None:
    # A database without the table: every insert fails, as when the database is down.
    engine = make_engine(f"sqlite:///{tmp_path / 'down.db'}")
    factory = make_session_factory(engine)
    hub = FakeHub()
    data = text_update(new_chat(), "where is EA100000025CN?")
    with TestClient(app_for(polling(bot_api, tmp_path), hub, factory)):  # type: ignore[arg-type]
        bot_api.queue_updates(data)
        assert wait_until(lambda: len(bot_api.calls("getUpdates")) >= 3, timeout=15)
        # Fetched, not stored: neither handed to the hub nor acknowledged, so Telegram keeps it.
        assert hub.inbound == [] and not acknowledged(bot_api, data["update_id"])
        Base.metadata.create_all(engine)  # the database is back
        assert wait_until(lambda: len(hub.finished) == 1, timeout=30)
        assert wait_until(lambda: acknowledged(bot_api, data["update_id"]))
        time.sleep(0.5)
    assert [i.text for i in hub.inbound] == ["where is EA100000025CN?"]
    stored = row(factory, bot_api, data["update_id"])
    assert stored is not None and stored.processed_at is not None
    engine.dispose()


def test_an_update_a_killed_poller_fetched_and_stored_is_processed_once_after_a_restart(
    bot_api: FakeBotApi, db_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    # What a poller killed after storing (and acknowledging) an update leaves: the row, claimed by the
    # dead process and never processed (as a webhook's); Telegram has forgotten it: getUpdates is empty.
    data = text_update(new_chat(), "my parcel EA100000025CN is late")
    _left_by_a_dead_process(db_factory, bot_api, data)
    settings = polling(bot_api, tmp_path, telegram_update_lease_s=1.0, telegram_replay_interval_s=0.2)
    hub = FakeHub()
    with TestClient(app_for(settings, hub, db_factory)):  # type: ignore[arg-type]
        assert wait_until(lambda: len(hub.finished) == 1)
        time.sleep(2.5)  # more than two leases and many sweeps: nothing is fed a second time
    assert [i.text for i in hub.inbound] == ["my parcel EA100000025CN is late"]
    stored = row(db_factory, bot_api, data["update_id"])
    assert stored is not None and stored.processed_at is not None
