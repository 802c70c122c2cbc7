"""The widget's conversation: its history over HTTP, and the live WebSocket (its frames in, messages out).

Every stored message is published on the broker topic `conversation:<id>`; each open widget subscribes to
its own topic, so bot replies and messages an agent pushes later arrive alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from backend.channels.web.budgets import CLOSE_AFTER_REFUSALS, CLOSE_POLICY_VIOLATION, message_allowed
from backend.channels.web.cors import WidgetRoute
from backend.channels.web.identity import ConversationDep, conversation_for
from backend.channels.web.wire import (
    CHANNEL,
    MAX_FRAME_CHARS,
    client_id,
    external_id,
    hub_of,
    widget_message,
)
from backend.hub import Hub, Inbound, timings
from backend.hub.broker import conversation_topic

logger = logging.getLogger(__name__)

HISTORY_LIMIT = 200
HELLO_TIMEOUT_S = 10.0
# An application close code (4000-4999): the widget then starts a new conversation.
CLOSE_UNAUTHORISED = 4401
# A message sent before the answer to the previous one waits this long for its turn (_receive_frames).
PACE_S = 0.5
# Frames read ahead of the one being answered; the socket holds back the rest.
FRAMES_WAITING = 32
# "typing" is shown only when the answer is not out this long after its turn began (as on Telegram): a
# quicker answer arrives before the indicator could be seen, and its two frames would cost both ends
# their work beside every turn.
TYPING_AFTER_S = 0.3

router = APIRouter(route_class=WidgetRoute)


@router.get("/widget/history")
async def widget_history(request: Request, conversation_id: ConversationDep) -> dict[str, Any]:
    """The conversation's last messages, oldest first."""
    messages = await hub_of(request.app).transcript(conversation_id, limit=HISTORY_LIMIT)
    return {"conversation_id": conversation_id, "messages": [widget_message(m) for m in messages]}


def _queue_local(queue: asyncio.Queue[dict[str, Any]], frame: dict[str, Any]) -> None:
    """Queue a frame of this connection's own (typing, ack) behind the broker's events, in order.

    Like the broker, a full queue loses its oldest event rather than blocking the hub's turn.
    """
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait({"type": "local", "frame": frame})


def _typing_after_a_while(queue: asyncio.Queue[dict[str, Any]]) -> Callable[[], None]:
    """Shows "typing" once TYPING_AFTER_S have passed; the call returned ends it, or calls it off when it
    was not shown yet (then the widget gets neither frame)."""
    shown = False

    def show() -> None:
        nonlocal shown
        shown = True
        _queue_local(queue, {"type": "typing", "on": True})

    timer = asyncio.get_running_loop().call_later(TYPING_AFTER_S, show)

    def end() -> None:
        timer.cancel()
        if shown:
            _queue_local(queue, {"type": "typing", "on": False})

    return end


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
            with timings.timed("widget_send"):
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
    external = external_id(conversation_id)
    message_id = client_id(frame.get("client_id"))
    # The browser's language (navigator.language): a hint for a first message without words.
    hint = frame["language"][:16] if isinstance(frame.get("language"), str) else None
    kind = frame.get("type")
    if kind == "text" and isinstance(frame.get("text"), str):
        return Inbound(
            channel=CHANNEL,
            external_id=external,
            text=frame["text"],
            channel_message_id=message_id,
            language_hint=hint,
        )
    if kind == "button":
        pressed, index = _integer(frame.get("message_id")), _integer(frame.get("index"))
        if pressed is not None and index is not None:
            return Inbound(
                channel=CHANNEL,
                external_id=external,
                button=(pressed, index),
                channel_message_id=message_id,
                language_hint=hint,
            )
    return None


# What the reader hands over: the time a message came and the message; None after the last one.
_Frames = asyncio.Queue[tuple[float, Inbound | None]]


def _parsed(raw: object) -> dict[str, Any] | None:
    try:
        frame = json.loads(raw) if isinstance(raw, str) and len(raw) <= MAX_FRAME_CHARS else None
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return None
    return frame if isinstance(frame, dict) else None


