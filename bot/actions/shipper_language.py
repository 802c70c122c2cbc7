"""The shipper's language as the actions read it: the `language` slot (set from every message by
bot/language_slot.py)."""

from __future__ import annotations

from rasa_sdk import Tracker

from backend.i18n import language_of


def language(tracker: Tracker) -> str:
    """The language to answer in: 'zh' or 'en' (English until the slot says otherwise)."""
    return language_of(tracker.get_slot("language"))
