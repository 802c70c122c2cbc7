"""Stored webhook updates: kept in the database before Telegram gets its 200, fed again if a process died.

Telegram forgets an update once the webhook answered 200, so the update is committed first. The process
that stored it claims it at once and marks it processed when the hub has taken it; an update still
unprocessed when its claim is older than the lease belonged to a process that died (or hung), and any
process claims it again with a conditional UPDATE, so exactly one of them feeds it. The hub dedupes by
channel message id, so an update whose message was already stored is not answered twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from backend.clock import utcnow
from backend.db import session_scope
from backend.models import TelegramUpdate

logger = logging.getLogger(__name__)

# An update that failed this often is given up (logged), so one poisonous update cannot loop forever.
MAX_ATTEMPTS = 5
# At most this many stale updates are taken per sweep; the next sweep takes the rest.
SWEEP_BATCH = 100

# Every update is stored, then marked processed in the hub's transaction: Core statements built once
# (the ORM's unit of work and a failed INSERT's rollback cost more than the SQL itself).
_UPDATES: Table = TelegramUpdate.__table__  # type: ignore[assignment]
_COLUMNS = ("bot_id", "update_id", "payload", "received_at", "claimed_at", "attempts")
# A redelivered update hits the primary key and inserts nothing (SQLite and PostgreSQL read the same
# ON CONFLICT); a text statement, because SQLAlchemy 2.0 compiles its dialect inserts with ON CONFLICT
# every time.
_STORE = text(
    f"INSERT INTO telegram_update ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join(':' + name for name in _COLUMNS)}) "
    "ON CONFLICT (bot_id, update_id) DO NOTHING RETURNING update_id"
).bindparams(*(bindparam(name, type_=_UPDATES.c[name].type) for name in _COLUMNS))
_MARK_PROCESSED = (
    update(_UPDATES)
    .where(
        _UPDATES.c.bot_id == bindparam("bot"),
        _UPDATES.c.update_id == bindparam("update"),
        _UPDATES.c.processed_at.is_(None),
    )
    .values(processed_at=bindparam("now"))
)


class UpdateInbox:
    """The `telegram_update` rows of one bot: store, claim stale ones, mark processed (blocking calls)."""

    def __init__(self, factory: sessionmaker[Session], bot_id: int, *, lease_s: float) -> None:
        self._factory = factory
        self.bot_id = bot_id
        self.lease = timedelta(seconds=lease_s)

    def store(self, update_id: int, payload: dict[str, Any]) -> bool:
        """Commits a new update, claimed by this process; False for one already stored (a redelivery)."""
        now = utcnow()
        values = {
            "bot_id": self.bot_id,
            "update_id": update_id,
            "payload": payload,
            "received_at": now,
            "claimed_at": now,
            "attempts": 1,
        }
        with session_scope(self._factory) as session:
            stored = session.connection().execute(_STORE, values).scalar()
        return stored is not None

    def mark_processed(self, update_id: int) -> None:
        """The hub has taken the update: it is never fed again."""
        with session_scope(self._factory) as session:
            self.mark_processed_in(session, update_id)

    def mark_processed_in(self, session: Session, update_id: int) -> None:
        """mark_processed in the caller's transaction (the one where the hub stores the message)."""
        session.connection().execute(
            _MARK_PROCESSED, {"bot": self.bot_id, "update": update_id, "now": utcnow()}
        )

    def claim_stale(self) -> list[dict[str, Any]]:
        """The payloads of unprocessed updates whose lease ran out, now claimed by this process, oldest
        first. Each claim is a conditional UPDATE: of two processes sweeping at once, one wins each row."""
        now = utcnow()
        stale = and_(
            TelegramUpdate.bot_id == self.bot_id,
            TelegramUpdate.processed_at.is_(None),
            TelegramUpdate.claimed_at < now - self.lease,
        )
        claimed: list[dict[str, Any]] = []
        with session_scope(self._factory) as session:
            candidates = session.execute(
                select(TelegramUpdate.update_id, TelegramUpdate.attempts)
                .where(stale)
                .order_by(TelegramUpdate.update_id)
                .limit(SWEEP_BATCH)
            ).all()
        for update_id, attempts in candidates:
            with session_scope(self._factory) as session:
                mine = and_(stale, TelegramUpdate.update_id == update_id)
                if attempts >= MAX_ATTEMPTS:
                    result = session.execute(update(TelegramUpdate).where(mine).values(processed_at=now))
                    if result.rowcount:
                        logger.error(
                            "Telegram update %s failed %s times; given up (see the errors above)",
                            update_id,
                            attempts,
                        )
                    continue
                result = session.execute(
                    update(TelegramUpdate)
                    .where(mine)
                    .values(claimed_at=now, attempts=TelegramUpdate.attempts + 1)
                )
                if result.rowcount != 1:
                    continue  # another process claimed it between the read and this update
                payload = session.scalar(
                    select(TelegramUpdate.payload).where(
                        TelegramUpdate.bot_id == self.bot_id, TelegramUpdate.update_id == update_id
                    )
                )
            if payload is not None:
                claimed.append(payload)
        return claimed
