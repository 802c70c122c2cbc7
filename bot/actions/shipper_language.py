"""The shipper's language: the `language` slot, and how one message's language is read."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from backend.domain import PHOTO_FOR_BOT
from backend.i18n import language_of
from backend.language import detect_language


def language(tracker: Tracker) -> str:
    """The language to answer in: 'zh' or 'en' (English until the slot says otherwise)."""
    return language_of(tracker.get_slot("language"))


def message_language(text: str, metadata: dict[str, Any], previous: str | None) -> str:
    """The language of one message; a pressed button or the hub's photo stand-in keeps the previous one."""
    hint = metadata.get("language") if isinstance(metadata.get("language"), str) else None
    words = text or ""
    if metadata.get("button") is True or words.lstrip().startswith("/") or words == PHOTO_FOR_BOT:
        # A button's payload ("/affirm") or the hub's own words say nothing about the shipper's language.
        words = ""
    return detect_language(words, previous=previous, hint=hint)
