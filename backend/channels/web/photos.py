"""The widget's photos: an upload (multipart) passed to the hub as bytes, and a stored photo served back."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from backend.channels.web.budgets import TOO_MANY_UPLOADS_TEXT, upload_allowed
from backend.channels.web.cors import WidgetRoute
from backend.channels.web.identity import ConversationDep
from backend.channels.web.wire import (
    CHANNEL,
    MAX_FRAME_CHARS,
    TooLarge,
    capped,
    client_id,
    external_id,
    hub_of,
    widget_message,
)
from backend.hub import Inbound, InboundFile
from backend.hub.photos import UploadRejected, check_image, too_large_text
from backend.i18n import N_, t
from backend.language import language_from_hint
from backend.services.attachments import PHOTO_STORE_DOWN
from backend.storage import StoreUnavailable

# Multipart framing around one photo and two short fields.
FORM_OVERHEAD_BYTES = 64 * 1024
PHOTO_FAILED_TEXT = N_("Sorry, I couldn't read that upload. Could you send the photo again?")

router = APIRouter(route_class=WidgetRoute)
logger = logging.getLogger(__name__)


@router.get("/widget/attachments/{attachment_id}")
async def widget_attachment(
    request: Request, attachment_id: int, conversation_id: ConversationDep
) -> Response:
    """A photo of this conversation (the widget redraws history with it); other conversations' are 404."""
    try:
        photo = await hub_of(request.app).attachment_file(attachment_id, conversation_id=conversation_id)
    except StoreUnavailable as error:
        logger.warning("photo %s not served to the widget: %s", attachment_id, error)
        language = language_from_hint(request.headers.get("accept-language", "").split(",")[0]) or "en"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, t(language, PHOTO_STORE_DOWN)) from None
    if photo is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not found.")
    return Response(
        photo.data,
        media_type=photo.content_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


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
    parser = MultiPartParser(request.headers, capped(request.stream(), limit), max_files=1, max_fields=4)
    try:
        form = await parser.parse()
    except TooLarge:
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
        message_id = client_id(form.get("client_id"))
    finally:
        await form.close()
    refusal = photo_refusal(data, max_bytes, language)
    if refusal is not None:
        too_big = len(data) > max_bytes
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if too_big else status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            refusal,
        )
    if not upload_allowed(request.app, conversation_id, len(data)):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, t(language, TOO_MANY_UPLOADS_TEXT))
    turn = await hub_of(request.app).receive(
        Inbound(
            channel=CHANNEL,
            external_id=external_id(conversation_id),
            text=text.strip()[:MAX_FRAME_CHARS] if isinstance(text, str) else "",
            channel_message_id=message_id,
            files=(InboundFile(data=data, filename=filename),),
        )
    )
    # The replies also reach every open widget of this conversation over its WebSocket.
    return {
        "duplicate": turn.duplicate,
        "replies": [widget_message(reply.to_json()) for reply in turn.replies],
    }