async def _read_frames(
    websocket: WebSocket, conversation_id: str, queue: asyncio.Queue[dict[str, Any]], frames: _Frames
) -> None:
    """Reads the widget's frames as they arrive, while earlier messages are being answered: a message
    within the budgets is handed on with the time it came, one over them is refused at once, and a
    connection refused CLOSE_AFTER_REFUSALS times in a row is closed (a script's, not a person's)
    without answering what it had queued. Ends with None."""
    address = websocket.client.host if websocket.client else "unknown"
    refused_in_a_row = 0
    try:
        while True:
            received = await websocket.receive()
            if received["type"] == "websocket.disconnect":
                break
            frame = _parsed(received.get("text"))
            if frame is not None and frame.get("type") == "ping":
                continue  # the widget's keep-alive through proxies that drop idle connections
            inbound = _inbound(conversation_id, frame) if frame is not None else None
            if inbound is None:
                _queue_local(queue, {"type": "error", "error": "That message was not understood."})
                continue
            if not message_allowed(websocket.app, conversation_id, address):
                # Over budget: the widget says "please wait a minute" and keeps nothing half-sent.
                refused_in_a_row += 1
                if refused_in_a_row >= CLOSE_AFTER_REFUSALS:
                    while not frames.empty():
                        frames.get_nowait()  # never stored nor acknowledged: nothing is lost
                    await websocket.close(code=CLOSE_POLICY_VIOLATION, reason="too many messages")
                    break
                _queue_local(queue, {"type": "limited", "client_id": inbound.channel_message_id})
                continue
            refused_in_a_row = 0
            await frames.put((time.monotonic(), inbound))
    except Exception:  # a broken connection ends like a closed one
        logger.info("widget connection in %s lost while reading", conversation_id)
    await frames.put((time.monotonic(), None))


async def _receive_frames(
    websocket: WebSocket, hub: Hub, conversation_id: str, queue: asyncio.Queue[dict[str, Any]]
) -> None:
    """Hand each message to the hub in order; the widget shows "typing" while the hub works, once it takes
    longer than TYPING_AFTER_S.

    A message sent before the answer to the one before it arrived (a burst, or a script pouring
    frames) waits PACE_S before its turn: the conversation's messages then take turns with everyone
    else's instead of keeping Rasa busy back to back. A shipper who waits for each answer is never
    paced.
    """
    frames: _Frames = asyncio.Queue(maxsize=FRAMES_WAITING)
    reader = asyncio.create_task(_read_frames(websocket, conversation_id, queue, frames))
    last_turn_ended = 0.0
    try:
        while True:
            arrived, inbound = await frames.get()
            if inbound is None:
                return
            message_id = inbound.channel_message_id
            if arrived < last_turn_ended:
                await asyncio.sleep(PACE_S)
            timings.add("widget_frame_wait", time.monotonic() - arrived)
            end_typing = _typing_after_a_while(queue)
            try:
                turn = await hub.receive(inbound)
            except Exception:  # the widget must hear that this one failed; the connection stays usable
                logger.exception("web message in %s failed", conversation_id)
                _queue_local(queue, {"type": "failed", "client_id": message_id})
                continue
            finally:
                end_typing()
                last_turn_ended = time.monotonic()
            # After the turn's own messages, which may still be on their way back through Redis.
            await hub.broker.caught_up()
            _queue_local(queue, {"type": "ack", "client_id": message_id, "duplicate": turn.duplicate})
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _hello(websocket: WebSocket) -> tuple[str, int] | None:
    """The first frame: {"type": "hello", "session": token, "after": last message id the widget has}."""
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), HELLO_TIMEOUT_S)
        frame = json.loads(raw) if len(raw) <= MAX_FRAME_CHARS else None
    except (asyncio.TimeoutError, ValueError, KeyError, RecursionError, WebSocketDisconnect):
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
    hub = hub_of(websocket.app)
    # Subscribe first, then read the backlog: a message stored in between arrives once, by its id.
    async with hub.broker.subscribe(conversation_topic(conversation_id)) as queue:
        backlog = [m for m in await hub.transcript(conversation_id, limit=HISTORY_LIMIT) if m["id"] > after]
        # Who speaks now, read after subscribing like the backlog: a widget that reloads (or reconnects)
        # while the shipper waits for a colleague says so again, and a change arrives as a state frame.
        state = await hub.speaker(conversation_id)
        await websocket.send_json({"type": "ready", "conversation_id": conversation_id, "state": state})
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
