"""The system of record as the service layer offers it to a process outside the web app (the action server).

Callers such as bot/actions/client.py own their session factory and its lifetime; they reach the
database only through this module and the services, never through backend.db or the models.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory, session_scope


def open_store(database_url: str) -> sessionmaker[Session]:
    """A session factory on the database at `database_url` (one per process, made when first needed)."""
    return make_session_factory(make_engine(database_url))


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A short transaction: commit on success, roll back on any exception."""
    with session_scope(factory) as session:
        yield session
