"""The complaint script: calm, confirm, analyse, negotiate (DOMAIN.md), ending in a ticket."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from backend.complaints.analysis import Analysis, ComplaintFacts, analyse, next_remedy
from backend.complaints.signals import read_signals
from backend.complaints.wording import calm_message, format_cny
from backend.config import carrier_today
from backend.domain import ShipmentView
from backend.models import utcnow
from backend.services.attachments import adopt_attachments, count_attachments
from backend.services.shipments import get_shipment
from backend.services.tickets import (
    InvalidTransition,
    count_complaints_for_waybill,
    get_ticket,
    list_ticket_events,
    open_ticket,
    record_ticket_event,
    update_ticket,
)
from backend.waybill import find_in_text

from .backend import BACKEND_DOWN_TEXT, backend_session
from .buttons import yes_no
from .complaint_parsing import (
    category_text,
    correction_fields,
    parse_category,
    parse_photo,
    parse_value,
    parse_wants,
    says_no_number,
    wants_text,
)
from .escalation import business_hours_kwargs, hand_over, who_answers_text
from .shipments import not_found_text, waybill_problem_text

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
NO_WAYBILL = "none"
# A story shorter than this ("I want to complain") is a request, not an account of what happened.
MIN_STORY_WORDS = 6
# The category a problem status implies when the customer's words do not name one.
STATUS_CATEGORIES = {
    "held": "delay",
    "missing": "loss",
    "pickup_missed": "missed_pickup",
    "returned": "delay",
    "customs_hold": "delay",
}


NO_PHOTO_YET_TEXT = (
    "I can't see a photo in this chat yet. Please attach it here (the paperclip or photo button), "
    'or say "later" if you will send it afterwards.'
)
PHOTO_LATER_TEXT = "No problem: send the photo here whenever you can, and your claim will wait for it."


def last_bot_text(tracker: Tracker) -> str | None:
    """The text of the bot's latest message in this conversation."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot" and event.get("text"):
            return str(event["text"])
    return None


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
        filled["complaint_extent"] = "the whole shipment"
    return filled


def _decimal(value: str | None) -> Decimal | None:
    if not value or value == "unknown":
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def complaint_facts(tracker: Tracker) -> ComplaintFacts:
    """What the conversation established, for the analysis."""
    return ComplaintFacts(
        category=tracker.get_slot("complaint_category") or "other",
        text=tracker.get_slot("complaint_description") or "",
        declared_value=_decimal(tracker.get_slot("complaint_value")),
        customer_wants=tracker.get_slot("complaint_wants"),
        photo_status=tracker.get_slot("complaint_photo"),
        extent=tracker.get_slot("complaint_extent"),
    )


def _waybill(tracker: Tracker) -> str | None:
    value = tracker.get_slot("complaint_waybill")
    return None if value in (None, NO_WAYBILL) else value


def run_analysis(tracker: Tracker) -> tuple[ShipmentView | None, Analysis]:
    """Looks the shipment up and applies the policy tables; pure apart from the two reads."""
    waybill = _waybill(tracker)
    with backend_session() as session:
        view = get_shipment(session, waybill, today=carrier_today()) if waybill else None
        previous = (
            count_complaints_for_waybill(session, waybill, exclude_key=complaint_key(tracker))
            if waybill
            else 0
        )
    facts = replace(complaint_facts(tracker), previous_complaints_on_waybill=previous)
    analysis = analyse(view, facts, now=utcnow(), signals=read_signals(facts.text), **business_hours_kwargs())
    return view, analysis


def summary_line(tracker: Tracker) -> str:
    """One sentence for the ticket's summary field."""
    waybill = _waybill(tracker) or "no waybill"
    return f"{category_text(tracker.get_slot('complaint_category')).capitalize()} ({waybill})"


