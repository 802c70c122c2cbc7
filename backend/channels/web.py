"""The web channel: the demo carrier page, the one-script-tag widget (deep-chat) and its own small API.

Two halves, like every channel. Inbound: a frame on the widget's WebSocket (text, a pressed button) or a
multipart photo upload becomes one `Inbound` record for the hub. Outbound: the hub publishes every stored
message on the broker topic `conversation:<id>`; each open widget subscribes to its own topic, so bot
replies and messages an agent pushes later arrive alike. The widget's wire format lives only here.

Identity: the backend issues the conversation id (`web:<uuid4>`) and signs it with itsdangerous; the
widget sends the signed token back in the `X-Widget-Session` header (HTTP) or in its first WebSocket frame.
An id the client made up, altered, or signed with another key is refused: a client can only ever read and
write the conversation it was given.

The widget runs on other sites' pages, so its HTTP routes answer cross-origin requests (`*`, no
credentials: the token travels in a header, never in a cookie, so another site gains nothing by it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, WebSocket, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.websockets import WebSocketDisconnect, WebSocketState

from backend.config import PROJECT_ROOT
from backend.db import session_scope
from backend.hub import Hub, Inbound, InboundFile
from backend.hub.broker import conversation_topic
from backend.i18n import N_, t
from backend.language import language_from_hint
from backend.models import Attachment
from backend.services.attachments import PHOTO_ONLY_TEXT, UploadRejected, check_image, too_large_text

logger = logging.getLogger(__name__)

CHANNEL = "web"
SESSION_HEADER = "X-Widget-Session"
SESSION_SALT = "web-widget-session"
# A token older than this is refused (the widget then starts a new conversation); every visit re-signs it.
SESSION_MAX_AGE_S = 30 * 24 * 3600
WEB_DIR = Path(__file__).resolve().parent.parent / "web"
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
DEEP_CHAT_BUNDLE = PROJECT_ROOT / "node_modules" / "deep-chat" / "dist" / "deepChat.bundle.js"
HISTORY_LIMIT = 200
# The widget's input stops at 4,000 characters; a frame far beyond that is not from our widget.
MAX_FRAME_CHARS = 20_000
HELLO_TIMEOUT_S = 10.0
SESSION_BODY_MAX_BYTES = 4096
# Multipart framing around one photo and two short fields.
FORM_OVERHEAD_BYTES = 64 * 1024
# An application close code (4000-4999): the widget then starts a new conversation.
CLOSE_UNAUTHORISED = 4401
_WEB_ID = re.compile(r"^web:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# The widget's own message ids (dedupe of resends); anything else is treated as "no id".
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# What the hub stores as the text of a photo sent without words.
_ROLES = {"shipper": "user", "bot": "ai", "agent": "agent", "system": "system"}
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": f"Content-Type, {SESSION_HEADER}",
    "Access-Control-Max-Age": "600",
}
SESSION_REFUSED_TEXT = "This chat session is not valid any more. Please reload the page to start a new chat."
PHOTO_FAILED_TEXT = N_("Sorry, I couldn't read that upload. Could you send the photo again?")


class _WidgetRoute(APIRoute):
    """Every answer of the widget's API, errors included, carries the CORS headers and `{"error": ...}`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            try:
                response = await handler(request)
            except HTTPException as exc:
                response = JSONResponse(
                    {"error": exc.detail}, status_code=exc.status_code, headers=exc.headers
                )
            except RequestValidationError:
                response = JSONResponse({"error": "The request was not understood."}, status_code=422)
            response.headers.update(CORS_HEADERS)
            return response

        return with_cors


router = APIRouter(tags=["web"], route_class=_WidgetRoute)


# -- identity -----------------------------------------------------------------------------------------


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


def conversation_for(app: FastAPI, token: str | None) -> str | None:
    """The web conversation a token was issued for, or None for a forged, altered or expired token."""
    if not token or len(token) > 300:
        return None
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


def _hub(app: FastAPI) -> Hub:
    hub: Hub = app.state.hub
    return hub


