"""The actions' door to the backend: one session factory per action-server process, made on first use."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session, sessionmaker

from backend.config import get_settings
from backend.db import make_engine, make_session_factory, session_scope
from backend.i18n import N_

# Said when the database cannot be reached: polite, and it tells the customer what to do.
BACKEND_DOWN_TEXT = N_(
    "Sorry, I can't reach our shipment records right now. Please try again in a few minutes, "
    'or say "agent" and a person will take over.'
)


@lru_cache(maxsize=1)
def _session_factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine(get_settings().database_url))


@contextmanager
def backend_session() -> Iterator[Session]:
    """A short transaction against the system of record."""
    with session_scope(_session_factory()) as session:
        yield session


class BlockingAction(Action, ABC):
    """An action whose work blocks on the database: it runs in a worker thread, so the action server's
    event loop goes on serving other conversations meanwhile."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return await asyncio.to_thread(self.act, dispatcher, tracker, domain)

    @abstractmethod
    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """The action's work, as rasa-sdk's `run` would do it."""
