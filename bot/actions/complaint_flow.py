"""The complaint's state in the conversation, shared by the complaint actions, the form and the hand-over.

Dialogue logic, not an action: the slots a complaint sets, the draft the backend's use cases take, the
record's prefills put into slots, a correction read into slot changes, and the escalation's words.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.clock import utcnow
from backend.complaints.goods import named_extent
from backend.complaints.record import record_prefills
from backend.complaints.signals import read_signals
from backend.domain import ShipmentView
from backend.i18n import t
from backend.services.complaints import ComplaintDraft, Outcome
from backend.services.tickets import StaleTicket
from backend.waybill import find_in_text

from . import client
from .complaint_parsing import UNSPECIFIED, correction_fields, read_yes_no
from .complaint_texts import STALE_TEXT, escalation_text
from .dialogue import complaint_messages
from .shipment_text import not_found_text, waybill_problem_text
from .shipper_language import language

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
# The complaints whose extent (what was damaged or is missing) and goods' value the form asks for.
GOODS_CATEGORIES = frozenset({"damage", "loss"})
# A question with a closed set of answers is asked at most this many times, then the complaint goes on
# (the form without the fact; the summary or an offer to a person, with everything kept).
MAX_TRIES = 2


def complaint_key(tracker: Tracker) -> str:
    """The ticket's idempotency key: one complaint of one conversation, stable across retries."""
    return f"complaint:{tracker.sender_id}:{tracker.get_slot('complaint_id')}"


def complaint_in_progress(tracker: Tracker) -> bool:
    """A complaint has been started and not yet ended with an agreed remedy or an escalation."""
    return bool(tracker.get_slot("complaint_id")) and tracker.get_slot("awaiting") != "done"


def accepts_offer_in_words(tracker: Tracker) -> list[EventType]:
    """The offer of a complaint answered with a yes in words ("是的！！根本没人通知我"), whatever the
    classifier made of it: the complaint starts (an action reached by another intent hands over)."""
    text = tracker.latest_message.get("text") or ""
    if tracker.get_slot("awaiting") == "complaint_offer" and read_yes_no(text) == "yes":
        return [FollowupAction("action_start_complaint")]
    return []


def lookup(waybill: str | None) -> ShipmentView | None:
    """The record of the complaint's shipment (None without a waybill); raises BackendUnavailable."""
    if not waybill or waybill == NO_WAYBILL:
        return None
    return client.shipment(waybill)


def slot_changes(tracker: Tracker, slots: dict[str, Any]) -> list[EventType]:
    """SlotSet events for the slots whose value changes. A slot set to the value it already has
    (a new complaint clears eleven slots that are empty) changes no state the policies read, but is a
    tracker event all the same: sent back to Rasa, applied, stored as a row of the tracker store and
    read with the conversation on every later turn."""
    return [SlotSet(name, value) for name, value in slots.items() if tracker.get_slot(name) != value]


def prefill_slots(view: ShipmentView | None, category: str | None, slots: dict[str, Any]) -> dict[str, Any]:
    """The slots the shipment record already answers, so the customer is not asked for them."""
    prefill = record_prefills(
        view,
        category,
        value_known=bool(slots.get("complaint_value")),
        extent_known=bool(slots.get("complaint_extent")),
    )
    filled: dict[str, Any] = {}
    if prefill.declared_value is not None:
        filled["complaint_value"] = str(prefill.declared_value)
    if prefill.extent is not None:
        filled["complaint_extent"] = prefill.extent
    return filled


def extent_from_story(category: str | None, story: str | None) -> dict[str, Any]:
    """The extent a damage or loss story already names ("the vase inside is smashed"), so the form
    does not ask "What exactly was damaged?" right after it was said."""
    if category not in GOODS_CATEGORIES or not story:
        return {}
    extent = named_extent(story)
    return {"complaint_extent": extent} if extent else {}


def value_beside_record(value: str | None, view: ShipmentView | None) -> Decimal | None:
    """The record's declared value when the shipper's own figure differs from it, else None."""
    said = decimal_value(value)
    if view is None or view.declared_value is None or said is None:
        return None
    return view.declared_value if said != view.declared_value else None


def decimal_value(value: str | None) -> Decimal | None:
    if not value or value == "unknown":
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def complaint_waybill(tracker: Tracker) -> str | None:
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
        waybill=complaint_waybill(tracker),
        description=description,
        incident_when=tracker.get_slot("complaint_when"),
        extent=tracker.get_slot("complaint_extent"),
        declared_value=decimal_value(tracker.get_slot("complaint_value")),
        photo_status=tracker.get_slot("complaint_photo"),
        customer_wants=None if wants == UNSPECIFIED else wants,
        stage=_stage(tracker),
        language=language(tracker),
    )


def escalate_complaint(dispatcher: CollectingDispatcher, tracker: Tracker, *, reason: str) -> list[EventType]:
    """Hands the complaint to a person with what is known: ticket `escalated`, conversation paused."""
    draft, now = complaint_draft(tracker), utcnow()
    lang = language(tracker)
    try:
        outcome = client.escalate_complaint(draft, now=now, reason=reason)
    except StaleTicket:
        # A person kept changing the ticket meanwhile, even after one retry.
        logger.exception("escalation failed")
        dispatcher.utter_message(text=t(lang, STALE_TEXT))
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
            view = lookup(found.value)
            if view is None:
                dispatcher.utter_message(text=not_found_text(found.value, lang))
            else:
                updates.update(complaint_waybill=view.waybill, waybill=view.waybill)
                # Facts taken from the old record do not carry over to another shipment.
                updates.update(complaint_value=None, complaint_extent=None)
                category = tracker.get_slot("complaint_category")
                updates.update(prefill_slots(view, category, {}))
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
