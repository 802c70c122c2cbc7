"""The complaint form's validator: asks only for what is still missing and never asks a third time.

An open question takes any answer, a closed one is asked at most twice, and a question about the
shipment asked in the middle of the form is answered before the form goes on.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from backend.complaints.record import is_description
from backend.complaints.signals import read_signals
from backend.domain import PHOTO_FOR_BOT
from backend.i18n import N_, sentences, t
from backend.waybill import find_in_text

from . import client
from .base import off_the_loop, say_backend_down, slots_when_backend_down
from .client import BackendUnavailable
from .complaint_flow import (
    FORM_SLOTS,
    GOODS_CATEGORIES,
    MAX_TRIES,
    NO_WAYBILL,
    apply_correction,
    complaint_waybill,
    extent_from_story,
    lookup,
    prefill_slots,
)
from .complaint_parsing import (
    parse_category,
    parse_photo,
    parse_value,
    parse_wants,
    says_no_number,
    says_unknown,
)
from .complaint_texts import (
    CORRECTION_KEPT_TEXT,
    NO_PHOTO_YET_TEXT,
    NO_VALUE_OK_TEXT,
    NO_WAYBILL_OK_TEXT,
    NOT_KNOWN,
    PHOTO_LATER_TEXT,
    PHOTO_RECEIVED_TEXT,
)
from .dialogue import QUESTION_INTENTS, looks_like_question, question_aspect
from .shipment_flow import answer_shipment
from .shipment_text import not_found_text, waybill_problem_text
from .shipper_language import language

logger = logging.getLogger(__name__)


class ValidateComplaintForm(FormValidationAction):
    """Confirm: asks only for what is still missing, reads each answer, and never asks a third time."""

    def name(self) -> str:
        return "validate_complaint_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # The validators below read the database and run spaCy: off the action server's event loop.
        return await off_the_loop(functools.partial(super().run, dispatcher, tracker, domain))

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        category = tracker.get_slot("complaint_category")
        needed = ["complaint_correction"] if tracker.get_slot("complaint_correction_pending") else []
        needed += ["complaint_category", "complaint_waybill"]
        if category in {"staff_conduct", "other"}:
            needed.append("complaint_when")
        if category in GOODS_CATEGORIES:
            needed += ["complaint_extent", "complaint_value"]
        if category == "damage":
            needed.append("complaint_photo")
        needed.append("complaint_wants")
        return needed

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """A question about the shipment, asked instead of an answer, is answered once; then the form
        asks its question again, and the next message is taken as the answer."""
        requested = tracker.get_slot("requested_slot")
        text = (tracker.latest_message.get("text") or "").strip()
        # The shipment asked about: the one named in the question, else the conversation's.
        about = text if find_in_text(text) else tracker.get_slot("waybill") or complaint_waybill(tracker)
        if (
            requested not in (None, "complaint_waybill")
            and about
            and tracker.get_intent_of_latest_message() in QUESTION_INTENTS
            and looks_like_question(text)
            and not tracker.get_slot("complaint_retries")
        ):
            try:
                updates = answer_shipment(dispatcher, tracker, question_aspect(text), about)
            except BackendUnavailable as failure:
                say_backend_down(dispatcher, tracker, failure)
                updates = {}
            updates.pop("_view", None)
            updates.update({requested: None, "complaint_retries": 1.0})
            return [SlotSet(slot, value) for slot, value in updates.items()]
        if requested and text.startswith("/"):
            # A button's payload ("/affirm") is never an answer in words: the question is asked again.
            return [SlotSet(requested, None)]
        photo = _photo_events(dispatcher, tracker, text)
        if photo and requested != "complaint_photo" and text == PHOTO_FOR_BOT:
            # Only a photo, while the form asked something else: thanked for, and the question stands.
            return [*photo, *([SlotSet(requested, None)] if requested else [])]
        events = [*photo, *await super().get_validation_events(dispatcher, tracker, domain)]
        values = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
        if requested and values.get(requested) is not None and "complaint_retries" not in values:
            events.append(SlotSet("complaint_retries", 0.0))
        return events

    @staticmethod
    def _try_again(
        slot: str,
        tracker: Tracker,
        dispatcher: CollectingDispatcher,
        *,
        help_text: str,
        give_up: Any,
        give_up_text: str,
    ) -> dict[str, Any]:
        """The answer did not fit: explain once and ask again; the second time, go on without it."""
        tries = int(tracker.get_slot("complaint_retries") or 0) + 1
        lang = language(tracker)
        if tries >= MAX_TRIES:
            dispatcher.utter_message(text=t(lang, give_up_text))
            return {slot: give_up, "complaint_retries": 0.0}
        dispatcher.utter_message(text=t(lang, help_text))
        return {slot: None, "complaint_retries": float(tries)}

    @slots_when_backend_down(complaint_waybill=None)
    def validate_complaint_waybill(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A valid number that we know, or an honest 'I don't have it'."""
        text = str(value or "")
        found = find_in_text(text)
        lang = language(tracker)
        if found is None:
            if says_no_number(text) or says_unknown(text):
                dispatcher.utter_message(text=t(lang, NO_WAYBILL_OK_TEXT))
                return {"complaint_waybill": NO_WAYBILL, "complaint_retries": 0.0}
            return self._try_again(
                "complaint_waybill",
                tracker,
                dispatcher,
                help_text=N_(
                    "I couldn't see a waybill number in that. It has 13 characters, like "
                    "EA123456785CN. If you don't have it, just say \"I don't have it\"."
                ),
                give_up=NO_WAYBILL,
                give_up_text=NO_WAYBILL_OK_TEXT,
            )
        if found.status != "valid":
            return self._try_again(
                "complaint_waybill",
                tracker,
                dispatcher,
                help_text=waybill_problem_text(found, lang),
                give_up=NO_WAYBILL,
                give_up_text=sentences(
                    lang, [waybill_problem_text(found, lang), t(lang, NO_WAYBILL_OK_TEXT)]
                ),
            )
        view = lookup(found.value)
        if view is None:
            still = t(lang, "I still can't find {number}.", number=found.value)
            return self._try_again(
                "complaint_waybill",
                tracker,
                dispatcher,
                help_text=not_found_text(found.value, lang),
                give_up=NO_WAYBILL,
                give_up_text=sentences(lang, [still, t(lang, NO_WAYBILL_OK_TEXT)]),
            )
        slots: dict[str, Any] = {"complaint_waybill": view.waybill, "waybill": view.waybill}
        pending = tracker.get_slot("pending_question")
        if pending or (
            looks_like_question(text) and tracker.get_intent_of_latest_message() in QUESTION_INTENTS
        ):
            # The question the complaint began with ("where is it?"), now that we know which shipment.
            answer_shipment(dispatcher, tracker, pending or question_aspect(text), view=view)
            slots["pending_question"] = None
        current = {slot: tracker.get_slot(slot) for slot in FORM_SLOTS}
        slots.update(prefill_slots(view, tracker.get_slot("complaint_category"), current))
        return slots

    def validate_complaint_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """What happened is an open question: any answer will do, as a category or as 'other'."""
        text = str(value or "").strip()
        if not text:
            return {"complaint_category": None}
        category = parse_category(text) or "other"
        slots: dict[str, Any] = {"complaint_category": category}
        if not tracker.get_slot("complaint_description") and is_description(text):
            # A story, not the name of a category ("late"): the customer's own description.
            slots["complaint_description"] = text[:2000]
            if not tracker.get_slot("complaint_extent"):
                slots.update(extent_from_story(category, text))
        try:
            view = lookup(tracker.get_slot("complaint_waybill"))
        except BackendUnavailable:
            # The category stands without the record; the form asks for what the record would answer.
            view = None
        current = {slot: tracker.get_slot(slot) for slot in FORM_SLOTS} | slots
        slots.update(prefill_slots(view, category, current))
        return slots

    def validate_complaint_when(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Any honest answer about the time will do, 'I don't know' included."""
        return {"complaint_when": _open_answer(value, limit=200)}

    def validate_complaint_extent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """What was damaged or is missing, in the customer's words; an amount said with it ("a vase
        worth 800 yuan") is the shipper's own value of the goods, kept beside the record's."""
        slots: dict[str, Any] = {"complaint_extent": _open_answer(value, limit=500)}
        amounts = read_signals(str(value or "")).amounts if slots["complaint_extent"] else ()
        if amounts:
            slots["complaint_value"] = str(max(amounts))
        return slots

    def validate_complaint_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An amount in CNY ('800', '¥1,200', '2k') or 'unknown'; asked at most twice."""
        text = str(value or "")
        parsed = "unknown" if says_unknown(text) or says_no_number(text) else parse_value(text)
        if parsed is not None:
            return {"complaint_value": parsed}
        return self._try_again(
            "complaint_value",
            tracker,
            dispatcher,
            help_text=N_(
                "Sorry, I couldn't read an amount there. Roughly how much are the goods worth, in CNY? "
                '"Don\'t know" is fine too.'
            ),
            give_up="unknown",
            give_up_text=NO_VALUE_OK_TEXT,
        )

    def validate_complaint_photo(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A photo counts only when one is attached to this chat; 'later' keeps the claim waiting."""
        try:
            attached = client.attachment_count(tracker.sender_id) > 0
        except BackendUnavailable:
            logger.exception("attachment lookup failed")
            attached = False
        if attached:
            return {"complaint_photo": "received"}
        if parse_photo(str(value or "")) == "later":
            return {"complaint_photo": "later"}
        return self._try_again(
            "complaint_photo",
            tracker,
            dispatcher,
            help_text=NO_PHOTO_YET_TEXT,
            give_up="later",
            give_up_text=PHOTO_LATER_TEXT,
        )

    def validate_complaint_wants(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The remedy asked for, canonical where we recognise it; 'no' or 'not sure' asks for nothing."""
        text = str(value or "").strip()
        return {"complaint_wants": parse_wants(text) if text else None}

    @slots_when_backend_down(complaint_correction=None)
    def validate_complaint_correction(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Which part to change: clear it so the form asks again, or take the new value at once."""
        updates = apply_correction(str(value or ""), tracker, dispatcher)
        if updates:
            return {**updates, "complaint_correction": str(value), "complaint_correction_pending": False}
        retry = self._try_again(
            "complaint_correction",
            tracker,
            dispatcher,
            help_text=N_("Sorry, I didn't catch which part."),
            give_up=str(value),
            give_up_text=CORRECTION_KEPT_TEXT,
        )
        if retry["complaint_correction"] is not None:
            retry["complaint_correction_pending"] = False
        return retry


def _photo_events(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> list[EventType]:
    """A photo sent during the form is acknowledged; a damage claim has its photo from then on."""
    metadata = tracker.latest_message.get("metadata") or {}
    sent = text == PHOTO_FOR_BOT or (isinstance(metadata, dict) and bool(metadata.get("attachments")))
    if not sent or tracker.get_slot("requested_slot") == "complaint_photo":
        return []
    dispatcher.utter_message(text=t(language(tracker), PHOTO_RECEIVED_TEXT))
    if tracker.get_slot("complaint_category") == "damage":
        return [SlotSet("complaint_photo", "received")]
    return []


def _open_answer(value: Any, *, limit: int) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    return NOT_KNOWN if says_unknown(text) and len(text.split()) <= 6 else text[:limit]
