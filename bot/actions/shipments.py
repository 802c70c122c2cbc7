"""Shipment inquiries: status, who signed, when it arrives, why it is late, lookup by phone."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from backend.config import carrier_today, carrier_tz
from backend.domain import ShipmentView
from backend.i18n import N_, t, variants
from backend.phones import find_phone_in_text
from backend.services.conversations import parse_conversation_id, verified_customer_id, verify_customer
from backend.services.shipments import find_customer_by_phone, find_shipments_by_phone, get_shipment
from backend.waybill import WaybillCheck, find_in_text

from .backend import BACKEND_DOWN_TEXT, BlockingAction, backend_session
from .buttons import yes_no
from .complaint_parsing import says_no_number, says_no_phone
from .dialogue import asks_for_call_back, last_bot_text
from .language import language
from .shipment_text import OFFER_TEXT, has_problem, shipment_answer, status_text

logger = logging.getLogger(__name__)

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


def mistyped_text(number: str, lang: str = "en") -> str:
    return t(
        lang,
        "Hmm, {number} looks mistyped: its check digit doesn't match. "
        "Could you check the number on your receipt and send it again?",
        number=number,
    )


def malformed_text(number: str, lang: str = "en") -> str:
    return t(
        lang,
        "{number} doesn't look like a complete waybill number. Ours have 2 letters, 9 digits and "
        "2 letters, like EA123456785CN. Could you send it again?",
        number=number,
    )


def waybill_problem_text(found: WaybillCheck, lang: str = "en") -> str:
    """What to say about a number that is not a valid waybill: mistyped or incomplete."""
    if found.status == "mistyped":
        return mistyped_text(found.value, lang)
    return malformed_text(found.value, lang)


def not_found_text(number: str, lang: str = "en") -> str:
    return t(
        lang,
        "I couldn't find a shipment with the number {number}. It may not be in our system yet if it was "
        "booked in the last few hours. Please check the number, or I can look up your shipments by the "
        'phone number on your account. You can also say "agent" to reach a person.',
        number=number,
    )


NO_NUMBER_HELP_TEXT = N_(
    "No problem. Without the waybill number I can still find your shipments by the phone number on "
    'your account (just send it), or a colleague can look with you: say "agent".'
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
    the caller already holds); slot updates."""
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
    try:
        with backend_session() as session:
            view = get_shipment(session, waybill, today=carrier_today())
    except SQLAlchemyError:
        logger.exception("shipment lookup failed")
        dispatcher.utter_message(text=t(lang, BACKEND_DOWN_TEXT))
        return {}
    if view is None:
        dispatcher.utter_message(text=not_found_text(waybill, lang))
        return {"pending_question": aspect, "waybill": None}
    return view


class ActionAnswerShipment(BlockingAction):
    """Answers a question about one shipment, finding the waybill in the message or the conversation."""

    def name(self) -> str:
        return "action_answer_shipment"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = tracker.get_intent_of_latest_message() or ""
        aspect = ASPECT_BY_INTENT.get(intent) or tracker.get_slot("pending_question") or "status"
        updates = answer_shipment(dispatcher, tracker, aspect, tracker.latest_message.get("text") or "")
        view: ShipmentView | None = updates.pop("_view", None)
        events: list[EventType] = [SlotSet(slot, value) for slot, value in updates.items()]
        if view is None:
            return events
        if tracker.get_slot("phone_to_verify"):
            events += self._finish_phone_check(dispatcher, tracker, view)
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

    @staticmethod
    def _finish_phone_check(
        dispatcher: CollectingDispatcher, tracker: Tracker, view: ShipmentView
    ) -> list[EventType]:
        """The waybill asked for to prove a phone number: list the account's shipments if both match."""
        phone = tracker.get_slot("phone_to_verify")
        lang = language(tracker)
        try:
            with backend_session() as session:
                customer = find_customer_by_phone(session, phone)
                if customer is None or customer.id != view.customer_id:
                    dispatcher.utter_message(text=t(lang, NO_MATCH_TEXT))
                    return [SlotSet("phone_to_verify", None)]
                verify_customer(session, conversation_id=tracker.sender_id, customer_id=customer.id)
                views = find_shipments_by_phone(session, phone, today=carrier_today())
        except SQLAlchemyError:
            logger.exception("phone check failed")
            dispatcher.utter_message(text=t(lang, BACKEND_DOWN_TEXT))
            return []
        dispatcher.utter_message(text=shipment_list_text(views, lang))
        return [SlotSet("phone_to_verify", None)]


NO_MATCH_TEXT = N_(
    "That shipment isn't on the account of the phone number you gave, so for your privacy I can't list "
    "the account's shipments. I'm happy to answer about any shipment whose waybill number you have."
)
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
            # Imported here: the handoff actions import the complaint actions, which import this module.
            from .handoff import ActionEscalate

            return ActionEscalate().act(dispatcher, tracker, domain)
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
            dispatcher.utter_message(text=t(lang, BACKEND_DOWN_TEXT))
            return []
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
        dispatcher.utter_message(
            text=t(
                language(tracker),
                "All right, no complaint. I'll keep you informed if anything changes. "
                "Anything else I can check for you?",
            )
        )
        return [SlotSet("awaiting", None)]