def _external_id(conversation_id: str) -> str:
    return conversation_id.partition(":")[2]


def _client_id(value: object) -> str | None:
    return value if isinstance(value, str) and _CLIENT_ID.match(value) else None


# -- the wire format ----------------------------------------------------------------------------------


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
        "attachments": attachments,
        "created_at": message.get("created_at"),
    }


# -- pages and files ----------------------------------------------------------------------------------


@cache
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]))


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def demo_page() -> HTMLResponse:
    """The demo carrier's home page, with the widget embedded by its one script tag."""
    return HTMLResponse(_templates().get_template("demo.html").render(widget_src="/widget.js"))


def _file(path: Path, *, media_type: str | None = None) -> FileResponse:
    # no-cache still lets the browser keep the file: it revalidates by ETag, so a new release shows at once.
    return FileResponse(
        path,
        media_type=media_type or _MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/widget.js", include_in_schema=False)
async def widget_script() -> FileResponse:
    """The embed: `<script src="https://<backend>/widget.js" defer></script>` on any page."""
    return _file(STATIC_DIR / "widget.js")


@router.get("/widget/static/{name:path}", include_in_schema=False)
async def widget_static(name: str) -> FileResponse:
    """deep-chat's built bundle from node_modules (installed by `npm ci`), and our own CSS and JS."""
    if name == "deep-chat.js":
        if not DEEP_CHAT_BUNDLE.is_file():
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "deep-chat is not installed: run `npm ci`."
            )
        return _file(DEEP_CHAT_BUNDLE)
    path = (STATIC_DIR / name).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file() or path.suffix not in _MEDIA_TYPES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not found.")
    return _file(path)


@router.options("/widget/{rest:path}", include_in_schema=False)
async def widget_preflight(rest: str) -> Response:
    """CORS preflight for the widget's API (the session header makes browsers ask first)."""
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- session, history, photos ---------------------------------------------------------------------------


@router.post("/widget/session")
async def widget_session(request: Request) -> dict[str, Any]:
    """Resume the conversation of a valid token (re-signed), else issue a new `web:<uuid>` one."""
    body: Any = {}
    try:
        # {"session": "<token>"} is a few hundred bytes: read no more than that much of anything.
        raw = b"".join([chunk async for chunk in _capped(request.stream(), SESSION_BODY_MAX_BYTES)])
        body = json.loads(raw or b"{}")
    except (_TooLarge, ValueError):
        body = {}
    previous = body.get("session") if isinstance(body, dict) else None
    conversation_id = conversation_for(request.app, previous if isinstance(previous, str) else None)
    resumed = conversation_id is not None
    if conversation_id is None:
        conversation_id = f"{CHANNEL}:{uuid.uuid4()}"
    return {
        "session": sign_conversation(request.app, conversation_id),
        "conversation_id": conversation_id,
        "resumed": resumed,
    }


@router.get("/widget/history")
async def widget_history(request: Request, conversation_id: ConversationDep) -> dict[str, Any]:
    """The conversation's last messages, oldest first."""
    messages = await _hub(request.app).transcript(conversation_id, limit=HISTORY_LIMIT)
    return {"conversation_id": conversation_id, "messages": [widget_message(m) for m in messages]}


