"""Handing a conversation to a person, and answering "how is my complaint going?"."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from backend.i18n import N_, sentences, t
from backend.models import utcnow
from backend.services.tickets import get_ticket, list_tickets, open_ticket

from .backend import BACKEND_DOWN_TEXT, BlockingAction, backend_session
from .complaints import COMPLAINT_SLOTS, complaint_in_progress, escalate_complaint
from .escalation import hand_over, local_time_text, who_answers_text
from .language import language

logger = logging.getLogger(__name__)

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
        if complaint_in_progress(tracker):
            return escalate_complaint(dispatcher, tracker, reason="the customer asked for a person")
        conversation_id = tracker.sender_id
        now = utcnow()
        lang = language(tracker)
        waybill = tracker.get_slot("waybill")
        message_id = tracker.latest_message.get("message_id") or str(len(tracker.events))
        try:
            with backend_session() as session:
                ticket = open_ticket(
                    session,
                    idempotency_key=f"handoff:{conversation_id}:{message_id}",
                    conversation_id=conversation_id,
                    kind="handoff",
                    status="escalated",
                    actor="bot",
                    now=now,
                    waybill=waybill,
                    priority="P3",
                    summary="Customer asked to talk to a person"
                    + (f" about {waybill}" if waybill else "")
                    + ".",
                    description=tracker.latest_message.get("text") or "",
                    recorded_by="bot",
                )
                hand_over(session, conversation_id=conversation_id, reason="customer asked for a person")
                number, due = ticket.number, ticket.sla_due_at
        except SQLAlchemyError:
            logger.exception("handoff failed")
            dispatcher.utter_message(text=t(lang, BACKEND_DOWN_TEXT))
            return []
        dispatcher.utter_message(
            text=t(
                lang,
                "Of course. I'm passing you to a person now (reference {number}). {who_answers} Everything "
                "you've told me stays in this chat, so you won't need to repeat it.",
                number=number,
                who_answers=who_answers_text("P3", now, due=due, lang=lang),
            )
        )
        return [SlotSet("ticket_number", number), SlotSet("awaiting", None), ConversationPaused()]


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
        match = TICKET_NUMBER.search(tracker.latest_message.get("text") or "")
        lang = language(tracker)
        try:
            with backend_session() as session:
                if match:
                    number = f"T-{match.group(1)}-{match.group(2)}"
                    ticket = get_ticket(session, number)
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
                    mine = list_tickets(session, conversation_id=tracker.sender_id, limit=1)
                    if not mine:
                        dispatcher.utter_message(
                            # "I have a complaint" can read like a status question: offer both ways.
                            text=t(
                                lang,
                                "What's your complaint number? It looks like T-202611-00042. If you'd like "
                                "to make a new complaint, just tell me what happened.",
                            )
                        )
                        return []
                    ticket = mine[0]
                text = ticket_status_text(ticket, own=ticket.conversation_id == tracker.sender_id, lang=lang)
        except SQLAlchemyError:
            logger.exception("ticket lookup failed")
            dispatcher.utter_message(text=t(lang, BACKEND_DOWN_TEXT))
            return []
        dispatcher.utter_message(text=text)
        return []


def ticket_status_text(ticket: Any, *, own: bool, lang: str = "en") -> str:
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
    agreed = ticket.agreed_resolution
    # The ticket keeps the agreed remedy as the agents read it (English): said only in English.
    if agreed and ticket.status in {"open", "resolved", "closed"} and lang == "en":
        parts.append(f"Agreed: {agreed}" + ("" if agreed.endswith(".") else "."))
    elif agreed and ticket.status in {"open", "resolved", "closed"}:
        parts.append(t(lang, "The remedy we agreed is on your ticket."))
    if ticket.sla_due_at and ticket.status in {"escalated", "assigned"}:
        due = local_time_text(ticket.sla_due_at, lang)
        parts.append(t(lang, "We aim to answer by {due} (China time).", due=due))
    return sentences(lang, parts)
