"""The web channel: the demo carrier page, the one-script-tag widget (deep-chat) and its own small API.

Two halves, like every channel. Inbound: a frame on the widget's WebSocket (text, a pressed button) or a
multipart photo upload becomes one `Inbound` record for the hub. Outbound: the hub publishes every stored
message on the broker; each open widget hears its own conversation's. The widget's wire format lives only
in this package, one module per job:

- `wire`: transcript lines as the widget reads them, and how its requests are read;
- `cors`: the cross-origin answers of the widget's API (it runs on other sites' pages);
- `identity`: the signed session token that names the widget's conversation;
- `demo`: the demo page, the widget's script and static files;
- `live`: the conversation's history and the live WebSocket;
- `photos`: photo uploads and the stored photos served back.
"""

from __future__ import annotations

from fastapi import APIRouter

from backend.channels.web import cors, demo, identity, live, photos
from backend.channels.web.cors import WidgetRoute
from backend.channels.web.demo import DEEP_CHAT_BUNDLE
from backend.channels.web.identity import SESSION_SALT
from backend.channels.web.live import CLOSE_UNAUTHORISED, _inbound
from backend.channels.web.photos import photo_refusal
from backend.channels.web.wire import SESSION_HEADER, widget_message

# Order matters where paths overlap: the preflight's `/widget/{rest:path}` answers a wrong method on the
# routes after it (405, `Allow: OPTIONS`), as it always has.
router = APIRouter(tags=["web"], route_class=WidgetRoute)
for part in (demo, cors, identity, live, photos):
    router.include_router(part.router)

__all__ = [
    "CLOSE_UNAUTHORISED",
    "DEEP_CHAT_BUNDLE",
    "SESSION_HEADER",
    "SESSION_SALT",
    "_inbound",
    "photo_refusal",
    "router",
    "widget_message",
]
