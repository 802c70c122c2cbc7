"""Proactive notices: the shipper stops them ("stop updates", 退订) or takes them back ("resume updates")."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from backend.i18n import t
from backend.services.notices import ALREADY_STOPPED_TEXT, RESUMED_TEXT, STOPPED_TEXT

from . import client
from .base import BlockingAction
from .complaint_flow import accepts_offer_in_words
from .shipper_language import language


class ActionStopUpdates(BlockingAction):
    """Records the opt-out for this conversation and confirms it in the shipper's language."""

    def name(self) -> str:
        return "action_stop_updates"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # "是的！！根本没人通知我" after the offer of a complaint is a yes, whatever it says of notices.
        if accepted := accepts_offer_in_words(tracker):
            return accepted
        stopped_now = client.stop_updates(tracker.sender_id)
        dispatcher.utter_message(
            text=t(language(tracker), STOPPED_TEXT if stopped_now else ALREADY_STOPPED_TEXT)
        )
        return []


class ActionResumeUpdates(BlockingAction):
    """Takes the opt-out back: the shipper hears of the shipments they ask about again."""

    def name(self) -> str:
        return "action_resume_updates"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if accepted := accepts_offer_in_words(tracker):
            return accepted
        client.resume_updates(tracker.sender_id)
        dispatcher.utter_message(text=t(language(tracker), RESUMED_TEXT))
        return []
