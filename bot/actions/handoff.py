"""Handing a conversation to a person, and answering "how is my complaint going?"."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.complaints.remedies import remedy_said
from backend.i18n import N_, sentences, t

from . import client
from .base import BlockingAction
from .client import TicketView
from .complaint_flow import COMPLAINT_SLOTS, accepts_offer_in_words
from .escalation import local_time_text
from .handoff_flow import hand_over_to_person
from .shipper_language import language

TICKET_NUMBER = re.compile(r"\bT-?\s?(\d{6})-?\s?(\d{5})\b", re.I)

STATUS_TEXT = {
    "open": N_("the remedy we agreed is being carried out"),
    "escalated": N_("it is waiting for one of our colleagues to pick it up"),
    "assigned": N_("a colleague is working on it"),
    "waiting_customer": N_("we are waiting for your answer"),
    "resolved": N_("it has been resolved"),
    "closed": N_("it is closed"),
}


class ActionEscalate(BlockingAction):
    """A person is asked for: hand over with what is known so far (a complaint, or a plain handoff)."""

    def name(self) -> str:
        return "action_escalate"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return hand_over_to_person(dispatcher, tracker)


class ActionBackFromAgent(BlockingAction):
    """The person handed the conversation back (run by the hub): say so, and what the bot can do."""

    def name(self) -> str:
        return "action_back_from_agent"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=t(
                language(tracker),
                "Hello again, it's the carrier's assistant. My colleague has handed you back to me. I can "
                "check any shipment (send its waybill number), tell you how a complaint is going "
                '(send its T- number), or take a new complaint. Say "agent" whenever you want a person '
                "again.",
            )
        )
        # Whatever the bot was doing when the person took over is finished now: the complaint is the
        # person's (its ticket keeps everything), so a new message starts afresh.
        return [ActiveLoop(None), *(SlotSet(slot, None) for slot in (*COMPLAINT_SLOTS, "awaiting"))]


class ActionTicketStatus(BlockingAction):
    """Answers "what's happening with my complaint?" from the ticket store."""

    def name(self) -> str:
        return "action_ticket_status"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if accepted := accepts_offer_in_words(tracker):
            return accepted
        match = TICKET_NUMBER.search(tracker.latest_message.get("text") or "")
        lang = language(tracker)
        if match:
            number = f"T-{match.group(1)}-{match.group(2)}"
            ticket = client.ticket(number)
            if ticket is None:
                dispatcher.utter_message(
                    text=t(
                        lang,
                        "I couldn't find a complaint numbered {number}. Could you check the number? "
                        "It looks like T-202611-00042.",
                        number=number,
                    )
                )
                return []
        else:
            ticket = client.latest_ticket(tracker.sender_id)
            if ticket is None:
                dispatcher.utter_message(
                    # "I have a complaint" can read like a status question: offer both ways.
                    text=t(
                        lang,
                        "What's your complaint number? It looks like T-202611-00042. If you'd like "
                        "to make a new complaint, just tell me what happened.",
                    )
                )
                return []
        text = ticket_status_text(ticket, own=ticket.conversation_id == tracker.sender_id, lang=lang)
        dispatcher.utter_message(text=text)
        return []


def ticket_status_text(ticket: TicketView, *, own: bool, lang: str = "en") -> str:
    """One plain sentence on where a ticket stands; details only in the conversation that opened it."""
    request = ticket.kind == "handoff"
    state = (
        t(lang, STATUS_TEXT[ticket.status])
        if ticket.status in STATUS_TEXT
        else ticket.status.replace("_", " ")
    )
    if not own:
        # Ticket numbers are sequential and easy to guess: a stranger learns the state, nothing more.
        stranger = (
            N_("Request {number}: {state}. For the details, please ask in the chat where it was opened.")
            if request
            else N_(
                "Complaint {number}: {state}. For the details, please ask in the chat where it was opened."
            )
        )
        return t(lang, stranger, number=ticket.number, state=state)
    if ticket.waybill:
        mine = (
            N_("Your request {number} about {waybill}: {state}.")
            if request
            else N_("Your complaint {number} about {waybill}: {state}.")
        )
    else:
        mine = N_("Your request {number}: {state}.") if request else N_("Your complaint {number}: {state}.")
    parts = [t(lang, mine, number=ticket.number, waybill=ticket.waybill, state=state)]
    facts = ticket.agreed_resolution_facts
    agreed = remedy_said(facts, lang) if facts else ticket.agreed_resolution
    # A remedy the bot agreed is a code with its facts, said in the shipper's language; one an agent
    # typed is kept as typed, so it is quoted only to a shipper of that language (English).
    if agreed and ticket.status in {"open", "resolved", "closed"} and (facts or lang == "en"):
        agreed = agreed.rstrip(".。")
        parts.append(t(lang, "Agreed: {remedy}.", remedy=agreed))
    elif agreed and ticket.status in {"open", "resolved", "closed"}:
        parts.append(t(lang, "The remedy we agreed is on your ticket."))
    if ticket.sla_due_at and ticket.status in {"escalated", "assigned"}:
        due = local_time_text(ticket.sla_due_at, lang)
        parts.append(t(lang, "We aim to answer by {due} (China time).", due=due))
    return sentences(lang, parts)
