"""Shipment inquiries: status, who signed, when it arrives, why it is late, lookup by phone."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.i18n import N_, t, variants
from backend.phones import find_phone_in_text
from backend.services.conversations import parse_conversation_id

from . import client
from .base import BlockingAction
from .complaint_flow import accepts_offer_in_words
from .complaint_parsing import says_no_phone
from .dialogue import asks_for_call_back, last_bot_text
from .handoff_flow import hand_over_to_person
from .shipment_flow import NO_NUMBER_HELP_TEXT, answer_question, shipment_list_text
from .shipper_language import language


class ActionAnswerShipment(BlockingAction):
    """Answers a question about one shipment, finding the waybill in the message or the conversation."""

    def name(self) -> str:
        return "action_answer_shipment"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return answer_question(dispatcher, tracker, domain)


PROVE_PHONE_TEXT = N_(
    "For your privacy, I can only list an account's shipments once I know it's yours. Please also send "
    "me the waybill number of one shipment on that account, and I'll list the others."
)
ASK_PHONE_TEXT = N_(
    "Of course. What's the phone number registered on your account? For example +86 139 1234 5678."
)
ASK_CONTACT_TEXT = N_(
    'Of course. Tap "Share my phone number" below and I\'ll list the shipments on your account.'
)
NO_NUMBERS_AT_ALL_TEXT = N_(
    'Then a colleague can find it with you from your name and address: say "agent" and I\'ll pass you '
    "on. If something went wrong with it, you can also just tell me what happened."
)
NO_PHONE_HELP_TEXT = N_(
    "That's all right. Send me a waybill number instead and I'll check that shipment, or say \"agent\" "
    "and a colleague will find your shipments with you."
)
SHARE_CONTACT_TEXT = N_(
    "For your privacy, on Telegram I can list shipments only for the phone number of your own account. "
    'Tap "Share my phone number" below, or send me a waybill number.'
)


def utter_with_contact_button(dispatcher: CollectingDispatcher, tracker: Tracker, msgid: str) -> None:
    """On Telegram, offer the button that shares the shipper's own contact; elsewhere plain text."""
    text = t(language(tracker), msgid)
    if parse_conversation_id(tracker.sender_id)[0] == "telegram":
        dispatcher.utter_message(json_message={"text": text, "request_contact": True})
    else:
        dispatcher.utter_message(text=text)


class ActionFindByPhone(BlockingAction):
    """Lists the customer's recent shipments found by the phone number on their account."""

    def name(self) -> str:
        return "action_find_by_phone"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        asked_for_phone = tracker.get_slot("pending_question") == "phone"
        if not asked_for_phone and asks_for_call_back(tracker.latest_message.get("text") or ""):
            # A number left for a call back: a person takes over, and sees the number in the message.
            # Just after "what's your phone number?", "call me on ..." is the answer instead.
            return hand_over_to_person(dispatcher, tracker)
        phone = find_phone_in_text(tracker.latest_message.get("text") or "")
        channel = parse_conversation_id(tracker.sender_id)[0]
        lang = language(tracker)
        if phone is None:
            ask = ASK_CONTACT_TEXT if channel == "telegram" else ASK_PHONE_TEXT
            pending = tracker.get_slot("pending_question")
            text = tracker.latest_message.get("text") or ""
            if pending not in (None, "phone") and says_no_phone(text):
                # "I don't have the number" just after being asked for the waybill: the waybill's.
                dispatcher.utter_message(text=t(lang, NO_NUMBER_HELP_TEXT))
                return [SlotSet("pending_question", "phone")]
            if pending == "phone" and last_bot_text(tracker) in variants(NO_NUMBER_HELP_TEXT):
                # Neither a waybill nor a phone number: a person can still find it with them.
                dispatcher.utter_message(text=t(lang, NO_NUMBERS_AT_ALL_TEXT))
                return [SlotSet("pending_question", None)]
            if says_no_phone(text) or last_bot_text(tracker) in variants(ask):
                # They have no number to give, or were asked already: offer the other ways instead.
                dispatcher.utter_message(text=t(lang, NO_PHONE_HELP_TEXT))
                return [SlotSet("pending_question", None)]
            utter_with_contact_button(dispatcher, tracker, ask)
            return [SlotSet("pending_question", "phone")]
        found = client.shipments_by_phone(
            conversation_id=tracker.sender_id, phone=phone, known_waybill=tracker.get_slot("waybill")
        )
        proven, views = found.proven, found.shipments
        if not proven:
            # The same answer whether or not the number is ours: nobody learns whose number it is.
            if channel == "telegram":
                utter_with_contact_button(dispatcher, tracker, SHARE_CONTACT_TEXT)
                return [SlotSet("pending_question", None)]
            dispatcher.utter_message(text=t(lang, PROVE_PHONE_TEXT))
            return [SlotSet("pending_question", None), SlotSet("phone_to_verify", phone)]
        if not views:
            dispatcher.utter_message(
                text=t(
                    lang,
                    "I couldn't find any recent shipments on your account. You can also send the waybill "
                    'number, or say "agent" for a person.',
                )
            )
            return [SlotSet("pending_question", None)]
        dispatcher.utter_message(text=shipment_list_text(views, lang))
        events: list[EventType] = [SlotSet("pending_question", None), SlotSet("phone_to_verify", None)]
        if len(views) == 1:
            events.append(SlotSet("waybill", views[0].waybill))
        return events


class ActionDeclineOffer(BlockingAction):
    """The customer does not want a complaint after all."""

    def name(self) -> str:
        return "action_decline_offer"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if accepted := accepts_offer_in_words(tracker):
            # "yes!! nobody told me" read as a no by the classifier: the words say yes.
            return accepted
        dispatcher.utter_message(
            text=t(
                language(tracker),
                "All right, no complaint. I'll keep you informed if anything changes. "
                "Anything else I can check for you?",
            )
        )
        return [SlotSet("awaiting", None)]
