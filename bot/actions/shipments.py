"""Shipment inquiries: status, who signed, when it arrives, why it is late, lookup by phone."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from backend.config import carrier_today, carrier_tz
from backend.domain import ShipmentView
from backend.phones import find_phone_in_text
from backend.services.conversations import parse_conversation_id, verified_customer_id, verify_customer
from backend.services.shipments import find_customer_by_phone, find_shipments_by_phone, get_shipment
from backend.waybill import WaybillCheck, find_in_text

from .backend import BACKEND_DOWN_TEXT, backend_session
from .buttons import yes_no
from .shipment_text import OFFER_TEXT, has_problem, shipment_answer, status_text

logger = logging.getLogger(__name__)

# Which part of the record a question is about, by the intent that asked it. `track_shipment` is not
# here: it is also a bare waybill number, which answers the question still pending (else the status).
ASPECT_BY_INTENT = {
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
        if tracker.get_slot("phone_to_verify"):
            events += self._finish_phone_check(dispatcher, tracker, view)
        # Offer a complaint for a problem shipment, but not while one is already being taken.
        if has_problem(view) and tracker.active_loop_name is None and not tracker.get_slot("ticket_number"):
            dispatcher.utter_message(text=OFFER_TEXT, buttons=yes_no("Yes, please", "No, thanks"))
            events.append(SlotSet("awaiting", "complaint_offer"))
        else:
            events.append(SlotSet("awaiting", None))
        return events

    @staticmethod
    def _finish_phone_check(
        dispatcher: CollectingDispatcher, tracker: Tracker, view: ShipmentView
    ) -> list[EventType]:
        """The waybill asked for to prove a phone number: list the account's shipments if both match."""
        phone = tracker.get_slot("phone_to_verify")
        try:
            with backend_session() as session:
                customer = find_customer_by_phone(session, phone)
                if customer is None or customer.id != view.customer_id:
                    dispatcher.utter_message(text=NO_MATCH_TEXT)
                    return [SlotSet("phone_to_verify", None)]
                verify_customer(session, conversation_id=tracker.sender_id, customer_id=customer.id)
                views = find_shipments_by_phone(session, phone, today=carrier_today())
        except SQLAlchemyError:
            logger.exception("phone check failed")
            dispatcher.utter_message(text=BACKEND_DOWN_TEXT)
            return []
        dispatcher.utter_message(text=shipment_list_text(views))
        return [SlotSet("phone_to_verify", None)]


NO_MATCH_TEXT = (
    "That shipment isn't on the account of the phone number you gave, so for your privacy I can't list "
    "the account's shipments. I'm happy to answer about any shipment whose waybill number you have."
)
PROVE_PHONE_TEXT = (
    "For your privacy, I can only list an account's shipments once I know it's yours. Please also send "
    "me the waybill number of one shipment on that account, and I'll list the others."
)
ASK_PHONE_TEXT = (
    "Of course. What's the phone number registered on your account? For example +86 139 1234 5678."
)
ASK_CONTACT_TEXT = (
    'Of course. Tap "Share my phone number" below and I\'ll list the shipments on your account.'
)
SHARE_CONTACT_TEXT = (
    "For your privacy, on Telegram I can list shipments only for the phone number of your own account. "
    'Tap "Share my phone number" below, or send me a waybill number.'
)


def shipment_list_text(views: list[ShipmentView]) -> str:
    """The account's recent shipments, one line each."""
    tz, today = carrier_tz(), carrier_today()
    lines = [f"I found {len(views)} recent shipment(s) on your account:"]
    lines += [f"- {v.waybill}: {status_text(v, tz, today)}" for v in views]
    lines.append("Send me one of the numbers for the full details.")
    return "\n".join(lines)


def utter_with_contact_button(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> None:
    """On Telegram, offer the button that shares the shipper's own contact; elsewhere plain text."""
    if parse_conversation_id(tracker.sender_id)[0] == "telegram":
        dispatcher.utter_message(json_message={"text": text, "request_contact": True})
    else:
        dispatcher.utter_message(text=text)


class ActionFindByPhone(Action):
    """Lists the customer's recent shipments found by the phone number on their account."""

    def name(self) -> str:
        return "action_find_by_phone"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        phone = find_phone_in_text(tracker.latest_message.get("text") or "")
        channel = parse_conversation_id(tracker.sender_id)[0]
        if phone is None:
            ask = ASK_CONTACT_TEXT if channel == "telegram" else ASK_PHONE_TEXT
            utter_with_contact_button(dispatcher, tracker, ask)
            return [SlotSet("pending_question", "phone")]
        try:
            with backend_session() as session:
                customer = find_customer_by_phone(session, phone)
                proven = (
                    customer is not None and verified_customer_id(session, tracker.sender_id) == customer.id
                )
                if not proven and customer is not None and channel != "telegram":
                    # Phone plus a waybill of the same account, given earlier in this conversation.
                    known = tracker.get_slot("waybill")
                    view = get_shipment(session, known) if known else None
                    if view is not None and view.customer_id == customer.id:
                        verify_customer(session, conversation_id=tracker.sender_id, customer_id=customer.id)
                        proven = True
                views = find_shipments_by_phone(session, phone, today=carrier_today()) if proven else []
        except SQLAlchemyError:
            logger.exception("phone lookup failed")
            dispatcher.utter_message(text=BACKEND_DOWN_TEXT)
            return []
        if not proven:
            # The same answer whether or not the number is ours: nobody learns whose number it is.
            if channel == "telegram":
                utter_with_contact_button(dispatcher, tracker, SHARE_CONTACT_TEXT)
                return [SlotSet("pending_question", None)]
            dispatcher.utter_message(text=PROVE_PHONE_TEXT)
            return [SlotSet("pending_question", None), SlotSet("phone_to_verify", phone)]
        if not views:
            dispatcher.utter_message(
                text="I couldn't find any recent shipments on your account. You can also send the waybill "
                'number, or say "agent" for a person.'
            )
            return [SlotSet("pending_question", None)]
        dispatcher.utter_message(text=shipment_list_text(views))
        events: list[EventType] = [SlotSet("pending_question", None), SlotSet("phone_to_verify", None)]
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
