"""Shipment inquiries: status, who signed, when it arrives, why it is late, lookup by phone."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from backend.config import carrier_today, carrier_tz
from backend.phones import find_phone_in_text
from backend.services.shipments import find_shipments_by_phone, get_shipment
from backend.waybill import WaybillCheck, find_in_text

from .backend import BACKEND_DOWN_TEXT, backend_session
from .shipment_text import OFFER_TEXT, has_problem, shipment_answer, status_text

logger = logging.getLogger(__name__)

# Which part of the record a question is about, by the intent that asked it.
ASPECT_BY_INTENT = {
    "track_shipment": "status",
    "ask_signed_by": "signed_by",
    "ask_eta": "eta",
    "ask_delay_reason": "delay_reason",
}

ASK_WAYBILL_TEXT = (
    "Sure, I can check that. What's the waybill number? It has 13 characters, like EA123456785CN. "
    "If you don't have it, I can find your shipments by your phone number."
)


def mistyped_text(number: str) -> str:
    return (
        f"Hmm, {number} looks mistyped: its check digit doesn't match. "
        "Could you check the number on your receipt and send it again?"
    )


def malformed_text(number: str) -> str:
    return (
        f"{number} doesn't look like a complete waybill number. Ours have 2 letters, 9 digits and "
        "2 letters, like EA123456785CN. Could you send it again?"
    )


def waybill_problem_text(found: WaybillCheck) -> str:
    """What to say about a number that is not a valid waybill: mistyped or incomplete."""
    return mistyped_text(found.value) if found.status == "mistyped" else malformed_text(found.value)


def not_found_text(number: str) -> str:
    return (
        f"I couldn't find a shipment with the number {number}. It may not be in our system yet if it was "
        "booked in the last few hours. Please check the number, or I can look up your shipments by the "
        'phone number on your account. You can also say "agent" to reach a person.'
    )


class ActionAnswerShipment(Action):
    """Answers a question about one shipment, finding the waybill in the message or the conversation."""

    def name(self) -> str:
        return "action_answer_shipment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = tracker.get_intent_of_latest_message() or ""
        aspect = ASPECT_BY_INTENT.get(intent) or tracker.get_slot("pending_question") or "status"
        found = find_in_text(tracker.latest_message.get("text") or "")
        if found is not None and found.status != "valid":
            dispatcher.utter_message(text=waybill_problem_text(found))
            return [SlotSet("pending_question", aspect)]
        waybill = found.value if found else tracker.get_slot("waybill")
        if not waybill:
            dispatcher.utter_message(text=ASK_WAYBILL_TEXT)
            return [SlotSet("pending_question", aspect)]
        try:
            with backend_session() as session:
                view = get_shipment(session, waybill, today=carrier_today())
        except SQLAlchemyError:
            logger.exception("shipment lookup failed")
            dispatcher.utter_message(text=BACKEND_DOWN_TEXT)
            return []
        if view is None:
            dispatcher.utter_message(text=not_found_text(waybill))
            return [SlotSet("pending_question", aspect), SlotSet("waybill", None)]
        dispatcher.utter_message(text=shipment_answer(view, aspect, tz=carrier_tz(), today=carrier_today()))
        events: list[EventType] = [SlotSet("waybill", view.waybill), SlotSet("pending_question", None)]
        # Offer a complaint for a problem shipment, but not while one is already being taken.
        if has_problem(view) and tracker.active_loop_name is None and not tracker.get_slot("ticket_number"):
            dispatcher.utter_message(text=OFFER_TEXT)
            events.append(SlotSet("awaiting", "complaint_offer"))
        else:
            events.append(SlotSet("awaiting", None))
        return events


class ActionFindByPhone(Action):
    """Lists the customer's recent shipments found by the phone number on their account."""

    def name(self) -> str:
        return "action_find_by_phone"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        phone = find_phone_in_text(tracker.latest_message.get("text") or "")
        if phone is None:
            dispatcher.utter_message(
                text="Of course. What's the phone number registered on your account? "
                "For example +86 139 1234 5678."
            )
            return [SlotSet("pending_question", "phone")]
        try:
            with backend_session() as session:
                views = find_shipments_by_phone(session, phone)
        except SQLAlchemyError:
            logger.exception("phone lookup failed")
            dispatcher.utter_message(text=BACKEND_DOWN_TEXT)
            return []
        if not views:
            dispatcher.utter_message(
                text="I couldn't find any shipments for that phone number. Is it the number registered "
                'on your account? You can also send the waybill number, or say "agent" for a person.'
            )
            return [SlotSet("pending_question", None)]
        tz, today = carrier_tz(), carrier_today()
        lines = [f"I found {len(views)} recent shipment(s) for that number:"]
        lines += [f"- {v.waybill}: {status_text(v, tz, today)}" for v in views]
        lines.append("Send me one of the numbers for the full details.")
        dispatcher.utter_message(text="\n".join(lines))
        events: list[EventType] = [SlotSet("pending_question", None)]
        if len(views) == 1:
            events.append(SlotSet("waybill", views[0].waybill))
        return events


class ActionDeclineOffer(Action):
    """The customer does not want a complaint after all."""

    def name(self) -> str:
        return "action_decline_offer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(
            text="All right, no complaint. I'll keep you informed if anything changes. "
            "Anything else I can check for you?"
        )
        return [SlotSet("awaiting", None)]