@router.get("/widget/attachments/{attachment_id}")
async def widget_attachment(
    request: Request, attachment_id: int, conversation_id: ConversationDep
) -> Response:
    """A photo of this conversation (the widget redraws history with it); other conversations' are 404."""
    upload_dir = Path(request.app.state.settings.upload_dir).resolve()

    def find() -> tuple[Path, str] | None:
        with session_scope(request.app.state.session_factory) as session:
            attachment = session.get(Attachment, attachment_id)
            if attachment is None or attachment.conversation_id != conversation_id:
                return None
            return (upload_dir / attachment.path).resolve(), attachment.content_type

    found = await run_in_threadpool(find)
    if found is None or not found[0].is_relative_to(upload_dir) or not found[0].is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not found.")
    path, content_type = found
    return FileResponse(
        path,
        media_type=content_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


class _TooLarge(MultiPartException):
    """The upload went past the limit while it was being read."""


async def _capped(stream: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    """The request body, stopped as soon as it passes `limit` (a chunked upload has no Content-Length)."""
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > limit:
            raise _TooLarge("too large")
        yield chunk


def photo_refusal(data: bytes, max_bytes: int, language: str | None = "en") -> str | None:
    """Why the hub would refuse this file (the same polite words), or None for a photo it takes.

    Checked here, before the hub, so that a refused file is neither stored nor told to the bot as a photo.
    """
    try:
        check_image(data, max_bytes=max_bytes)
    except UploadRejected as refused:
        return refused.text(language)
    return None


@router.post("/widget/upload")
async def widget_upload(request: Request, conversation_id: ConversationDep) -> dict[str, Any]:
    """One photo (multipart field `file`, optional `text` and `client_id`), passed to the hub as bytes."""
    max_bytes: int = request.app.state.settings.upload_max_bytes
    # The browser's language, for the refusals said before the hub knows the conversation's.
    language = language_from_hint(request.headers.get("accept-language", "").split(",")[0]) or "en"
    limit = max_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, too_large_text(max_bytes, language))
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, t(language, PHOTO_FAILED_TEXT))
    parser = MultiPartParser(request.headers, _capped(request.stream(), limit), max_files=1, max_fields=4)
    try:
        form = await parser.parse()
    except _TooLarge:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, too_large_text(max_bytes, language)
        ) from None
    except MultiPartException:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, t(language, PHOTO_FAILED_TEXT)) from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, t(language, PHOTO_FAILED_TEXT))
        data = await upload.read(max_bytes + 1)
        filename = upload.filename
        text = form.get("text")
        client_id = _client_id(form.get("client_id"))
    finally:
        await form.close()
    refusal = photo_refusal(data, max_bytes, language)
    if refusal is not None:
        too_big = len(data) > max_bytes
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if too_big else status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            refusal,
        )
    turn = await _hub(request.app).receive(
        Inbound(
            channel=CHANNEL,
            external_id=_external_id(conversation_id),
            text=text.strip()[:MAX_FRAME_CHARS] if isinstance(text, str) else "",
            channel_message_id=client_id,
            files=(InboundFile(data=data, filename=filename),),
        )
    )
    # The replies also reach every open widget of this conversation over its WebSocket.
    return {
        "duplicate": turn.duplicate,
        "replies": [widget_message(reply.to_json()) for reply in turn.replies],
    }


# -- the live connection --------------------------------------------------------------------------------


def _queue_local(queue: asyncio.Queue[dict[str, Any]], frame: dict[str, Any]) -> None:
    """Queue a frame of this connection's own (typing, ack) behind the broker's events, in order.

    Like the broker, a full queue loses its oldest event rather than blocking the hub's turn.
    """
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait({"type": "local", "frame": frame})


async def _forward(websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]], after: int) -> None:
    """Send the conversation's events to the widget, each stored message once."""
    last = after
    while True:
        event = await queue.get()
        kind = event.get("type")
        if kind == "message":
            message = event["message"]
            if message["id"] <= last:
                continue
            last = message["id"]
            await websocket.send_json({"type": "message", "message": widget_message(message)})
        elif kind == "state":
            await websocket.send_json({"type": "state", "state": event.get("state")})
        elif kind == "local":
            await websocket.send_json(event["frame"])


