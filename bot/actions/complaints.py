"""The complaint script: calm, confirm, analyse, negotiate (DOMAIN.md), ending in a ticket.

The actions read the slots, call one use case of backend.services.complaints, and put its result into
words. The form never traps the shipper: an open question takes any answer, a closed one is asked at
most twice, and a question asked in the middle of the complaint is answered before the form goes on.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from backend.complaints.signals import read_signals
from backend.complaints.wording import calm_message
from backend.config import carrier_today, carrier_tz
from backend.domain import ShipmentView
from backend.i18n import N_, Money, sentences, t
from backend.models import utcnow
from backend.record_words import Stored
from backend.services import complaints as use_cases
from backend.services.attachments import count_attachments
from backend.services.complaints import ComplaintDraft, Outcome
from backend.services.shipments import get_shipment
from backend.services.tickets import InvalidTransition, StaleTicket
from backend.waybill import find_in_text

from .backend import BACKEND_DOWN_TEXT, BlockingAction, backend_session
from .buttons import yes_no
from .complaint_parsing import (
    UNSPECIFIED,
    category_text,
    correction_fields,
    parse_category,
    parse_photo,
    parse_value,
    parse_wants,
    says_no_number,
    says_unknown,
    wants_text,
)
from .dialogue import (
    QUESTION_INTENTS,
    complaint_messages,
    looks_like_question,
    previous_user_text,
    question_aspect,
)
from .escalation import business_calendar, who_answers_text
from .language import language
from .shipment_text import billing_text, promise_text, status_text
from .shipments import answer_shipment, not_found_text, waybill_problem_text

logger = logging.getLogger(__name__)

FORM_SLOTS = (
    "complaint_waybill",
    "complaint_category",
    "complaint_when",
    "complaint_extent",
    "complaint_value",
    "complaint_photo",
    "complaint_wants",
    "complaint_correction",
)
# Every slot a complaint sets; cleared when it ends without a ticket or a person takes it over.
COMPLAINT_SLOTS = (
    *FORM_SLOTS,
    "complaint_id",
    "complaint_description",
    "complaint_retries",
    "requested_slot",
)
NO_WAYBILL = "none"
# Values the bot itself puts in the form's slots; shown in the shipper's language in the summary.
NOT_KNOWN = N_("not known")
WHOLE_SHIPMENT = N_("the whole shipment")
# Fewer words than this, once the waybill and "I want to complain about" are left out, make a request,
# not the customer's account of what happened ("late" names a category; "the box was crushed" tells).
MIN_DESCRIPTION_WORDS = 3
_REQUEST_WORDS = re.compile(
    r"\b(hi|hello|hey|please|pls|i|we|want|wanna|would like|need|to|make|file|lodge|raise|register|open|"
    r"a|an|complain|complaint|complaining|report|about|regarding|re|on|for|my|parcel|shipment|order|"
    r"package|waybill|number|tracking)\b",
    re.I,
)
# Chinese characters that make an account of what happened rather than "我要投诉快递" (I want to complain).
MIN_CHINESE_DESCRIPTION = 8
_CHINESE_CHARACTER = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# A question with a closed set of answers is asked at most this many times, then the form moves on.
MAX_TRIES = 2
# The category a problem status implies when the customer's words do not name one.
WAYBILL_LIKE = re.compile(r"\b[a-z]{2}\s?\d[\d\s]{7,12}\s?[a-z]{2}\b", re.I)
STATUS_CATEGORIES = {
    "held": "delay",
    "missing": "loss",
    "pickup_missed": "missed_pickup",
    "returned": "delay",
    "customs_hold": "delay",
}

NO_PHOTO_YET_TEXT = N_(
    "I can't see a photo in this chat yet. Please attach it here (the paperclip or photo button), "
    'or say "later" if you will send it afterwards.'
)
PHOTO_LATER_TEXT = N_("No problem: send the photo here whenever you can, and your claim will wait for it.")
NO_WAYBILL_OK_TEXT = N_("That's fine, a colleague can find the shipment with you later.")
NO_VALUE_OK_TEXT = N_("That's all right, we'll go on without the value; a colleague can add it later.")
CORRECTION_KEPT_TEXT = N_(
    "I'll keep it as it is for now, and what you wrote stays in this chat for my colleague. "
    'If something is still wrong, say "agent" and a person will put it right.'
)
# A ticket's status in words, for "your complaint is already resolved".
TICKET_STATE_WORDS = {
    "open": N_("open"),
    "escalated": N_("escalated"),
    "assigned": N_("assigned"),
    "waiting_customer": N_("waiting customer"),
    "resolved": N_("resolved"),
    "closed": N_("closed"),
}
STALE_TEXT = N_("Sorry, your complaint was just updated on our side. Could you say that once more?")


def is_description(text: str) -> bool:
    """Whether the message tells what happened, beyond asking to complain and naming the shipment."""
    found = find_in_text(text)
    rest = text.replace(found.value, " ") if found else text
    rest = WAYBILL_LIKE.sub(" ", rest)
    if len(_CHINESE_CHARACTER.findall(rest)) >= MIN_CHINESE_DESCRIPTION:
        return True  # Chinese has no spaces between words: "我要投诉" asks, a sentence tells
    return len(_REQUEST_WORDS.sub(" ", rest).split()) >= MIN_DESCRIPTION_WORDS


def complaint_key(tracker: Tracker) -> str:
    """The ticket's idempotency key: one complaint of one conversation, stable across retries."""
    return f"complaint:{tracker.sender_id}:{tracker.get_slot('complaint_id')}"


