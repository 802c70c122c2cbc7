"""The complaint script's actions: calm, confirm, analyse, negotiate (DOMAIN.md), ending in a ticket.

The actions read the slots, call one use case of the backend through the client, and put its result
into words (complaint_texts); the form's validator is complaint_form, the shared state complaint_flow.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.clock import utcnow
from backend.complaints.record import category_from_record, is_description
from backend.complaints.signals import read_signals
from backend.complaints.signals.result import WANTS
from backend.complaints.wording import calm_message
from backend.domain import PHOTO_FOR_BOT
from backend.i18n import Money, sentences, t
from backend.services.tickets import InvalidTransition, StaleTicket
from backend.waybill import find_in_text

from . import client
from .base import BlockingAction
from .client import BackendUnavailable
from .complaint_flow import (
    COMPLAINT_SLOTS,
    FORM_SLOTS,
    MAX_TRIES,
    apply_correction,
    complaint_draft,
    complaint_waybill,
    decimal_value,
    escalate_complaint,
    extent_from_story,
    lookup,
    prefill_slots,
    render_escalation,
    slot_changes,
    value_beside_record,
)
from .complaint_parsing import (
    after_yes_no,
    category_text,
    correction_fields,
    has_contrast,
    parse_wants,
    promises_photo,
    read_yes_no,
    wants_text,
)
from .complaint_texts import (
    HAND_OVER_UNCLEAR_TEXT,
    NOT_KNOWN,
    NOT_YES_NO_TEXT,
    OFFER_AGAIN_TEXT,
    PHOTO_LATER_TEXT,
    PHOTO_RECEIVED_TEXT,
    SUMMARY_AGAIN_TEXT,
    TICKET_STATE_WORDS,
    failure_text,
    offer_text,
    record_facts_text,
    remedy_buttons,
    shown,
    summary_buttons,
)
from .dialogue import (
    QUESTION_INTENTS,
    last_action,
    looks_like_question,
    previous_user_text,
    question_aspect,
)
from .shipment_flow import answer_shipment
from .shipment_text import waybill_problem_text
from .shipper_language import language

logger = logging.getLogger(__name__)


class ActionStartComplaint(BlockingAction):
    """Calm: answer a question first, acknowledge and apologise, and take what the customer said."""

    def name(self) -> str:
        return "action_start_complaint"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = (tracker.latest_message.get("text") or "").strip()
        intent = tracker.get_intent_of_latest_message()
        offered = tracker.get_slot("awaiting") == "complaint_offer"
        # "Yes" (whatever follows it and whatever the classifier made of it: "yes!! nobody told me"),
        # or what they want done ("find it and bring it to us"), to "shall I register a complaint?"
        said_yes = offered and read_yes_no(text, intent) == "yes"
        accepted_offer = intent == "affirm" or said_yes or (intent == "inform" and offered)
        # Then the message the offer answered is the shipper's account of what happened, and what the
        # yes adds (anger, facts, a wish) is part of it.
        added = after_yes_no(text) if said_yes else ""
        told = previous_user_text(tracker) if accepted_offer else text
        story = told if is_description(told) else ""
        signals = read_signals(" ".join(part for part in (story or text, added) if part))
        if added:
            story = " ".join(part for part in (story, added) if part)
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
            view = lookup(waybill)
        except BackendUnavailable:
            # The complaint goes on without the record: the form asks what it would have answered.
            logger.exception("shipment lookup failed")
        asked = not accepted_offer and looks_like_question(text)
        if asked and view is not None:
            # "It's late, where is it?": the answer first, then the complaint.
            answer_shipment(dispatcher, tracker, question_aspect(text), view=view)
        elif asked:
            # Answered as soon as the form has the waybill.
            slots["pending_question"] = question_aspect(text)
        # The customer's words first; a problem on the record ("held at Wuhan") explains the rest.
        category = signals.category or (category_from_record(view) if view is not None else None)
        lang = language(tracker)
        dispatcher.utter_message(text=calm_message(category, signals.anger, seed=seed, language=lang))
        if found is not None and found.status != "valid":
            dispatcher.utter_message(text=waybill_problem_text(found, lang))
        if view is not None:
            slots.update(complaint_waybill=view.waybill, waybill=view.waybill)
        slots["complaint_category"] = category
        if story and signals.amounts:
            slots["complaint_value"] = str(max(signals.amounts))
        slots.update(extent_from_story(category, story))
        if story and signals.wants:
            slots["complaint_wants"] = signals.wants
        if said_yes:
            slots.update(added_facts(added, tracker))
        elif accepted_offer and intent == "inform" and text:
            slots["complaint_wants"] = parse_wants(text)
        slots.update(prefill_slots(view, category, slots))
        events = slot_changes(tracker, slots)
        if last_action(tracker) not in (None, "action_listen"):
            # Started by another action (a yes the classifier read as something else): no rule
            # follows, so the form is started here.
            events.append(FollowupAction("complaint_form"))
        return events


class ActionComplaintSummary(BlockingAction):
    """Restates the complaint, the record's facts beside the customer's words, and asks to confirm."""

    def name(self) -> str:
        return "action_complaint_summary"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        lines = [t(lang, "Let me make sure I have this right:")]
        waybill = complaint_waybill(tracker)
        lines.append(t(lang, "- Shipment: {waybill}", waybill=waybill or t(lang, "no waybill number given")))
        try:
            view = lookup(waybill)
        except BackendUnavailable:
            # The summary goes on without the record's facts.
            logger.exception("shipment lookup failed")
            view = None
        if view is not None:
            lines.append(t(lang, "- Our record: {facts}", facts=record_facts_text(view, lang)))
        category = category_text(tracker.get_slot("complaint_category"), lang)
        lines.append(t(lang, "- What happened: {category}", category=category))
        description = tracker.get_slot("complaint_description")
        if description:
            words = description if len(description) <= 160 else description[:157] + "..."
            lines.append(t(lang, '- In your words: "{words}"', words=words))
        else:
            lines.append(t(lang, "- Your own description: none given yet"))
        if tracker.get_slot("complaint_when"):
            lines.append(t(lang, "- When: {when}", when=shown(tracker.get_slot("complaint_when"), lang)))
        if tracker.get_slot("complaint_extent") and tracker.get_slot("complaint_extent") != description:
            extent = shown(tracker.get_slot("complaint_extent"), lang)
            lines.append(t(lang, "- Damaged or missing: {extent}", extent=extent))
        value = decimal_value(tracker.get_slot("complaint_value"))
        declared = value_beside_record(tracker.get_slot("complaint_value"), view)
        if value is not None and declared is not None:
            # The shipper's figure stands; the record's is shown beside it, for them and for the agent.
            lines.append(
                t(
                    lang,
                    "- Value of the goods: {value} by your account; {declared} declared on the waybill",
                    value=Money(value),
                    declared=Money(declared),
                )
            )
        elif tracker.get_slot("complaint_value"):
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
        dispatcher.utter_message(text="\n".join(lines), buttons=summary_buttons(lang))
        return [
            SlotSet("awaiting", "summary_confirm"),
            SlotSet("complaint_correction", None),
            *_tries_reset(tracker),
        ]


class ActionCorrectComplaint(BlockingAction):
    """A "no" to the summary, as the classifier read it: the words decide (answer_open_step)."""

    def name(self) -> str:
        return "action_correct_complaint"

    def when_down(self, tracker: Tracker) -> list[EventType]:
        return [SlotSet("awaiting", None), SlotSet("complaint_retries", 0.0)]

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return answer_open_step(dispatcher, tracker, "summary_confirm")


class ActionAnalyseComplaint(BlockingAction):
    """A "yes" to the summary, as the classifier read it: the words decide (answer_open_step)."""

    def name(self) -> str:
        return "action_analyse_complaint"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return answer_open_step(dispatcher, tracker, "summary_confirm")


class ActionAcceptRemedy(BlockingAction):
    """A "yes" (or thanks) to an offer, as the classifier read it: the words decide (answer_open_step)."""

    def name(self) -> str:
        return "action_accept_remedy"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return answer_open_step(dispatcher, tracker, "remedy_answer")


class ActionRefuseRemedy(BlockingAction):
    """A "no" to an offer, as the classifier read it: the words decide (answer_open_step)."""

    def name(self) -> str:
        return "action_refuse_remedy"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return answer_open_step(dispatcher, tracker, "remedy_answer")


class ActionComplaintAnswer(BlockingAction):
    """Anything else said to the summary or to an offer: read it there, never drop the complaint."""

    def name(self) -> str:
        return "action_complaint_answer"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return answer_open_step(dispatcher, tracker)


def answer_open_step(
    dispatcher: CollectingDispatcher, tracker: Tracker, step: str | None = None
) -> list[EventType]:
    """The shipper's answer to the summary ("Is that right?") or to an offer ("Would that be
    acceptable?"), whatever it is and whichever intent the classifier gave it.

    The first words decide yes or no ("yes, and nobody even told me!!" is a yes); what an answer adds
    feeds the complaint; an answer that is neither is read where the step allows it (a correction at
    the summary, a photo promised to a claim that waits for one), a question about the shipment is
    answered, and anything else asks the same question again with its buttons and why; the second
    time, a person takes the complaint over with everything kept. Nothing established is ever dropped.
    `step` is the question answered (the `awaiting` slot when not given).
    """
    step = step or tracker.get_slot("awaiting")
    # The step's own name, for the re-asked question and the hand-over's reason.
    tracker.slots["awaiting"] = step
    if step == "remedy_answer":
        return _answer_offer(dispatcher, tracker)
    if step == "summary_confirm":
        return _answer_summary(dispatcher, tracker)
    return []


def _answer_summary(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    text = (tracker.latest_message.get("text") or "").strip()
    reading = read_yes_no(text, tracker.get_intent_of_latest_message())
    photo = _photo_news(tracker, text)
    if reading == "yes":
        rest = after_yes_no(text)
        added = added_facts(rest, tracker)
        if has_contrast(rest) and correction_fields(rest) and not added:
            # "yes, but the date is wrong": a correction after all.
            return _correct(dispatcher, tracker, rest)
        return _analyse(dispatcher, tracker, {**added, **photo})
    if reading == "no":
        return _correct(dispatcher, tracker, text)
    lang = language(tracker)
    if photo:
        received = photo["complaint_photo"] == "received"
        dispatcher.utter_message(text=t(lang, PHOTO_RECEIVED_TEXT if received else PHOTO_LATER_TEXT))
        return [*_slot_events(photo), *_ask_again(dispatcher, tracker, counts=False)]
    if _asks_about_shipment(tracker, text):
        _answer_question(dispatcher, tracker, text)
        return _ask_again(dispatcher, tracker, counts=False)
    if not looks_like_question(text) and not text.startswith("/"):
        # A new value or a field named ("it was worth 800 yuan", "the date is wrong"): a correction.
        updates = apply_correction(text, tracker, dispatcher)
        if updates:
            return _correct(dispatcher, tracker, text, updates=updates)
    return _ask_again(dispatcher, tracker)


def _answer_offer(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    text = (tracker.latest_message.get("text") or "").strip()
    intent = tracker.get_intent_of_latest_message()
    reading = read_yes_no(text, intent)
    lang = language(tracker)
    photo = _photo_news(tracker, text)
    if photo:
        # The claim waits for a photo: a photo sent or promised accepts it ("I'll send a photo later").
        received = photo["complaint_photo"] == "received"
        dispatcher.utter_message(text=t(lang, PHOTO_RECEIVED_TEXT if received else PHOTO_LATER_TEXT))
        return [*_slot_events(photo), *_accept(dispatcher, tracker)]
    if reading == "yes" or (reading is None and intent == "thank"):
        return _accept(dispatcher, tracker)
    if reading == "no":
        return _refuse(dispatcher, tracker, added_facts(after_yes_no(text), tracker))
    if _asks_about_shipment(tracker, text):
        _answer_question(dispatcher, tracker, text)
        return _ask_again(dispatcher, tracker, counts=False)
    return _ask_again(dispatcher, tracker)


def added_facts(rest: str, tracker: Tracker) -> dict[str, Any]:
    """What an answer adds after its yes or no: an amount, or a wish we recognise."""
    if not rest or rest.startswith("/"):
        return {}
    signals = read_signals(rest)
    added: dict[str, Any] = {}
    if signals.amounts:
        added["complaint_value"] = str(max(signals.amounts))
    wants = signals.wants or parse_wants(rest)
    if wants in WANTS and wants != tracker.get_slot("complaint_wants"):
        added["complaint_wants"] = wants
    return added


def _photo_news(tracker: Tracker, text: str) -> dict[str, Any]:
    """A photo sent with this message or promised in it, when the complaint still waits for one."""
    if (
        tracker.get_slot("complaint_category") != "damage"
        or tracker.get_slot("complaint_photo") == "received"
    ):
        return {}
    metadata = tracker.latest_message.get("metadata") or {}
    if text == PHOTO_FOR_BOT or (isinstance(metadata, dict) and metadata.get("attachments")):
        return {"complaint_photo": "received"}
    return {"complaint_photo": "later"} if promises_photo(text) else {}


def _asks_about_shipment(tracker: Tracker, text: str) -> bool:
    return bool(
        complaint_waybill(tracker)
        and tracker.get_intent_of_latest_message() in QUESTION_INTENTS
        and looks_like_question(text)
    )


def _answer_question(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> None:
    about = text if find_in_text(text) else complaint_waybill(tracker) or ""
    answer_shipment(dispatcher, tracker, question_aspect(text), about)


def _tries_reset(tracker: Tracker) -> list[EventType]:
    """A new question starts with no failed answers (the last question may have had one)."""
    return [SlotSet("complaint_retries", 0.0)] if tracker.get_slot("complaint_retries") else []


def _slot_events(slots: dict[str, Any]) -> list[EventType]:
    return [SlotSet(name, value) for name, value in slots.items()]


def _with(tracker: Tracker, slots: dict[str, Any]) -> Tracker:
    """The tracker as it will be once `slots` are set, so that the draft includes what was just said."""
    tracker.slots.update(slots)
    return tracker


def _ask_again(dispatcher: CollectingDispatcher, tracker: Tracker, *, counts: bool = True) -> list[EventType]:
    """The open question again, with its buttons and why; the second unclear answer hands over."""
    lang = language(tracker)
    step = tracker.get_slot("awaiting")
    tries = int(tracker.get_slot("complaint_retries") or 0) + (1 if counts else 0)
    if tries >= MAX_TRIES:
        dispatcher.utter_message(text=t(lang, HAND_OVER_UNCLEAR_TEXT))
        reason = (
            f"no clear answer to the {'offer' if step == 'remedy_answer' else 'summary'} after {tries} tries"
        )
        return [SlotSet("complaint_retries", 0.0), *escalate_complaint(dispatcher, tracker, reason=reason)]
    unclear = [t(lang, NOT_YES_NO_TEXT)] if counts else []
    if step == "remedy_answer":
        again = t(lang, OFFER_AGAIN_TEXT, number=tracker.get_slot("ticket_number") or "")
        dispatcher.utter_message(text=sentences(lang, [*unclear, again]), buttons=remedy_buttons(lang))
    else:
        again = t(lang, SUMMARY_AGAIN_TEXT)
        dispatcher.utter_message(text=sentences(lang, [*unclear, again]), buttons=summary_buttons(lang))
    return [SlotSet("complaint_retries", float(tries)), SlotSet("awaiting", step)]


def _correct(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str, *, updates: dict[str, Any] | None = None
) -> list[EventType]:
    """The summary is wrong: apply what the shipper said, or have the form ask which part."""
    events: list[EventType] = [SlotSet("awaiting", None), SlotSet("complaint_retries", 0.0)]
    lang = language(tracker)
    if updates is None:
        updates = apply_correction(text, tracker, dispatcher)
    if updates:
        dispatcher.utter_message(text=t(lang, "Thanks, let me fix that."))
        events += _slot_events(updates)
    else:
        events.append(SlotSet("complaint_correction_pending", True))
    return events


def _analyse(dispatcher: CollectingDispatcher, tracker: Tracker, added: dict[str, Any]) -> list[EventType]:
    """Analyse, then negotiate: the first remedy of the ladder, or a person at once when it is serious."""
    events = [*_slot_events(added), *_tries_reset(tracker)]
    draft, now = complaint_draft(_with(tracker, added)), utcnow()
    lang = language(tracker)
    try:
        outcome = client.offer_remedy(draft, now=now)
    except StaleTicket as failure:
        logger.exception("analysis failed")
        dispatcher.utter_message(text=failure_text(failure, lang))
        return events
    if outcome.escalated:
        return [*events, *render_escalation(dispatcher, outcome, lang)]
    dispatcher.utter_message(text=offer_text(outcome, again=False, lang=lang), buttons=remedy_buttons(lang))
    return [*events, SlotSet("ticket_number", outcome.ticket_number), SlotSet("awaiting", "remedy_answer")]


def _accept(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """The customer accepts: the ticket is `open` with the agreed resolution."""
    number = tracker.get_slot("ticket_number") or ""
    lang = language(tracker)
    try:
        accepted = client.accept_remedy(number)
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
    except (LookupError, StaleTicket) as failure:
        # No offer on record to accept is said as the backend trouble it most likely is.
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
    return [SlotSet("awaiting", "done"), *_tries_reset(tracker)]


def _refuse(dispatcher: CollectingDispatcher, tracker: Tracker, added: dict[str, Any]) -> list[EventType]:
    """The customer refuses: analysed again with what they said, the next offer once, then a person."""
    refusals = int(tracker.get_slot("complaint_refusals") or 0) + 1
    draft, now = complaint_draft(_with(tracker, added)), utcnow()
    lang = language(tracker)
    number = tracker.get_slot("ticket_number")
    events = [*_slot_events(added), *_tries_reset(tracker)]
    try:
        outcome = client.refuse_remedy(draft, ticket_number=number, refusals=refusals, now=now)
    except StaleTicket as failure:
        logger.exception("refusing the remedy failed")
        dispatcher.utter_message(text=failure_text(failure, lang))
        return events
    events.append(SlotSet("complaint_refusals", float(refusals)))
    if outcome.escalated:
        dispatcher.utter_message(text=t(lang, "I understand, and I'm sorry that isn't enough."))
        return [*events, *render_escalation(dispatcher, outcome, lang)]
    dispatcher.utter_message(text=offer_text(outcome, again=True, lang=lang), buttons=remedy_buttons(lang))
    return [*events, SlotSet("awaiting", "remedy_answer")]


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
