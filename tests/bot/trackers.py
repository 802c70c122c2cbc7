"""Trackers from small dicts and one run of an action, as financial-demo's action tests build them.

Every action test: a Tracker from a small dict, a fresh CollectingDispatcher, the action run once, then
assertions on the exact events returned and the texts dispatched.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from backend.domain import ShipmentView
from backend.services.shipments import get_shipment
from bot.actions import client
from tests.backend.factories import carrier_today

DOMAIN: dict[str, Any] = {}


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


def applied(events: list[EventType], slots: dict[str, Any] | None = None) -> dict[str, Any]:
    """The slots after the events, as Rasa would apply them."""
    out = dict(slots or {})
    out.update({e["name"]: e["value"] for e in events if e.get("event") == "slot"})
    return out