def complaint_in_progress(tracker: Tracker) -> bool:
    """A complaint has been started and not yet ended with an agreed remedy or an escalation."""
    return bool(tracker.get_slot("complaint_id")) and tracker.get_slot("awaiting") != "done"


def _lookup(waybill: str | None) -> ShipmentView | None:
    if not waybill or waybill == NO_WAYBILL:
        return None
    with backend_session() as session:
        return get_shipment(session, waybill, today=carrier_today())


def record_prefills(view: ShipmentView | None, category: str | None, slots: dict[str, Any]) -> dict[str, Any]:
    """Facts the shipment record already answers, so the customer is not asked for them."""
    if view is None:
        return {}
    filled: dict[str, Any] = {}
    if category in {"damage", "loss"} and not slots.get("complaint_value") and view.declared_value:
        filled["complaint_value"] = str(view.declared_value)
    if category == "loss" and not slots.get("complaint_extent") and view.status == "missing":
        filled["complaint_extent"] = WHOLE_SHIPMENT
    return filled


def _decimal(value: str | None) -> Decimal | None:
    if not value or value == "unknown":
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _waybill(tracker: Tracker) -> str | None:
    value = tracker.get_slot("complaint_waybill")
    return None if value in (None, NO_WAYBILL) else value


def _stage(tracker: Tracker) -> str:
    awaiting = tracker.get_slot("awaiting")
    if awaiting == "remedy_answer":
        return "negotiate"
    if awaiting == "summary_confirm":
        return "analyse"
    return "confirm" if tracker.get_slot("complaint_category") else "calm"


def complaint_draft(tracker: Tracker) -> ComplaintDraft:
    """What the conversation has established, for the backend's complaint use cases."""
    wants = tracker.get_slot("complaint_wants")
    description = tracker.get_slot("complaint_description") or ""
    return ComplaintDraft(
        key=complaint_key(tracker),
        conversation_id=tracker.sender_id,
        category=tracker.get_slot("complaint_category") or "other",
        messages=tuple(complaint_messages(tracker)) or ((description,) if description else ()),
        waybill=_waybill(tracker),
        description=description,
        incident_when=tracker.get_slot("complaint_when"),
        extent=tracker.get_slot("complaint_extent"),
        declared_value=_decimal(tracker.get_slot("complaint_value")),
        photo_status=tracker.get_slot("complaint_photo"),
        customer_wants=None if wants == UNSPECIFIED else wants,
        stage=_stage(tracker),
        language=language(tracker),
    )


Result = TypeVar("Result")


def in_transaction(use_case: Callable[[Session], Result]) -> Result:
    """Runs a use case in one transaction; once more if a person changed the ticket meanwhile."""
    try:
        with backend_session() as session:
            return use_case(session)
    except StaleTicket:
        with backend_session() as session:
            return use_case(session)


def failure_text(failure: Exception, lang: str = "en") -> str:
    """What the customer hears when a use case could not finish: never a traceback."""
    return t(lang, STALE_TEXT if isinstance(failure, StaleTicket) else BACKEND_DOWN_TEXT)