def _integer(value: object) -> int | None:
    # bool is an int in Python; true/false are not message ids.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _inbound(conversation_id: str, frame: dict[str, Any]) -> Inbound | None:
    """The hub's record for one widget frame, or None when the frame is not one we understand."""
    external_id = _external_id(conversation_id)
    client_id = _client_id(frame.get("client_id"))
    # The browser's language (navigator.language): a hint for a first message without words.
    hint = frame["language"][:16] if isinstance(frame.get("language"), str) else None
    kind = frame.get("type")
    if kind == "text" and isinstance(frame.get("text"), str):
        return Inbound(
            channel=CHANNEL,
            external_id=external_id,
            text=frame["text"],
            channel_message_id=client_id,
            language_hint=hint,
        )
    if kind == "button":
        message_id, index = _integer(frame.get("message_id")), _integer(frame.get("index"))
        if message_id is not None and index is not None:
            return Inbound(
                channel=CHANNEL,
                external_id=external_id,
                button=(message_id, index),
                channel_message_id=client_id,
                language_hint=hint,
            )
    return None


async def _receive_frames(
    websocket: WebSocket, hub: Hub, conversation_id: str, queue: asyncio.Queue[dict[str, Any]]
) -> None:
    """Hand each frame to the hub in order; the widget shows "typing" while the hub works."""
    while True:
        received = await websocket.receive()
        if received["type"] == "websocket.disconnect":
            return
        raw = received.get("text")
        try:
            frame = json.loads(raw) if isinstance(raw, str) and len(raw) <= MAX_FRAME_CHARS else None
        except ValueError:
            frame = None
        if isinstance(frame, dict) and frame.get("type") == "ping":
            continue  # the widget's keep-alive through proxies that drop idle connections
        inbound = _inbound(conversation_id, frame) if isinstance(frame, dict) else None
        if inbound is None:
            _queue_local(queue, {"type": "error", "error": "That message was not understood."})
            continue
        client_id = inbound.channel_message_id
        _queue_local(queue, {"type": "typing", "on": True})
        try:
            turn = await hub.receive(inbound)
        except Exception:  # the widget must hear that this one failed; the connection stays usable
            logger.exception("web message in %s failed", conversation_id)
            _queue_local(queue, {"type": "failed", "client_id": client_id})
            continue
        finally:
            _queue_local(queue, {"type": "typing", "on": False})
        _queue_local(queue, {"type": "ack", "client_id": client_id, "duplicate": turn.duplicate})


async def _hello(websocket: WebSocket) -> tuple[str, int] | None:
    """The first frame: {"type": "hello", "session": token, "after": last message id the widget has}."""
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), HELLO_TIMEOUT_S)
        frame = json.loads(raw)
    except (asyncio.TimeoutError, ValueError, KeyError, WebSocketDisconnect):
        return None
    if not isinstance(frame, dict) or frame.get("type") != "hello":
        return None
    conversation_id = conversation_for(websocket.app, frame.get("session"))
    after = _integer(frame.get("after", 0))
    if conversation_id is None or after is None or after < 0:
        return None
    return conversation_id, after


@router.websocket("/widget/ws")
async def widget_socket(websocket: WebSocket) -> None:
    """The widget's live connection: its messages in; every message of its conversation out."""
    await websocket.accept()
    hello = await _hello(websocket)
    if hello is None:
        # The token comes in a frame, not the URL, so it never lands in access logs.
        with contextlib.suppress(RuntimeError):
            await websocket.close(code=CLOSE_UNAUTHORISED, reason="session refused")
        return
    conversation_id, after = hello
    hub = _hub(websocket.app)
    # Subscribe first, then read the backlog: a message stored in between arrives once, by its id.
    async with hub.broker.subscribe(conversation_topic(conversation_id)) as queue:
        backlog = [m for m in await hub.transcript(conversation_id, limit=HISTORY_LIMIT) if m["id"] > after]
        await websocket.send_json({"type": "ready", "conversation_id": conversation_id})
        for message in backlog:
            await websocket.send_json({"type": "message", "message": widget_message(message)})
        last = backlog[-1]["id"] if backlog else after
        forward = asyncio.create_task(_forward(websocket, queue, last))
        try:
            await _receive_frames(websocket, hub, conversation_id, queue)
        except WebSocketDisconnect:
            pass
        finally:
            forward.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await forward
    if websocket.client_state == WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError):
            await websocket.close()
