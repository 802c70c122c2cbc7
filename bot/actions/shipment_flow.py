"""Answering a question about one shipment, shared by the shipment, complaint and stock-reply actions.

Dialogue logic, not an action: it finds the shipment a question is about (through the client), puts
the record into words and says what to set; the actions decide when to call it.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.config import carrier_today, carrier_tz
from backend.domain import ShipmentView
from backend.i18n import N_, t, variants
from backend.waybill import find_in_text

from . import client
from .base import say_backend_down
from .buttons import yes_no
from .client import BackendUnavailable
from .complaint_parsing import says_no_number
from .dialogue import last_bot_text
from .shipment_text import (
    OFFER_TEXT,
    has_problem,
    not_found_text,
    shipment_answer,
    status_text,
    waybill_problem_text,
)
from .shipper_language import language

# Which part of the record a question is about, by the intent that asked it. `track_shipment` is not
# here: it is also a bare waybill number, which answers the question still pending (else the status).
ASPECT_BY_INTENT = {
    "ask_signed_by": "signed_by",
    "ask_eta": "eta",
    "ask_delay_reason": "delay_reason",
}

ASK_WAYBILL_TEXT = N_(
    "Sure, I can check that. What's the waybill number? It has 13 characters, like EA123456785CN. "
    "If you don't have it, I can find your shipments by your phone number."
)
NO_NUMBER_HELP_TEXT = N_(
    "No problem. Without the waybill number I can still find your shipments by the phone number on "
    'your account (just send it), or a colleague can look with you: say "agent".'
)
NO_MATCH_TEXT = N_(
    "That shipment isn't on the account of the phone number you gave, so for your privacy I can't list "
    "the account's shipments. I'm happy to answer about any shipment whose waybill number you have."
)


def answer_shipment(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    aspect: str,
    text: str = "",
    *,
    view: ShipmentView | None = None,
) -> dict[str, Any]:
    """Answers one question about a shipment (the waybill in `text` or the conversation's, or the record
    the caller already holds); slot updates. Raises BackendUnavailable when the record cannot be read."""
    lang = language(tracker)
    if view is None:
        view_or_updates = _find_shipment(dispatcher, tracker, aspect, text, lang)
        if isinstance(view_or_updates, dict):
            return view_or_updates
        view = view_or_updates
    answer = shipment_answer(view, aspect, tz=carrier_tz(), today=carrier_today(), language=lang)
    dispatcher.utter_message(text=answer)
    return {"waybill": view.waybill, "pending_question": None, "_view": view}


def _find_shipment(
    dispatcher: CollectingDispatcher, tracker: Tracker, aspect: str, text: str, lang: str
) -> ShipmentView | dict[str, Any]:
    """The shipment a question is about, or what to say and set when there is none to answer about."""
    found = find_in_text(text)
    if found is not None and found.status != "valid":
        dispatcher.utter_message(text=waybill_problem_text(found, lang))
        return {"pending_question": aspect}
    waybill = found.value if found else tracker.get_slot("waybill")
    if not waybill:
        if says_no_number(text) or last_bot_text(tracker) in variants(ASK_WAYBILL_TEXT):
            # Asked once already, or they have no number: do not ask the same thing again.
            dispatcher.utter_message(text=t(lang, NO_NUMBER_HELP_TEXT))
            return {"pending_question": None}
        dispatcher.utter_message(text=t(lang, ASK_WAYBILL_TEXT))
        return {"pending_question": aspect}
    # The conversation asked about it: it hears of the shipment's next changes.
    view = client.shipment(waybill, conversation_id=tracker.sender_id)
    if view is None:
        dispatcher.utter_message(text=not_found_text(waybill, lang))
        return {"pending_question": aspect, "waybill": None}
    return view


def answer_question(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
) -> list[EventType]:
    """A question about one shipment, the waybill in the message or the conversation: the answer, a
    phone number proved by it, and the offer of a complaint when the record shows a problem."""
    intent = tracker.get_intent_of_latest_message() or ""
    aspect = ASPECT_BY_INTENT.get(intent) or tracker.get_slot("pending_question") or "status"
    updates = answer_shipment(dispatcher, tracker, aspect, tracker.latest_message.get("text") or "")
    view: ShipmentView | None = updates.pop("_view", None)
    events: list[EventType] = [SlotSet(slot, value) for slot, value in updates.items()]
    if view is None:
        return events
    if tracker.get_slot("phone_to_verify"):
        events += _finish_phone_check(dispatcher, tracker, view)
    # Offer a complaint for a problem shipment, but not while one is already being taken.
    if has_problem(view) and tracker.active_loop_name is None and not tracker.get_slot("ticket_number"):
        lang = language(tracker)
        dispatcher.utter_message(
            text=t(lang, OFFER_TEXT), buttons=yes_no(t(lang, "Yes, please"), t(lang, "No, thanks"))
        )
        events.append(SlotSet("awaiting", "complaint_offer"))
    else:
        events.append(SlotSet("awaiting", None))
    return events


def _finish_phone_check(
    dispatcher: CollectingDispatcher, tracker: Tracker, view: ShipmentView
) -> list[EventType]:
    """The waybill asked for to prove a phone number: list the account's shipments if both match."""
    try:
        found = client.prove_phone(
            conversation_id=tracker.sender_id,
            phone=tracker.get_slot("phone_to_verify"),
            customer_id=view.customer_id,
        )
    except BackendUnavailable as failure:
        # The answer about the shipment stands; only the list is missing.
        say_backend_down(dispatcher, tracker, failure)
        return []
    lang = language(tracker)
    if not found.proven:
        dispatcher.utter_message(text=t(lang, NO_MATCH_TEXT))
        return [SlotSet("phone_to_verify", None)]
    dispatcher.utter_message(text=shipment_list_text(found.shipments, lang))
    return [SlotSet("phone_to_verify", None)]


def shipment_list_text(views: list[ShipmentView], lang: str = "en") -> str:
    """The account's recent shipments, one line each."""
    tz, today = carrier_tz(), carrier_today()
    lines = [t(lang, "I found {count} recent shipment(s) on your account:", count=len(views))]
    lines += [
        t(lang, "- {waybill}: {status}", waybill=v.waybill, status=status_text(v, tz, today, lang))
        for v in views
    ]
    lines.append(t(lang, "Send me one of the numbers for the full details."))
    return "\n".join(lines)
