"""The shipper's language, kept in the `language` slot and read afresh from every message.

On Rasa 3.6.21 bot/rasa_tuning.py sets the slot inside Rasa with the same rule (bot/language_slot.py)
and this action is not called; on any other Rasa version Rasa runs `action_validate_slot_mappings`
after each user message (the slot's custom mapping) and this action does it. The rule reads the
language of the latest text with backend.language.detect_language, the slot's value so far as the
fallback for a message without words, and the hub's `metadata["language"]` (the conversation's
language, from Telegram's language_code on a first message) as the hint. A shipper who switches
language is answered in the new one from that message on.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker, ValidationAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from backend.i18n import language_of
from bot.language_slot import slot_value


class ValidatePredefinedSlots(ValidationAction):
    """Sets the `language` slot from every user message (the global slot-mapping action)."""

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # Only the language: every other custom slot is set by the actions themselves.
        return ["language"]

    async def extract_language(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The language of the latest message."""
        return {"language": slot_value(tracker.latest_message, tracker.get_slot("language"))}

    async def validate_language(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Only the two languages the bot speaks."""
        return {"language": language_of(value if isinstance(value, str) else None)}
