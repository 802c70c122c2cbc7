"""How one message sets the `language` slot: shared by Rasa (bot/rasa_tuning.py) and the action server."""

from __future__ import annotations

from typing import Any

from backend.domain import PHOTO_FOR_BOT
from backend.i18n import language_of
from backend.language import detect_language

SLOT = "language"


def message_language(text: str, metadata: dict[str, Any], previous: str | None) -> str:
    """The language of one message; a pressed button or the hub's photo stand-in keeps the previous one."""
    hint = metadata.get("language") if isinstance(metadata.get("language"), str) else None
    words = text or ""
    if metadata.get("button") is True or words.lstrip().startswith("/") or words == PHOTO_FOR_BOT:
        # A button's payload ("/affirm") or the hub's own words say nothing about the shipper's language.
        words = ""
    return language_of(detect_language(words, previous=previous, hint=hint))


def slot_value(latest_message: dict[str, Any] | None, previous: Any) -> str:
    """The slot's value after a user message (`tracker.latest_message` as Rasa or rasa-sdk hold it)."""
    message = latest_message or {}
    metadata = message.get("metadata")
    return message_language(
        message.get("text") or "",
        metadata if isinstance(metadata, dict) else {},
        previous if isinstance(previous, str) else None,
    )