def ticket_fields(tracker: Tracker, analysis: Analysis | None, view: ShipmentView | None) -> dict[str, Any]:
    """The complaint registration fields of DOMAIN.md, from the conversation and the analysis."""
    fields: dict[str, Any] = {
        "waybill": _waybill(tracker),
        "category": tracker.get_slot("complaint_category") or "other",
        "summary": summary_line(tracker),
        "description": tracker.get_slot("complaint_description") or "",
        "customer_wants": tracker.get_slot("complaint_wants"),
        "incident_when": tracker.get_slot("complaint_when"),
        "extent": tracker.get_slot("complaint_extent"),
        "declared_value": _decimal(tracker.get_slot("complaint_value")),
        "photo_status": tracker.get_slot("complaint_photo"),
        "recorded_by": "bot",
    }
    if view is not None:
        fields["customer_id"] = view.customer_id
    if analysis is not None:
        fields.update(
            # The analysis may correct the category from the record (a "delay" that is really a loss).
            category=analysis.category or fields["category"],
            level=analysis.level,
            priority=analysis.priority,
            responsibility=analysis.responsibility,
            sla_due_at=analysis.sla_due_at,
        )
    return fields


def record_analysis(session: Session, number: str, analysis: Analysis) -> None:
    """The findings go on the ticket's audit trail for the agent, not to the customer."""
    data = {
        "findings": list(analysis.reasons),
        "responsibility": analysis.responsibility,
        "escalate_reason": analysis.escalate_reason,
        "remedies": [remedy.description for remedy in analysis.remedies],
    }
    # A retried action must not write the same findings twice.
    if any(e.action == "analysed" and e.data == data for e in list_ticket_events(session, number)):
        return
    record_ticket_event(session, number=number, actor="bot", action="analysed", data=data)


def escalate_complaint(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    reason: str,
    analysed: tuple[ShipmentView | None, Analysis] | None = None,
) -> list[EventType]:
    """Escalates the complaint with what is known: ticket `escalated`, conversation queued and paused."""
    now = utcnow()
    try:
        view, analysis = analysed or run_analysis(tracker)
        with backend_session() as session:
            fields = ticket_fields(tracker, analysis, view)
            number = tracker.get_slot("ticket_number")
            ticket = get_ticket(session, number) if number else None
            if ticket is None:
                ticket = open_ticket(
                    session,
                    idempotency_key=complaint_key(tracker),
                    conversation_id=tracker.sender_id,
                    kind="complaint",
                    status="escalated",
                    actor="bot",
                    stage_reached=_stage(tracker),
                    **fields,
                )
            adopt_attachments(session, conversation_id=tracker.sender_id, ticket=ticket)
            record_analysis(session, ticket.number, analysis)
            if ticket.status != "escalated":
                ticket = update_ticket(
                    session,
                    number=ticket.number,
                    expected_version=ticket.version,
                    actor="bot",
                    action="escalated",
                    status="escalated",
                )
            hand_over(session, conversation_id=tracker.sender_id, reason=reason)
            number, priority, due = ticket.number, ticket.priority or analysis.priority, ticket.sla_due_at
    except SQLAlchemyError:
        logger.exception("escalation failed")
        dispatcher.utter_message(text=BACKEND_DOWN_TEXT)
        return []
    dispatcher.utter_message(
        text=f"I've registered your complaint as {number} and passed it to a colleague who can decide on it. "
        + who_answers_text(priority, now, due=due)
        + " They will see everything you've told me, so you won't need to repeat it."
    )
    return [SlotSet("ticket_number", number), SlotSet("awaiting", "done"), ConversationPaused()]


def _stage(tracker: Tracker) -> str:
    awaiting = tracker.get_slot("awaiting")
    if awaiting == "remedy_answer":
        return "negotiate"
    if awaiting == "summary_confirm":
        return "analyse"
    return "confirm" if tracker.get_slot("complaint_category") else "calm"


