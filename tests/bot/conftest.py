"""Action fixtures: a migrated, seeded SQLite file behind bot.actions.client, a stopped clock, no tickets.

The Tracker builder and the action runner are in tests/bot/trackers.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import delete

from backend.config import get_settings
from backend.migrate import upgrade
from backend.models import Ticket, TicketEvent
from backend.seed import seed_demo
from bot.actions import client
from tests.backend.factories import CARRIER_TZ, carrier_today


def _clear_caches() -> None:
    get_settings.cache_clear()
    client._session_factory.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def bot_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The database the actions talk to: migrated and seeded once for the whole run."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('bot')) / 'actions.db'}"
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    _clear_caches()
    upgrade(url)
    with client.transaction() as session:
        seed_demo(session, today=carrier_today(), tz=CARRIER_TZ)
    try:
        yield url
    finally:
        client._session_factory().kw["bind"].dispose()
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
        _clear_caches()


@pytest.fixture(autouse=True)
def no_tickets(bot_db: str) -> Iterator[None]:
    """Every test starts without tickets: a second complaint on a waybill would make it serious."""
    yield
    with client.transaction() as session:
        session.execute(delete(TicketEvent))
        session.execute(delete(Ticket))


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The actions' clock, stopped on a whole minute so the promised reply times can be compared."""
    moment = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    for module in (
        "bot.actions.complaints",
        "bot.actions.complaint_flow",
        "bot.actions.complaint_texts",
        "bot.actions.handoff_flow",
    ):
        monkeypatch.setattr(f"{module}.utcnow", lambda: moment)
    return moment


@pytest.fixture
def today() -> date:
    return carrier_today()