def escalation_text(outcome: Outcome, lang: str = "en") -> str:
    return t(
        lang,
        "I've registered your complaint as {number} and passed it to a colleague who can decide on it. "
        "{who_answers} They will see everything you've told me, so you won't need to repeat it.",
        number=outcome.ticket_number,
        who_answers=who_answers_text(
            outcome.priority or outcome.analysis.priority, utcnow(), due=outcome.due, lang=lang
        ),
    )


def escalate_complaint(dispatcher: CollectingDispatcher, tracker: Tracker, *, reason: str) -> list[EventType]:
    """Hands the complaint to a person with what is known: ticket `escalated`, conversation paused."""
    draft, calendar, now = complaint_draft(tracker), business_calendar(), utcnow()
    lang = language(tracker)
    try:
        outcome = in_transaction(
            lambda session: use_cases.escalate(session, draft, now=now, calendar=calendar, reason=reason)
        )
    except (SQLAlchemyError, StaleTicket) as failure:
        logger.exception("escalation failed")
        dispatcher.utter_message(text=failure_text(failure, lang))
        return []
    return render_escalation(dispatcher, outcome, lang)


def render_escalation(
    dispatcher: CollectingDispatcher, outcome: Outcome, lang: str = "en"
) -> list[EventType]:
    dispatcher.utter_message(text=escalation_text(outcome, lang))
    return [
        SlotSet("ticket_number", outcome.ticket_number),
        SlotSet("awaiting", "done"),
        ConversationPaused(),
    ]


def record_facts_text(view: ShipmentView, lang: str = "en") -> str:
    """What the shipment record says, for the summary: where it is, how late, why."""
    tz, today = carrier_tz(), carrier_today()
    parts = [status_text(view, tz, today, lang), promise_text(view, today, lang)]
    if view.delay_reason and (view.is_late or view.status in STATUS_CATEGORIES):
        parts.append(t(lang, "Cause on record: {reason}.", reason=Stored(view.delay_reason)))
    parts.append(billing_text(view, lang))
    return sentences(lang, parts)


class ActionStartComplaint(BlockingAction):
    """Calm: answer a question first, acknowledge and apologise, and take what the customer said."""

    def name(self) -> str:
        return "action_start_complaint"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = (tracker.latest_message.get("text") or "").strip()
        intent = tracker.get_intent_of_latest_message()
        # "Yes", or what they want done ("find it and bring it to us"), to "shall I register a complaint?"
        accepted_offer = intent == "affirm" or (
            intent == "inform" and tracker.get_slot("awaiting") == "complaint_offer"
        )
        # Then the message the offer answered is the shipper's account of what happened.
        told = previous_user_text(tracker) if accepted_offer else text
        story = told if is_description(told) else ""
        signals = read_signals(story or text)
        slots: dict[str, Any] = {slot: None for slot in FORM_SLOTS}
        seed = tracker.latest_message.get("message_id") or text or tracker.sender_id
        slots.update(
            complaint_id=hashlib.sha1(f"{tracker.sender_id}:{seed}".encode()).hexdigest()[:12],
            complaint_description=story or None,
            complaint_retries=0.0,
            complaint_correction_pending=False,
            complaint_refusals=0.0,
            ticket_number=None,
            awaiting=None,
            pending_question=None,
        )
        found = find_in_text(text)
        waybill = found.value if found and found.status == "valid" else tracker.get_slot("waybill")
        view = None
        try:
            view = _lookup(waybill)
        except SQLAlchemyError:
            logger.exception("shipment lookup failed")
        asked = not accepted_offer and looks_like_question(text)
        if asked and view is not None:
            # "It's late, where is it?": the answer first, then the complaint.
            answer_shipment(dispatcher, tracker, question_aspect(text), view=view)
        elif asked:
            # Answered as soon as the form has the waybill.
            slots["pending_question"] = question_aspect(text)
        # The customer's words first; a problem on the record ("held at Wuhan") explains the rest.
        category = signals.category or (_category_from_record(view) if view is not None else None)
        lang = language(tracker)
        dispatcher.utter_message(text=calm_message(category, signals.anger, seed=seed, language=lang))
        if found is not None and found.status != "valid":
            dispatcher.utter_message(text=waybill_problem_text(found, lang))
        if view is not None:
            slots.update(complaint_waybill=view.waybill, waybill=view.waybill)
        slots["complaint_category"] = category
        if story and signals.amounts:
            slots["complaint_value"] = str(max(signals.amounts))
        if story and signals.wants:
            slots["complaint_wants"] = signals.wants
        if accepted_offer and intent == "inform" and text:
            slots["complaint_wants"] = parse_wants(text)
        slots.update(record_prefills(view, category, slots))
        return [SlotSet(name, value) for name, value in slots.items()]


