"""Buttons the bot offers with a yes/no question; the payloads are intents, pressed ones reach Rasa as is.

Typed answers ("yes", "no thanks") still work: a button is a shortcut, never the only way.
"""

from __future__ import annotations

from typing import Any


def yes_no(yes: str, no: str) -> list[dict[str, Any]]:
    """Two buttons: `yes` sends the affirm intent, `no` the deny intent."""
    return [{"title": yes, "payload": "/affirm"}, {"title": no, "payload": "/deny"}]
