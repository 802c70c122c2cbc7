"""bot.stores.tracker on PostgreSQL inside Rasa 3.6.21 (.venv-rasa): a bounded pool, and two Rasa
processes (two stores, each with its own engine and kept trackers) never hand out a stale tracker.

Run by tests/bot/test_tracker_store_postgres.py with `TRACKER_CHECK_URL`, a database of its own.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered

from bot.stores.tracker import KeptSQLTrackerStore
from tests.rasa.checks import run_checks

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
URL = sa.engine.make_url(os.environ.get("TRACKER_CHECK_URL", ""))


def a_process(**pool: Any) -> FailSafeTrackerStore:
    """What one Rasa process builds from endpoints.yml (the settings tools/stack.py writes)."""
    inner = KeptSQLTrackerStore(
        DOMAIN,
        dialect="postgresql",
        host=URL.host,
        port=URL.port,
        db=URL.database,
        username=URL.username,
        password=URL.password,
        **pool,
    )
    return Agent._create_tracker_store(inner, DOMAIN)


def connections() -> int:
    admin = sa.create_engine(URL.set(drivername="postgresql+psycopg2"))
    try:
        with admin.connect() as connection:
            return int(
                connection.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"
                    ),
                    {"d": URL.database},
                ).scalar()
                or 0
            )
    finally:
        admin.dispose()


def check_the_pool_is_bounded_as_the_endpoints_say() -> None:
    store = a_process(pool_size=2, max_overflow=1, pool_timeout=3)
    pool: Any = store._tracker_store.engine.pool
    assert type(pool).__name__ == "QueuePool"
    assert pool.size() == 2 and pool._max_overflow == 1 and pool._timeout == 3
    assert pool._pre_ping is False  # a dropped connection costs one failed turn, not a ping per use
    default: Any = a_process()._tracker_store.engine.pool
    assert default.size() == 5 and default._max_overflow == 5  # not Rasa's 50 + 100

    async def many_turns() -> None:
        for number in range(30):
            tracker = await store.get_or_create_tracker(f"web:pool-{number}")
            tracker.update(UserUttered(f"hello {number}"))
            await store.save(tracker)

    asyncio.run(many_turns())
    assert connections() <= 2 + 1 + 5  # this store's bound, plus the default store's one connection


def check_connections_the_server_dropped_fail_one_turn_loudly_and_are_replaced() -> None:
    store = a_process()
    sender = "web:dropped-connections"

    async def turn(text: str) -> None:
        tracker = await store.get_or_create_tracker(sender)
        tracker.update(UserUttered(text))
        await store.save(tracker)

    asyncio.run(turn("before the restart"))
    admin = sa.create_engine(URL.set(drivername="postgresql+psycopg2"))
    try:
        with admin.connect() as connection:  # what a restart of PostgreSQL does to open connections
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :d AND pid <> pg_backend_pid()"
                ),
                {"d": URL.database},
            )
    finally:
        admin.dispose()
    failed = False
    try:
        asyncio.run(turn("met a dropped connection"))
    except Exception:  # the fail-safe fails the turn loudly (the hub tries it again)
        failed = True
    asyncio.run(turn("after the restart"))
    texts = [e.text for e in asyncio.run(store.retrieve(sender)).events if isinstance(e, UserUttered)]
    assert texts[0] == "before the restart" and texts[-1] == "after the restart", texts
    assert failed or "met a dropped connection" in texts  # never silently forgotten


def check_two_processes_take_turns_on_one_conversation_and_never_see_a_stale_tracker() -> None:
    first, second = a_process(), a_process()
    sender = "web:two-processes"

    async def turns() -> None:
        tracker = await first.get_or_create_tracker(sender)
        tracker.update(UserUttered("my parcel EA100000025CN is late"))
        await first.save(tracker)
        # The next message is served by the other process: it reads what the first one saved.
        other = await second.get_or_create_tracker(sender)
        assert [e.text for e in other.events if isinstance(e, UserUttered)] == [
            "my parcel EA100000025CN is late"
        ]
        other.update(SlotSet("waybill", "EA100000025CN"))
        other.update(UserUttered("it was promised for Monday"))
        await second.save(other)
        # Back to the first process, which still keeps its own copy: it must not hand that one out.
        again = await first.get_or_create_tracker(sender)
        assert again is not tracker
        assert again.get_slot("waybill") == "EA100000025CN"
        assert [e.text for e in again.events if isinstance(e, UserUttered)] == [
            "my parcel EA100000025CN is late",
            "it was promised for Monday",
        ]
        again.update(UserUttered("please hurry"))
        await first.save(again)
        last = await second.get_or_create_tracker(sender)
        assert [e.text for e in last.events if isinstance(e, UserUttered)][-1] == "please hurry"
        # Every event stored once: no process wrote another's events again.
        rows = await second._tracker_store.retrieve_full_tracker(sender)
        assert rows is not None and len(rows.events) == len(last.events)

    asyncio.run(turns())


def check_the_stores_database_work_leaves_rasas_event_loop_free() -> None:
    """A slow PostgreSQL (here a statement that sleeps) must not stop the other conversations' turns:
    Rasa runs NLU and policies for them on the same event loop the store's calls are awaited on."""
    store = a_process()
    inner: Any = store._tracker_store
    sender = "web:slow-database"
    original = inner._last_id

    def slow_last_id(session: Any, sender_id: str) -> int:
        session.execute(sa.text("SELECT pg_sleep(0.5)"))
        return int(original(session, sender_id))

    async def turns() -> int:
        tracker = await store.get_or_create_tracker(sender)
        tracker.update(UserUttered("where is my parcel?"))
        await store.save(tracker)
        inner._last_id = slow_last_id
        ticks = 0

        async def other_conversations() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(other_conversations())
        kept = await store.retrieve(sender)  # the kept tracker, checked against the table: 0.5 s
        ticker.cancel()
        assert kept is not None and kept.latest_message.text == "where is my parcel?"
        return ticks

    ticks = asyncio.run(turns())
    assert ticks >= 20, f"the event loop ran only {ticks} times in 0.5 s of database work"


if __name__ == "__main__":
    sys.exit(run_checks(globals()))