class ActionStartComplaint(Action):
    """Calm: acknowledge and apologise, take the customer's own words, and prefill what they said."""

    def name(self) -> str:
        return "action_start_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = (tracker.latest_message.get("text") or "").strip()
        accepted_offer = tracker.get_intent_of_latest_message() == "affirm"
        story = "" if accepted_offer or len(text.split()) < MIN_STORY_WORDS else text
        signals = read_signals(text)
        slots: dict[str, Any] = {slot: None for slot in FORM_SLOTS}
        seed = tracker.latest_message.get("message_id") or text or tracker.sender_id
        slots.update(
            complaint_id=hashlib.sha1(f"{tracker.sender_id}:{seed}".encode()).hexdigest()[:12],
            complaint_description=story or None,
            complaint_anger=float(signals.anger),
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
        # The customer's words first; a problem on the record ("held at Wuhan") explains the rest.
        category = signals.category or (_category_from_record(view) if view is not None else None)
        dispatcher.utter_message(text=calm_message(category, signals.anger, seed=seed))
        if found is not None and found.status != "valid":
            dispatcher.utter_message(text=waybill_problem_text(found))
        if view is not None:
            slots.update(complaint_waybill=view.waybill, waybill=view.waybill)
        slots["complaint_category"] = category
        if story and signals.amounts:
            slots["complaint_value"] = str(max(signals.amounts))
        if story and signals.wants:
            slots["complaint_wants"] = signals.wants
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
    """Confirm: asks only for what is still missing, and reads each answer."""

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

    def validate_complaint_waybill(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A valid number that we know, or an honest 'I don't have it'."""
        text = str(value or "")
        found = find_in_text(text)
        if found is None:
            if says_no_number(text):
                dispatcher.utter_message(text="That's fine, a colleague can find it with you later.")
                return {"complaint_waybill": NO_WAYBILL}
            dispatcher.utter_message(
                text="I couldn't see a waybill number in that. It has 13 characters, like EA123456785CN. "
                "If you don't have it, just say \"I don't have it\"."
            )
            return {"complaint_waybill": None}
        if found.status != "valid":
            dispatcher.utter_message(text=waybill_problem_text(found))
            return {"complaint_waybill": None}
        try:
            view = _lookup(found.value)
        except SQLAlchemyError:
            logger.exception("shipment lookup failed")
            dispatcher.utter_message(text=BACKEND_DOWN_TEXT)
            return {"complaint_waybill": None}
        if view is None:
            dispatcher.utter_message(text=not_found_text(found.value))
            return {"complaint_waybill": None}
        slots = {"complaint_waybill": view.waybill, "waybill": view.waybill}
        current = {slot: tracker.get_slot(slot) for slot in FORM_SLOTS}
        slots.update(record_prefills(view, tracker.get_slot("complaint_category"), current))
        return slots

    def validate_complaint_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A category from the answer; the answer joins the description when there was none."""
        text = str(value or "")
        category = parse_category(text)
        if category is None:
            dispatcher.utter_message(text="Sorry, I didn't catch what went wrong.")
            return {"complaint_category": None}
        slots: dict[str, Any] = {"complaint_category": category}
        if not tracker.get_slot("complaint_description"):
            slots["complaint_description"] = text
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
        """Any honest answer about the time will do."""
        text = str(value or "").strip()
        return {"complaint_when": text[:200] or None}

    def validate_complaint_extent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """What was damaged or is missing, in the customer's words."""
        text = str(value or "").strip()
        return {"complaint_extent": text[:500] or None}

    def validate_complaint_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An amount in CNY ('800', '¥1,200', '2k') or 'unknown'."""
        parsed = parse_value(str(value or ""))
        if parsed is None:
            dispatcher.utter_message(
                text="Sorry, I couldn't read an amount there. Roughly how much are the goods worth, in CNY? "
                '"Don\'t know" is fine too.'
            )
        return {"complaint_value": parsed}

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
        if parse_photo(str(value or "")) == "later" or last_bot_text(tracker) == NO_PHOTO_YET_TEXT:
            # Asked once already: do not trap the customer; the claim simply waits for the photo.
            if parse_photo(str(value or "")) != "later":
                dispatcher.utter_message(text=PHOTO_LATER_TEXT)
            return {"complaint_photo": "later"}
        dispatcher.utter_message(text=NO_PHOTO_YET_TEXT)
        return {"complaint_photo": None}

    def validate_complaint_wants(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The remedy asked for, canonical where we recognise it."""
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
            dispatcher.utter_message(text=BACKEND_DOWN_TEXT)
            return {"complaint_correction": None}
        if not updates:
            dispatcher.utter_message(text="Sorry, I didn't catch which part.")
            return {"complaint_correction": None}
        return {**updates, "complaint_correction": str(value), "complaint_correction_pending": False}


def apply_correction(text: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> dict[str, Any]:
    """Slot changes for a correction: new values it holds, or the fields it names cleared."""
    updates: dict[str, Any] = {}
    found = find_in_text(text)
    if found is not None:
        # A new number is checked like any other; a bad one is cleared so that the form asks again.
        updates["complaint_waybill"] = None
        if found.status != "valid":
            dispatcher.utter_message(text=waybill_problem_text(found))
        else:
            view = _lookup(found.value)
            if view is None:
                dispatcher.utter_message(text=not_found_text(found.value))
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


class ActionComplaintSummary(Action):
    """Restates the complaint in one message and asks the customer to confirm."""

    def name(self) -> str:
        return "action_complaint_summary"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lines = ["Let me make sure I have this right:"]
        waybill = _waybill(tracker)
        lines.append(f"- Shipment: {waybill or 'no waybill number given'}")
        lines.append(f"- What happened: {category_text(tracker.get_slot('complaint_category'))}")
        description = tracker.get_slot("complaint_description")
        if description:
            shown = description if len(description) <= 160 else description[:157] + "..."
            lines.append(f'- In your words: "{shown}"')
        for slot, label in (
            ("complaint_when", "When"),
            ("complaint_extent", "Damaged or missing"),
        ):
            if tracker.get_slot(slot):
                lines.append(f"- {label}: {tracker.get_slot(slot)}")
        value = _decimal(tracker.get_slot("complaint_value"))
        if tracker.get_slot("complaint_value"):
            lines.append(f"- Value of the goods: {format_cny(value) if value is not None else 'not known'}")
        photo = tracker.get_slot("complaint_photo")
        if photo:
            lines.append(f"- Photo: {'received' if photo == 'received' else 'you will send it later'}")
        lines.append(f"- You would like: {wants_text(tracker.get_slot('complaint_wants'))}")
        lines.append("Is that right?")
        dispatcher.utter_message(
            text="\n".join(lines), buttons=yes_no("Yes, that's right", "No, change something")
        )
        return [SlotSet("awaiting", "summary_confirm"), SlotSet("complaint_correction", None)]


class ActionCorrectComplaint(Action):
    """The customer says the summary is wrong: apply what they said, or ask which part."""

    def name(self) -> str:
        return "action_correct_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet("awaiting", None)]
        try:
            updates = apply_correction(tracker.latest_message.get("text") or "", tracker, dispatcher)
        except SQLAlchemyError:
            logger.exception("correction lookup failed")
            dispatcher.utter_message(text=BACKEND_DOWN_TEXT)
            return events
        if updates:
            dispatcher.utter_message(text="Thanks, let me fix that.")
            events += [SlotSet(slot, value) for slot, value in updates.items()]
        else:
            events.append(SlotSet("complaint_correction_pending", True))
        return events


class ActionAnalyseComplaint(Action):
    """Analyse, then negotiate: the first remedy of the ladder, or a person at once when it is serious."""

    def name(self) -> str:
        return "action_analyse_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            view, analysis = run_analysis(tracker)
        except SQLAlchemyError:
            logger.exception("analysis failed")
            dispatcher.utter_message(text=BACKEND_DOWN_TEXT)
            return []
        if analysis.escalate_now or not analysis.remedies:
            reason = analysis.escalate_reason or "serious complaint"
            return escalate_complaint(dispatcher, tracker, reason=reason, analysed=(view, analysis))
        remedy = analysis.remedies[0]
        try:
            with backend_session() as session:
                ticket = open_ticket(
                    session,
                    idempotency_key=complaint_key(tracker),
                    conversation_id=tracker.sender_id,
                    kind="complaint",
                    status="waiting_customer",
                    actor="bot",
                    stage_reached="negotiate",
                    remedy_offered=remedy.description,
                    **ticket_fields(tracker, analysis, view),
                )
                adopt_attachments(session, conversation_id=tracker.sender_id, ticket=ticket)
                record_analysis(session, ticket.number, analysis)
                number = ticket.number
        except SQLAlchemyError:
            logger.exception("ticket creation failed")
            dispatcher.utter_message(text=BACKEND_DOWN_TEXT)
            return []
        dispatcher.utter_message(
            text=f"Here is what I can offer: {remedy.description} Would that be acceptable?",
            buttons=yes_no("Yes, I accept", "No"),
        )
        return [SlotSet("ticket_number", number), SlotSet("awaiting", "remedy_answer")]


class ActionAcceptRemedy(Action):
    """The customer accepts: the ticket is `open` with the agreed resolution."""

    def name(self) -> str:
        return "action_accept_remedy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            view = _lookup(_waybill(tracker))
            with backend_session() as session:
                ticket = get_ticket(session, tracker.get_slot("ticket_number") or "")
                if ticket is None or not ticket.remedy_offered:
                    raise LookupError("no offer on record to accept")
                # What the customer accepts is exactly what was offered, as the ticket recorded it.
                if ticket.status != "open":
                    ticket = update_ticket(
                        session,
                        number=ticket.number,
                        expected_version=ticket.version,
                        actor="customer",
                        status="open",
                        agreed_resolution=ticket.remedy_offered,
                    )
                number, customer_class = ticket.number, view.customer_class if view else None
        except InvalidTransition as moved_on:
            # The ticket went on without the bot (a person resolved or closed it): say so, change nothing.
            dispatcher.utter_message(
                text=f"Your complaint {moved_on.number} is already {moved_on.old.replace('_', ' ')}, so "
                "there is no offer open any more. Ask me about it, or tell me what else I can do."
            )
            return [SlotSet("awaiting", "done")]
        except (SQLAlchemyError, LookupError):
            logger.exception("accepting the remedy failed")
            dispatcher.utter_message(text=BACKEND_DOWN_TEXT)
            return []
        follow_up = (
            " As one of our key customers, you'll also get a follow-up call once it's done."
            if customer_class == "A"
            else ""
        )
        dispatcher.utter_message(
            text=f"Thank you. Your complaint is registered as {number}. What happens next: we carry out "
            f"what we agreed and keep you updated here; when it's done we'll ask how satisfied you are."
            f"{follow_up} You can ask me about {number} at any time."
        )
        return [SlotSet("awaiting", "done")]


class ActionRefuseRemedy(Action):
    """The customer refuses: the next step of the ladder once, then a person."""

    def name(self) -> str:
        return "action_refuse_remedy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        refusals = int(tracker.get_slot("complaint_refusals") or 0) + 1
        try:
            view, analysis = run_analysis(tracker)
        except SQLAlchemyError:
            logger.exception("analysis failed")
            dispatcher.utter_message(text=BACKEND_DOWN_TEXT)
            return []
        remedy = next_remedy(analysis, refusals)
        if remedy is None:
            dispatcher.utter_message(text="I understand, and I'm sorry that isn't enough.")
            reason = f"customer refused {refusals} offer(s)"
            return [
                SlotSet("complaint_refusals", float(refusals)),
                *escalate_complaint(dispatcher, tracker, reason=reason, analysed=(view, analysis)),
            ]
        try:
            with backend_session() as session:
                ticket = get_ticket(session, tracker.get_slot("ticket_number") or "")
                if ticket is not None:
                    update_ticket(
                        session,
                        number=ticket.number,
                        expected_version=ticket.version,
                        actor="bot",
                        remedy_offered=remedy.description,
                    )
        except SQLAlchemyError:
            logger.exception("recording the second offer failed")
        dispatcher.utter_message(
            text=f"I understand. Then let me offer this instead: {remedy.description} "
            "Would that work for you?",
            buttons=yes_no("Yes, I accept", "No"),
        )
        return [SlotSet("complaint_refusals", float(refusals)), SlotSet("awaiting", "remedy_answer")]


class ActionStopComplaint(Action):
    """The customer stops the complaint: nothing is registered, and they can start again."""

    def name(self) -> str:
        return "action_stop_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(
            text="All right, I've stopped and registered nothing. If you change your mind, just tell me "
            "what happened. Anything else I can do for you?"
        )
        reset = [*FORM_SLOTS, "complaint_id", "complaint_description", "requested_slot", "awaiting"]
        return [SlotSet(slot, None) for slot in reset]
