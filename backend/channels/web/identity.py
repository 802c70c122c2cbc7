"""Who a widget is: the backend issues the conversation id (`web:<uuid4>`) and signs it.

The widget sends the signed token back in the `X-Widget-Session` header (HTTP) or in its first WebSocket
frame. An id the client made up, altered, or signed with another key is refused: a client can only ever
read and write the conversation it was given.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from itsdangerous import BadSignature, URLSafeTimedSerializer

from backend.channels.web.budgets import TOO_MANY_SESSIONS_TEXT, new_session_allowed
from backend.channels.web.cors import WidgetRoute
from backend.channels.web.wire import CHANNEL, SESSION_HEADER, TooLarge, capped
from backend.i18n import t
from backend.language import language_from_hint

logger = logging.getLogger(__name__)

SESSION_SALT = "web-widget-session"
# A token older than this is refused (the widget then starts a new conversation); every visit re-signs it.
SESSION_MAX_AGE_S = 30 * 24 * 3600
SESSION_BODY_MAX_BYTES = 4096
_WEB_ID = re.compile(r"^web:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SESSION_REFUSED_TEXT = "This chat session is not valid any more. Please reload the page to start a new chat."

router = APIRouter(route_class=WidgetRoute)


def _serializer(app: FastAPI) -> URLSafeTimedSerializer:
    """The signer of conversation ids, made on first use from WEB_SESSION_SECRET."""
    signer: URLSafeTimedSerializer | None = getattr(app.state, "web_signer", None)
    if signer is None:
        secret = app.state.settings.web_session_secret
        if not secret:
            # Settings refuse to start production without one; locally a restart starts new chats.
            logger.warning("WEB_SESSION_SECRET is unset: widget sessions end when the backend restarts")
            secret = secrets.token_urlsafe(32)
        signer = URLSafeTimedSerializer(secret, salt=SESSION_SALT)
        app.state.web_signer = signer
    return signer


def sign_conversation(app: FastAPI, conversation_id: str) -> str:
    """The token the widget keeps for `conversation_id`."""
    return str(_serializer(app).dumps(conversation_id))


def conversation_for(app: FastAPI, token: object) -> str | None:
    """The web conversation a token was issued for, or None for a forged, altered or expired token."""
    if not isinstance(token, str) or not token or len(token) > 300:
        return None  # a number, a list or an object in the session field is no token either
    try:
        value = _serializer(app).loads(token, max_age=SESSION_MAX_AGE_S)
    except BadSignature:  # SignatureExpired is one too
        return None
    # Signed by us but not a web id (another use of the same key): still not a widget session.
    if not isinstance(value, str) or not _WEB_ID.match(value):
        return None
    return value


def web_conversation(request: Request) -> str:
    """The conversation of the request's session token; 401 for anything we did not sign."""
    conversation_id = conversation_for(request.app, request.headers.get(SESSION_HEADER))
    if conversation_id is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, SESSION_REFUSED_TEXT)
    return conversation_id


ConversationDep = Annotated[str, Depends(web_conversation)]


@router.post("/widget/session")
async def widget_session(request: Request) -> dict[str, Any]:
    """Resume the conversation of a valid token (re-signed), else issue a new `web:<uuid>` one."""
    body: Any = {}
    try:
        # {"session": "<token>"} is a few hundred bytes: read no more than that much of anything.
        raw = b"".join([chunk async for chunk in capped(request.stream(), SESSION_BODY_MAX_BYTES)])
        body = json.loads(raw or b"{}")
    except (TooLarge, ValueError):
        body = {}
    previous = body.get("session") if isinstance(body, dict) else None
    conversation_id = conversation_for(request.app, previous if isinstance(previous, str) else None)
    resumed = conversation_id is not None
    if conversation_id is None:
        address = request.client.host if request.client else "unknown"
        if not new_session_allowed(request.app, address):
            language = language_from_hint(request.headers.get("accept-language", "").split(",")[0])
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                t(language, TOO_MANY_SESSIONS_TEXT),
                headers={"Retry-After": "600"},
            )
        conversation_id = f"{CHANNEL}:{uuid.uuid4()}"
    return {
        "session": sign_conversation(request.app, conversation_id),
        "conversation_id": conversation_id,
        "resumed": resumed,
    }
