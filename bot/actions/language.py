"""The shipper's language, kept in the `language` slot and read afresh from every message.

Rasa runs `action_validate_slot_mappings` after each user message (the slot's custom mapping); it
reads the language of the latest text with backend.language.detect_language, the slot's value so far
as the fallback for a message without words, and the hub's `metadata["language"]` (the conversation's
language, from Telegram's language_code on a first message) as the hint. A shipper who switches
language is answered in the new one from that message on.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker, ValidationAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from backend.i18n import language_of
from backend.language import detect_language

# What the hub sends the bot for a message that is only a photo: the hub's words, not the shipper's.
PHOTO_STAND_IN = "I have sent a photo"


def language(tracker: Tracker) -> str:
    """The language to answer in: 'zh' or 'en' (English until the slot says otherwise)."""
    return language_of(tracker.get_slot("language"))


def message_language(text: str, metadata: dict[str, Any], previous: str | None) -> str:
    """The language of one message; a pressed button or the hub's photo stand-in keeps the previous one."""
    hint = metadata.get("language") if isinstance(metadata.get("language"), str) else None
    words = text or ""
    if metadata.get("button") is True or words.lstrip().startswith("/") or words == PHOTO_STAND_IN:
        # A button's payload ("/affirm") or the hub's own words say nothing about the shipper's language.
        words = ""
    return detect_language(words, previous=previous, hint=hint)


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
        message = tracker.latest_message or {}
        metadata = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
        previous = tracker.get_slot("language")
        return {"language": message_language(message.get("text") or "", metadata or {}, previous)}

    async def validate_language(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Only the two languages the bot speaks."""
        return {"language": language_of(value if isinstance(value, str) else None)}
