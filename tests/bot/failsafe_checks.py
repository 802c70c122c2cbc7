"""bot.stores.failsafe inside Rasa 3.6.21 (.venv-rasa): a broken tracker database fails the turn loudly.

Run by tests/bot/test_tracker_store_failsafe.py with `TRACKER_CHECK_URL` (a SQLite file or a PostgreSQL
database of its own). The database is broken for real: the `events` table is renamed away by another
connection, so every statement of the store fails as it would with a lost or damaged database.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import rasa
import sqlalchemy as sa
from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from sanic.response import json as json_response

from bot.stores import failsafe
from bot.stores.tracker import KeptSQLTrackerStore
from tests.rasa.checks import run_checks

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
URL = os.environ.get("TRACKER_CHECK_URL", "")


def store_kwargs() -> dict[str, Any]:
    parsed = sa.engine.make_url(URL)
    if parsed.drivername.startswith("sqlite"):
        return {"dialect": "sqlite", "db": parsed.database}
    return {
        "dialect": "postgresql",
        "host": parsed.host,
        "port": parsed.port,
        "db": parsed.database,
        "username": parsed.username,
        "password": parsed.password,
    }


def new_store() -> FailSafeTrackerStore:
    # Exactly how Rasa's Agent wraps the store endpoints.yml names.
    store = Agent._create_tracker_store(KeptSQLTrackerStore(DOMAIN, **store_kwargs()), DOMAIN)
    assert isinstance(store, FailSafeTrackerStore)
    return store


def outside_engine() -> sa.engine.Engine:
    parsed = sa.engine.make_url(URL)
    if not parsed.drivername.startswith("sqlite"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return sa.create_engine(parsed, isolation_level="AUTOCOMMIT")


def break_database() -> None:
    with outside_engine().connect() as connection:
        connection.execute(sa.text("ALTER TABLE events RENAME TO events_broken"))


def mend_database() -> None:
    with outside_engine().connect() as connection:
        connection.execute(sa.text("ALTER TABLE events_broken RENAME TO events"))


def stored_rows(sender: str) -> int:
    with outside_engine().connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}
            ).scalar()
            or 0
        )


async def a_complaint_under_way(store: FailSafeTrackerStore, sender: str) -> Any:
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(UserUttered("my parcel EA100000025CN arrived broken"))
    tracker.update(SlotSet("waybill", "EA100000025CN"))
    await store.save(tracker)
    return tracker


def check_a_broken_database_fails_the_turn_and_the_conversation_resumes_when_it_is_back() -> None:
    assert failsafe.install()

    async def scenario() -> None:
        store, sender = new_store(), "web:failsafe-resume"
        tracker = await a_complaint_under_way(store, sender)
        saved = stored_rows(sender)
        assert saved >= 2 and failsafe.STATE.ok
        break_database()
        try:
            # The next turn: no fresh tracker in place of the complaint, an error instead.
            try:
                await store.get_or_create_tracker(sender)
            except failsafe.TrackerStoreUnavailable:
                pass
            else:
                raise AssertionError("a fresh tracker was handed out while the database was broken")
            assert not failsafe.STATE.ok and failsafe.STATE.last_operation == "retrieve"
            # A turn that got its tracker before the break: the save fails, nothing goes to memory.
            tracker.update(UserUttered("and the box was wet"))
            try:
                await store.save(tracker)
            except failsafe.TrackerStoreUnavailable:
                pass
            else:
                raise AssertionError("the save went through while the database was broken")
            assert store._fallback_tracker_store is None, "the tracker was saved in the process's memory"
            assert failsafe.STATE.last_operation == "save" and failsafe.STATE.failures >= 2
        finally:
            mend_database()
        resumed = await store.get_or_create_tracker(sender)
        assert failsafe.STATE.ok
        assert resumed.get_slot("waybill") == "EA100000025CN"
        texts = [e.text for e in resumed.events if isinstance(e, UserUttered)]
        assert texts == ["my parcel EA100000025CN arrived broken"], texts
        assert stored_rows(sender) == saved
        # And the conversation goes on from there.
        resumed.update(UserUttered("and the box was wet"))
        await store.save(resumed)
        assert stored_rows(sender) == saved + 1

    asyncio.run(scenario())


def check_rasa_as_shipped_would_have_forgotten_the_complaint() -> None:
    # The same break without the patch: what the module exists to stop (proves the check can fail).
    try:

        async def scenario() -> None:
            store, sender = new_store(), "web:failsafe-shipped"
            failsafe.uninstall()  # after the store: making one installs the patch
            tracker = await a_complaint_under_way(store, sender)
            break_database()
            try:
                fresh = await store.get_or_create_tracker(sender)
                assert fresh.get_slot("waybill") is None  # a fresh tracker: the complaint is gone
                tracker.update(UserUttered("and the box was wet"))
                await store.save(tracker)
                assert isinstance(store._fallback_tracker_store, InMemoryTrackerStore)
            finally:
                mend_database()

        asyncio.run(scenario())
    finally:
        assert failsafe.install()


def check_a_failed_turn_answers_503_on_the_turn_routes_only() -> None:
    async def scenario() -> None:
        empty = json_response([])
        hub = SimpleNamespace(path="/webhooks/hub/webhook")
        status = SimpleNamespace(path="/webhooks/tracker_store/")
        await failsafe.track_request(hub)  # type: ignore[arg-type]
        assert await failsafe.fail_the_turn(hub, empty) is None  # type: ignore[arg-type]
        failsafe._REQUEST_FAILURES.get().append("retrieve")  # type: ignore[union-attr]
        failed = await failsafe.fail_the_turn(hub, empty)  # type: ignore[arg-type]
        assert failed is not None and failed.status == 503
        assert await failsafe.fail_the_turn(status, empty) is None  # type: ignore[arg-type]

    asyncio.run(scenario())


def check_another_rasa_version_keeps_the_fail_safe_as_shipped() -> None:
    version = rasa.__version__
    failsafe.uninstall()
    try:
        rasa.__version__ = "3.7.0"
        assert failsafe.install() is False
        assert FailSafeTrackerStore.save is not failsafe._save
    finally:
        rasa.__version__ = version
        assert failsafe.install()
        assert FailSafeTrackerStore.save is failsafe._save


if __name__ == "__main__":
    sys.exit(run_checks(globals()))
