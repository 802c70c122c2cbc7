"""Engine, session factory and transaction helpers; nothing here connects until called."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for in-memory and non-SQLite URLs."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets the backend and the action server read while the other writes.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # With WAL, NORMAL syncs the log at checkpoints, not at every commit: a committed turn survives a
        # crash of any of our processes (the log is in the OS's hands once the commit returns), and only
        # a power cut of the machine in that instant can lose the last commits. That is the durability
        # the hub's turns need, without an fsync per message (FULL costs one on every commit).
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, a busy timeout and its directory created.

    hide_parameters keeps bound values (phone numbers, message text) out of logs and error messages.
    """
    if make_url(url).get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, hide_parameters=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """The one session factory of a process; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A short transaction: commit on success, roll back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def database_session(url: str) -> Iterator[Session]:
    """One transaction on a database of its own engine, disposed afterwards: for commands and tools that
    touch a database once (the CLI, the seed), not for a server's process, which keeps its engine."""
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def try_job_lock(session: Session, space: int, key: int) -> bool:
    """Take a periodic job's lock until the transaction ends; False when another process holds it.

    PostgreSQL: a transaction-scoped advisory lock named by (`space`, `key`), one pair per job.
    SQLite has one writer at a time: a second runner waits for the write lock, then finds the work done.
    """
    if session.get_bind().dialect.name == "postgresql":
        return bool(
            session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:space, :key)"), {"space": space, "key": key}
            )
        )
    begin_write(session)
    return True


def begin_write(session: Session) -> None:
    """Take SQLite's write lock now, so a read-then-write sequence cannot race another process.

    pysqlite only opens a transaction at the first INSERT/UPDATE/DELETE, so a SELECT followed by an INSERT
    is not atomic, and a SAVEPOINT opened outside a transaction commits on release. Starting the
    transaction with BEGIN IMMEDIATE fixes both. PostgreSQL needs nothing here: callers rely on unique
    constraints and savepoints there.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if isinstance(raw, sqlite3.Connection) and not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")
