"""Rasa's SQL tracker store without the per-turn replay and row count, and with one kept SQLite connection.

endpoints.yml names it (`type: bot.stores.tracker.KeptSQLTrackerStore`, the SQL store's own settings);
every event is still written to the same `events` table before the turn is answered, so a restarted
Rasa resumes every conversation from the database exactly as with `type: SQL`.

What a turn cost with Rasa 3.6.21's `SQLTrackerStore`, and what this store does instead:
- `retrieve` read every event of the session, parsed it and replayed it into a new tracker; a tracker
  this process saved is kept (bounded, least recently used first out) and handed back when the table
  shows no event for the conversation newer than the ones it saved (one indexed `max(id)` lookup), so
  another Rasa process writing the same conversation is still seen.
- `save` counted the stored rows of the session to know which events were new; a kept tracker knows how
  many of its events are stored.
- On SQLite every statement opened a new connection (SQLAlchemy 1.4's `NullPool`); one connection is
  kept, with `synchronous=NORMAL` when the file is in WAL mode (tools/stack.py sets it): a commit then
  survives a crash of Rasa, only not a power cut of the machine in the same instant.
- On PostgreSQL the pool is bounded (`pool_size`, `max_overflow`, `pool_timeout`, `connect_timeout` in
  endpoints.yml's tracker_store section; 5 + 5 by default instead of Rasa's 50 + 100), so several Rasa
  processes fit in the server's connection limit; connections are not pinged before each use (below).
- On PostgreSQL the store's reads and writes run on a thread of their own instead of Sanic's event loop.
  Rasa's SQL store is synchronous: every round trip to the server stopped the whole process, NLU and
  policies of every other conversation included, while PostgreSQL (on a busy machine, waiting for a
  core itself) answered: in profiles of the production profile under load, about 40% of a busy Rasa's
  time (issue 18). SQLite answers from a local file faster than a thread hop, so it stays on the loop.

Several Rasa processes on one database: the kept tracker is validated, not switched off. Every
`retrieve` of a kept tracker costs the one `max(id)` lookup above, which sees any event another process
saved, so a stale tracker is never handed out; the Redis lock store serialises the turns of a
conversation across processes, so nothing is written between that check and this process's save. The
alternative, no cache with several processes, would replay the whole session every turn (what issue 17
measured as the cost to remove) for no gain in safety.
Anything this store cannot vouch for (an event broker to feed, a new session, a tracker built
elsewhere, another Rasa version) goes the SQL store's own way.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_tuning
from bot.stores import failsafe

logger = logging.getLogger(__name__)

KEPT_CONVERSATIONS = 2000
# A bounded pool per Rasa process on a server database (Rasa's own default is 50 + 100 overflow: two
# processes could ask PostgreSQL, whose default limit is 100, for 300 connections). Rasa serves the store
# from one event-loop thread, so a few connections are plenty; endpoints.yml may set other values.
POOL_SIZE = 5
MAX_OVERFLOW = 5
POOL_TIMEOUT_S = 5.0
# Longer than this to connect and the database counts as down for this turn (fails loudly, see failsafe).
CONNECT_TIMEOUT_S = 5
_LAST_ID = sa.text("SELECT max(id) FROM events WHERE sender_id = :sender_id")


@dataclass
class _Kept:
    tracker: DialogueStateTracker
    stored: int  # how many of tracker.events are in the table
    last_id: int  # the largest events.id of the conversation after the save


class KeptSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that keeps the trackers it saved instead of reading them back every turn."""

    def __init__(
        self,
        *args: Any,
        kept: int = KEPT_CONVERSATIONS,
        pool_size: int = POOL_SIZE,
        max_overflow: int = MAX_OVERFLOW,
        pool_timeout: float = POOL_TIMEOUT_S,
        connect_timeout: int = CONNECT_TIMEOUT_S,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Rasa wraps this store in its fail-safe next; a database error must fail the turn (issue 18).
        failsafe.install()
        self.tuned = rasa_tuning.supported()
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._capacity = int(kept)
        self._io: _StoreThread | None = None
        if not self.tuned:
            logger.warning(
                "Rasa is not %s: the tracker store works as Rasa's SQL store", rasa_tuning.SUPPORTED_RASA
            )
            return
        rasa_tuning.apply()
        engine: Any = self.engine
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            self._keep_sqlite_connection(engine)
        elif engine.dialect.name == "postgresql":
            self._bounded_pool(
                engine, int(pool_size), int(max_overflow), float(pool_timeout), int(connect_timeout)
            )
            self._io = _StoreThread()

    def _bounded_pool(
        self, engine: Any, pool_size: int, max_overflow: int, pool_timeout: float, connect_timeout: int
    ) -> None:
        url = engine.url
        # Rasa's own engine settings (POSTGRESQL_SCHEMA travels as a connection option) minus its pool.
        connect_args: dict[str, Any] = dict(create_engine_kwargs(url).get("connect_args") or {})
        connect_args["connect_timeout"] = connect_timeout
        engine.dispose()
        self.engine = sa.create_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            # No ping before each use: it was a round trip on the event loop for every statement, about a
            # tenth of a busy Rasa's time under load. A connection PostgreSQL closed (a restart, a
            # failover) fails the one turn that meets it, loudly (the hub tries it again), and SQLAlchemy
            # then drops every pooled connection older than the error, so the next turn connects afresh.
            pool_pre_ping=False,
            connect_args=connect_args,
        )
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    def _keep_sqlite_connection(self, engine: Any) -> None:
        url = engine.url
        engine.dispose()
        # Rasa calls the store from Sanic's one event-loop thread; one connection serves every call.
        self.engine = sa.create_engine(
            url, poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False}
        )

        @sa.event.listens_for(self.engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() == "wal":
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    @property
    def keeps(self) -> bool:
        """Trackers may be kept: Rasa is the tuned version and no event broker needs Rasa's diff."""
        return self.tuned and self.event_broker is None

    def _last_id(self, session: Any, sender_id: str) -> int:
        # A plain statement: the ORM query that says the same costs several times as much per turn.
        value = session.execute(_LAST_ID, {"sender_id": sender_id}).scalar()
        return int(value or 0)

    async def _off_loop(self, work: Coroutine[Any, Any, Any]) -> Any:
        """Runs the store's work on its own thread when it has one (a server database), else here."""
        if self._io is None:
            return await work
        return await self._io.run(work)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        with rasa_tuning.timed("tracker_read"):
            return await self._off_loop(self._retrieve_kept(sender_id))

    async def _retrieve_kept(self, sender_id: str) -> DialogueStateTracker | None:
        kept = self._kept.get(sender_id) if self.keeps else None
        if kept is not None:
            with self.session_scope() as session:
                fresh = self._last_id(session, sender_id) == kept.last_id
            if fresh and len(kept.tracker.events) == kept.stored:
                self._kept.move_to_end(sender_id)
                return kept.tracker
            # Written by someone else, or changed here and never saved: the table says what is true.
            del self._kept[sender_id]
        return await super().retrieve(sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        with rasa_tuning.timed("tracker_save"):
            await self._off_loop(self._save_kept(tracker))

    async def _save_kept(self, tracker: DialogueStateTracker) -> None:
        if not self.keeps:
            await super().save(tracker)
            return
        sender_id = tracker.sender_id
        kept = self._kept.pop(sender_id, None)
        if kept is None or kept.tracker is not tracker:
            await super().save(tracker)
            with self.session_scope() as session:
                self._remember(tracker, len(tracker.events), self._last_id(session, sender_id))
            return
        with self.session_scope() as session:
            rows = [self._row(sender_id, event) for event in list(tracker.events)[kept.stored :]]
            session.add_all(rows)
            # The ids the rows got are the conversation's newest: no query for them after the commit.
            session.flush()
            last_id = max((row.id for row in rows), default=kept.last_id)
            session.commit()
        self._remember(tracker, len(tracker.events), last_id)

    def _row(self, sender_id: str, event: Any) -> Any:
        # The row SQLTrackerStore.save writes (rasa/core/tracker_store.py, 3.6.21).
        import json

        from rasa.shared.nlu.constants import INTENT_NAME_KEY

        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"),
            data=json.dumps(data),
        )

    def _remember(self, tracker: DialogueStateTracker, stored: int, last_id: int) -> None:
        if sum(isinstance(event, SessionStarted) for event in tracker.events) > 1:
            # It holds an earlier session too: the next turn reads only the latest one, as Rasa does.
            return
        self._kept[tracker.sender_id] = _Kept(tracker, stored, last_id)
        self._kept.move_to_end(tracker.sender_id)
        while len(self._kept) > self._capacity:
            self._kept.popitem(last=False)


class _StoreThread:
    """One thread with an event loop of its own that runs the store's coroutines one after another.

    One thread, not a pool: the kept trackers are then only ever touched there, and a turn's read and
    save (one conversation's turns are serialised by the lock store anyway) never race each other.
    Started at first use, in the process that uses it (Sanic may fork after the store is built).
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._start = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._start:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="tracker-store", daemon=True).start()
                self._loop = loop
            return self._loop

    async def run(self, work: Coroutine[Any, Any, Any]) -> Any:
        future = asyncio.run_coroutine_threadsafe(work, self._running_loop())
        return await asyncio.wrap_future(future)
