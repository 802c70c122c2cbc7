"""Handing the conversation to a person, shared by action_escalate and the phone look-up's call back.

Dialogue logic, not an action: a complaint in progress is escalated with what is known; otherwise the
request for a person is registered through the backend's hand-over service.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from backend.clock import utcnow
from backend.i18n import t

from . import client
from .complaint_flow import complaint_in_progress, escalate_complaint
from .escalation import who_answers_text
from .shipper_language import language


def hand_over_to_person(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """A person is asked for: hand over with what is known so far (a complaint, or a plain handoff).

    Raises BackendUnavailable when the hand-over could not be registered."""
    if complaint_in_progress(tracker):
        return escalate_complaint(dispatcher, tracker, reason="the customer asked for a person")
    now = utcnow()
    lang = language(tracker)
    handover = client.request_person(
        conversation_id=tracker.sender_id,
        # One request per message: a retried action finds the ticket it opened.
        request_id=tracker.latest_message.get("message_id") or str(len(tracker.events)),
        text=tracker.latest_message.get("text") or "",
        waybill=tracker.get_slot("waybill"),
        now=now,
        language=lang,
    )
    dispatcher.utter_message(
        text=t(
            lang,
            "Of course. I'm passing you to a person now (reference {number}). {who_answers} Everything "
            "you've told me stays in this chat, so you won't need to repeat it.",
            number=handover.ticket_number,
            who_answers=who_answers_text(handover.priority, now, due=handover.due, lang=lang),
        )
    )
    return [SlotSet("ticket_number", handover.ticket_number), SlotSet("awaiting", None), ConversationPaused()]
