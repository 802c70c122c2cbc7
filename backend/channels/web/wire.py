"""The widget's wire format: transcript lines as the widget reads them, and how its requests are read."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi import FastAPI
from starlette.formparsers import MultiPartException

from backend.hub import Hub
from backend.hub.photos import PHOTO_ONLY_TEXT

CHANNEL = "web"
SESSION_HEADER = "X-Widget-Session"
# The widget's input stops at 4,000 characters; a frame far beyond that is not from our widget.
MAX_FRAME_CHARS = 20_000
# The widget's own message ids (dedupe of resends); anything else is treated as "no id".
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_ROLES = {"shipper": "user", "bot": "ai", "agent": "agent", "system": "system"}


def hub_of(app: FastAPI) -> Hub:
    """The app's hub, the channel's only way to the conversations."""
    hub: Hub = app.state.hub
    return hub


def external_id(conversation_id: str) -> str:
    """The `<uuid>` of `web:<uuid>`."""
    return conversation_id.partition(":")[2]


def client_id(value: object) -> str | None:
    """The widget's own id of a message, or None for anything that does not look like one."""
    return value if isinstance(value, str) and _CLIENT_ID.match(value) else None


def widget_message(message: dict[str, Any]) -> dict[str, Any]:
    """A transcript line as the widget reads it: a role, the text, button titles (payloads stay here)."""
    role = "user" if message.get("direction") == "in" else _ROLES.get(str(message.get("sender")), "ai")
    attachments = [
        {"id": a["id"], "content_type": a["content_type"]} for a in message.get("attachments") or []
    ]
    text = message.get("text") or ""
    if attachments and text == PHOTO_ONLY_TEXT:
        text = ""  # the widget shows the photo itself
    return {
        "id": message["id"],
        "role": role,
        "text": text,
        "buttons": [str(b.get("title", "")) for b in message.get("buttons") or []],
        # An agent's display name, shown on the bubble instead of "Agent".
        "author": message.get("author") if role == "agent" else None,
        "attachments": attachments,
        "created_at": message.get("created_at"),
    }


class TooLarge(MultiPartException):
    """The upload went past the limit while it was being read."""


async def capped(stream: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    """The request body, stopped as soon as it passes `limit` (a chunked upload has no Content-Length)."""
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > limit:
            raise TooLarge("too large")
        yield chunk