def _category_from_record(view: ShipmentView) -> str | None:
    """The complaint a problem on the record implies: a missing parcel is a loss before it is late."""
    if view.signer_is_recipient is False:
        return "wrong_delivery"
    if view.status in STATUS_CATEGORIES:
        return STATUS_CATEGORIES[view.status]
    return "delay" if view.is_late else None


class ValidateComplaintForm(FormValidationAction):
    """Confirm: asks only for what is still missing, reads each answer, and never asks a third time."""

    def name(self) -> str:
        return "validate_complaint_form"

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
        if category in {"damage", "loss"}:
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
        about = text if find_in_text(text) else tracker.get_slot("waybill") or _waybill(tracker)
        if (
            requested not in (None, "complaint_waybill")
            and about
            and tracker.get_intent_of_latest_message() in QUESTION_INTENTS
            and looks_like_question(text)
            and not tracker.get_slot("complaint_retries")
        ):
            updates = answer_shipment(dispatcher, tracker, question_aspect(text), about)
            updates.pop("_view", None)
            updates.update({requested: None, "complaint_retries": 1.0})
            return [SlotSet(slot, value) for slot, value in updates.items()]
        events = await super().get_validation_events(dispatcher, tracker, domain)
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
        try:
            view = _lookup(found.value)
        except SQLAlchemyError:
            logger.exception("shipment lookup failed")
            dispatcher.utter_message(text=t(lang, BACKEND_DOWN_TEXT))
            return {"complaint_waybill": None}
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
        slots.update(record_prefills(view, tracker.get_slot("complaint_category"), current))
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
        try:
            view = _lookup(tracker.get_slot("complaint_waybill"))
        except SQLAlchemyError:
            view = None
        current = {slot: tracker.get_slot(slot) for slot in FORM_SLOTS}
        slots.update(record_prefills(view, category, current))
        return slots

    def validate_complaint_when(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Any honest answer about the time will do, 'I don't know' included."""
        return {"complaint_when": _open_answer(value, limit=200)}

    def validate_complaint_extent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """What was damaged or is missing, in the customer's words."""
        return {"complaint_extent": _open_answer(value, limit=500)}

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
            with backend_session() as session:
                attached = count_attachments(session, tracker.sender_id) > 0
        except SQLAlchemyError:
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

    def validate_complaint_correction(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Which part to change: clear it so the form asks again, or take the new value at once."""
        try:
            updates = apply_correction(str(value or ""), tracker, dispatcher)
        except SQLAlchemyError:
            logger.exception("correction lookup failed")
            dispatcher.utter_message(text=t(language(tracker), BACKEND_DOWN_TEXT))
            return {"complaint_correction": None}
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


def _open_answer(value: Any, *, limit: int) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    return NOT_KNOWN if says_unknown(text) and len(text.split()) <= 6 else text[:limit]


def _shown(value: str, lang: str) -> str:
    """A slot's value for the summary: the bot's own words in the shipper's language, theirs as is."""
    return t(lang, value) if value in (NOT_KNOWN, WHOLE_SHIPMENT) else value


def apply_correction(text: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> dict[str, Any]:
    """Slot changes for a correction: new values it holds, or the fields it names cleared."""
    updates: dict[str, Any] = {}
    found = find_in_text(text)
    lang = language(tracker)
    if found is not None:
        # A new number is checked like any other; a bad one is cleared so that the form asks again.
        updates["complaint_waybill"] = None
        if found.status != "valid":
            dispatcher.utter_message(text=waybill_problem_text(found, lang))
        else:
            view = _lookup(found.value)
            if view is None:
                dispatcher.utter_message(text=not_found_text(found.value, lang))
            else:
                updates.update(complaint_waybill=view.waybill, waybill=view.waybill)
                # Facts taken from the old record do not carry over to another shipment.
                updates.update(complaint_value=None, complaint_extent=None)
                category = tracker.get_slot("complaint_category")
                updates.update(record_prefills(view, category, {}))
    signals = read_signals(text)
    if signals.amounts:
        updates["complaint_value"] = str(max(signals.amounts))
    if signals.category and signals.category != tracker.get_slot("complaint_category"):
        updates["complaint_category"] = signals.category
    if signals.wants and signals.wants != tracker.get_slot("complaint_wants"):
        updates["complaint_wants"] = signals.wants
    for slot in correction_fields(text):
        updates.setdefault(slot, None)
    return updates


class ActionComplaintSummary(BlockingAction):
    """Restates the complaint, the record's facts beside the customer's words, and asks to confirm."""

    def name(self) -> str:
        return "action_complaint_summary"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        lines = [t(lang, "Let me make sure I have this right:")]
        waybill = _waybill(tracker)
        lines.append(t(lang, "- Shipment: {waybill}", waybill=waybill or t(lang, "no waybill number given")))
        try:
            view = _lookup(waybill)
        except SQLAlchemyError:
            logger.exception("shipment lookup failed")
            view = None
        if view is not None:
            lines.append(t(lang, "- Our record: {facts}", facts=record_facts_text(view, lang)))
        category = category_text(tracker.get_slot("complaint_category"), lang)
        lines.append(t(lang, "- What happened: {category}", category=category))
        description = tracker.get_slot("complaint_description")
        if description:
            shown = description if len(description) <= 160 else description[:157] + "..."
            lines.append(t(lang, '- In your words: "{words}"', words=shown))
        else:
            lines.append(t(lang, "- Your own description: none given yet"))
        if tracker.get_slot("complaint_when"):
            lines.append(t(lang, "- When: {when}", when=_shown(tracker.get_slot("complaint_when"), lang)))
        if tracker.get_slot("complaint_extent"):
            extent = _shown(tracker.get_slot("complaint_extent"), lang)
            lines.append(t(lang, "- Damaged or missing: {extent}", extent=extent))
        value = _decimal(tracker.get_slot("complaint_value"))
        if tracker.get_slot("complaint_value"):
            worth = Money(value) if value is not None else t(lang, NOT_KNOWN)
            lines.append(t(lang, "- Value of the goods: {value}", value=worth))
        photo = tracker.get_slot("complaint_photo")
        if photo == "received":
            lines.append(t(lang, "- Photo: received"))
        elif photo:
            lines.append(t(lang, "- Photo: you will send it later"))
        lines.append(
            t(lang, "- You would like: {wants}", wants=wants_text(tracker.get_slot("complaint_wants"), lang))
        )
        lines.append(t(lang, "Is that right?"))
        dispatcher.utter_message(
            text="\n".join(lines),
            buttons=yes_no(t(lang, "Yes, that's right"), t(lang, "No, change something")),
        )
        return [SlotSet("awaiting", "summary_confirm"), SlotSet("complaint_correction", None)]


class ActionCorrectComplaint(BlockingAction):
    """The customer says the summary is wrong: apply what they said, or ask which part."""

    def name(self) -> str:
        return "action_correct_complaint"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet("awaiting", None), SlotSet("complaint_retries", 0.0)]
        lang = language(tracker)
        try:
            updates = apply_correction(tracker.latest_message.get("text") or "", tracker, dispatcher)
        except SQLAlchemyError:
            logger.exception("correction lookup failed")
            dispatcher.utter_message(text=t(lang, BACKEND_DOWN_TEXT))
            return events
        if updates:
            dispatcher.utter_message(text=t(lang, "Thanks, let me fix that."))
            events += [SlotSet(slot, value) for slot, value in updates.items()]
        else:
            events.append(SlotSet("complaint_correction_pending", True))
        return events


def offer_text(outcome: Outcome, *, again: bool, lang: str = "en") -> str:
    assert outcome.offer is not None
    offer = outcome.offer.text(lang)
    if again:
        return t(
            lang,
            "I understand. Then let me offer this instead: {offer} Would that work for you?",
            offer=offer,
        )
    return t(lang, "Here is what I can offer: {offer} Would that be acceptable?", offer=offer)


def remedy_buttons(lang: str) -> list[dict[str, Any]]:
    return yes_no(t(lang, "Yes, I accept"), t(lang, "No"))


class ActionAnalyseComplaint(BlockingAction):
    """Analyse, then negotiate: the first remedy of the ladder, or a person at once when it is serious."""

    def name(self) -> str:
        return "action_analyse_complaint"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        draft, calendar, now = complaint_draft(tracker), business_calendar(), utcnow()
        lang = language(tracker)
        try:
            outcome = in_transaction(
                lambda session: use_cases.offer_remedy(session, draft, now=now, calendar=calendar)
            )
        except (SQLAlchemyError, StaleTicket) as failure:
            logger.exception("analysis failed")
            dispatcher.utter_message(text=failure_text(failure, lang))
            return []
        if outcome.escalated:
            return render_escalation(dispatcher, outcome, lang)
        dispatcher.utter_message(
            text=offer_text(outcome, again=False, lang=lang), buttons=remedy_buttons(lang)
        )
        return [SlotSet("ticket_number", outcome.ticket_number), SlotSet("awaiting", "remedy_answer")]


class ActionAcceptRemedy(BlockingAction):
    """The customer accepts: the ticket is `open` with the agreed resolution."""

    def name(self) -> str:
        return "action_accept_remedy"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        number = tracker.get_slot("ticket_number") or ""
        lang = language(tracker)
        try:
            accepted = in_transaction(lambda session: use_cases.accept_remedy(session, number))
        except InvalidTransition as moved_on:
            # The ticket went on without the bot (a person resolved or closed it): say so, change nothing.
            state = t(lang, TICKET_STATE_WORDS.get(moved_on.old, moved_on.old.replace("_", " ")))
            dispatcher.utter_message(
                text=t(
                    lang,
                    "Your complaint {number} is already {state}, so there is no offer open any more. "
                    "Ask me about it, or tell me what else I can do.",
                    number=moved_on.number,
                    state=state,
                )
            )
            return [SlotSet("awaiting", "done")]
        except (SQLAlchemyError, LookupError, StaleTicket) as failure:
            logger.exception("accepting the remedy failed")
            dispatcher.utter_message(text=failure_text(failure, lang))
            return []
        registered = t(
            lang,
            "Thank you. Your complaint is registered as {number}. What happens next: we carry out what we "
            "agreed and keep you updated here; when it's done we'll ask how satisfied you are.",
            number=accepted.ticket_number,
        )
        key_customer = (
            t(lang, "As one of our key customers, you'll also get a follow-up call once it's done.")
            if accepted.customer_class == "A"
            else ""
        )
        ask_me = t(lang, "You can ask me about {number} at any time.", number=accepted.ticket_number)
        dispatcher.utter_message(text=sentences(lang, [registered, key_customer, ask_me]))
        return [SlotSet("awaiting", "done")]


class ActionRefuseRemedy(BlockingAction):
    """The customer refuses: analysed again with what they said, the next offer once, then a person."""

    def name(self) -> str:
        return "action_refuse_remedy"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        refusals = int(tracker.get_slot("complaint_refusals") or 0) + 1
        draft, calendar, now = complaint_draft(tracker), business_calendar(), utcnow()
        lang = language(tracker)
        number = tracker.get_slot("ticket_number")
        try:
            outcome = in_transaction(
                lambda session: use_cases.refuse_remedy(
                    session, draft, ticket_number=number, refusals=refusals, now=now, calendar=calendar
                )
            )
        except (SQLAlchemyError, StaleTicket) as failure:
            logger.exception("refusing the remedy failed")
            dispatcher.utter_message(text=failure_text(failure, lang))
            return []
        counted = SlotSet("complaint_refusals", float(refusals))
        if outcome.escalated:
            dispatcher.utter_message(text=t(lang, "I understand, and I'm sorry that isn't enough."))
            return [counted, *render_escalation(dispatcher, outcome, lang)]
        dispatcher.utter_message(
            text=offer_text(outcome, again=True, lang=lang), buttons=remedy_buttons(lang)
        )
        return [counted, SlotSet("awaiting", "remedy_answer")]


class ActionStopComplaint(BlockingAction):
    """The customer stops the complaint: nothing is registered, and they can start again."""

    def name(self) -> str:
        return "action_stop_complaint"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=t(
                language(tracker),
                "All right, I've stopped and registered nothing. If you change your mind, just tell me "
                "what happened. Anything else I can do for you?",
            )
        )
        return [SlotSet(slot, None) for slot in (*COMPLAINT_SLOTS, "awaiting")]
