"""Action fixtures: a migrated, seeded SQLite file behind bot.actions.client, and a Tracker builder.

Style of financial-demo's action tests: a Tracker from a small dict, a fresh CollectingDispatcher, the
action run once, then assertions on the exact events returned and the texts dispatched.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import delete

from backend.config import get_settings
from backend.domain import ShipmentView
from backend.migrate import upgrade
from backend.models import Ticket, TicketEvent
from backend.seed import seed_demo
from backend.services.shipments import get_shipment
from bot.actions import client
from tests.backend.conftest import CARRIER_TZ, carrier_today

DOMAIN: dict[str, Any] = {}


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


def shipment(waybill: str) -> ShipmentView:
    """The seeded record of a demo waybill, as the actions see it today."""
    with client.transaction() as session:
        view = get_shipment(session, waybill, today=carrier_today())
    assert view is not None, waybill
    return view


def new_sender() -> str:
    """A fresh Telegram-style conversation id, so tests never share tickets or conversation state."""
    return f"telegram:{uuid.uuid4().hex[:12]}"


def make_tracker(
    text: str = "",
    *,
    intent: str | None = None,
    slots: dict[str, Any] | None = None,
    sender_id: str | None = None,
    message_id: str | None = None,
    active_loop: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker as the action server receives it, from a small dict."""
    return Tracker.from_dict(
        {
            "sender_id": sender_id or new_sender(),
            "slots": dict(slots or {}),
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 1.0} if intent else {},
                # rasa-sdk reads the intent from the ranking, as Rasa sends it.
                "intent_ranking": [{"name": intent, "confidence": 1.0}] if intent else [],
                "entities": [],
                "message_id": message_id or uuid.uuid4().hex,
            },
            "events": [],
            "active_loop": dict(active_loop or {}),
        }
    )


def run(action: Action, tracker: Tracker) -> tuple[list[EventType], list[str]]:
    """Runs an action once; returns its events and the texts it sent."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return list(events), [message_text(m) for m in dispatcher.messages]


def message_text(message: dict[str, Any]) -> str:
    """The text of a dispatched message, plain or inside a custom payload (Telegram's contact button)."""
    return str(message.get("text") or (message.get("custom") or {}).get("text") or "")


def validate(validator: Any, method: str, value: Any, tracker: Tracker) -> tuple[dict[str, Any], list[str]]:
    """Calls one validate_<slot> method; returns its slot changes and the texts it sent."""
    dispatcher = CollectingDispatcher()
    result = getattr(validator, method)(value, dispatcher, tracker, DOMAIN)
    return dict(result), [m["text"] for m in dispatcher.messages]
