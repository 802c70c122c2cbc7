"""The complaint script's actions: calm, confirm, analyse, negotiate (DOMAIN.md), ending in a ticket.

The actions read the slots, call one use case of the backend through the client, and put its result
into words (complaint_texts); the form's validator is complaint_form, the shared state complaint_flow.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.clock import utcnow
from backend.complaints.record import category_from_record, is_description
from backend.complaints.signals import read_signals
from backend.complaints.wording import calm_message
from backend.i18n import Money, sentences, t
from backend.services.tickets import InvalidTransition, StaleTicket
from backend.waybill import find_in_text

from . import client
from .base import BlockingAction
from .buttons import yes_no
from .client import BackendUnavailable
from .complaint_flow import (
    COMPLAINT_SLOTS,
    FORM_SLOTS,
    apply_correction,
    complaint_draft,
    complaint_waybill,
    decimal_value,
    lookup,
    prefill_slots,
    render_escalation,
)
from .complaint_parsing import category_text, parse_wants, wants_text
from .complaint_texts import (
    NOT_KNOWN,
    TICKET_STATE_WORDS,
    failure_text,
    offer_text,
    record_facts_text,
    remedy_buttons,
    shown,
)
from .dialogue import looks_like_question, previous_user_text, question_aspect
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
        if story and signals.wants:
            slots["complaint_wants"] = signals.wants
        if accepted_offer and intent == "inform" and text:
            slots["complaint_wants"] = parse_wants(text)
        slots.update(prefill_slots(view, category, slots))
        return [SlotSet(name, value) for name, value in slots.items()]


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
        if tracker.get_slot("complaint_extent"):
            extent = shown(tracker.get_slot("complaint_extent"), lang)
            lines.append(t(lang, "- Damaged or missing: {extent}", extent=extent))
        value = decimal_value(tracker.get_slot("complaint_value"))
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

    def when_down(self, tracker: Tracker) -> list[EventType]:
        return [SlotSet("awaiting", None), SlotSet("complaint_retries", 0.0)]

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = self.when_down(tracker)
        lang = language(tracker)
        updates = apply_correction(tracker.latest_message.get("text") or "", tracker, dispatcher)
        if updates:
            dispatcher.utter_message(text=t(lang, "Thanks, let me fix that."))
            events += [SlotSet(slot, value) for slot, value in updates.items()]
        else:
            events.append(SlotSet("complaint_correction_pending", True))
        return events


class ActionAnalyseComplaint(BlockingAction):
    """Analyse, then negotiate: the first remedy of the ladder, or a person at once when it is serious."""

    def name(self) -> str:
        return "action_analyse_complaint"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        draft, now = complaint_draft(tracker), utcnow()
        lang = language(tracker)
        try:
            outcome = client.offer_remedy(draft, now=now)
        except StaleTicket as failure:
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
        return [SlotSet("awaiting", "done")]


class ActionRefuseRemedy(BlockingAction):
    """The customer refuses: analysed again with what they said, the next offer once, then a person."""

    def name(self) -> str:
        return "action_refuse_remedy"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        refusals = int(tracker.get_slot("complaint_refusals") or 0) + 1
        draft, now = complaint_draft(tracker), utcnow()
        lang = language(tracker)
        number = tracker.get_slot("ticket_number")
        try:
            outcome = client.refuse_remedy(draft, ticket_number=number, refusals=refusals, now=now)
        except StaleTicket as failure:
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
