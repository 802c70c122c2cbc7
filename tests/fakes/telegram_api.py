"""A fake Telegram Bot API server on 127.0.0.1: real HTTP, the methods our channel calls, every call kept.

The channel reaches it through python-telegram-bot's `base_url` (TELEGRAM_API_BASE_URL), so the real
client library, its HTTP requests, its rate limiter and its retries all run as they do in production.
The fake answers like Telegram does where our code depends on it: form-encoded parameters with JSON
values, `{"ok": ..., "result": ...}` envelopes, 401 for a wrong token, 409 for getUpdates while a
webhook is set, 429 with `parameters.retry_after` when asked to. Tests queue updates for polling and
build realistic Update JSON with the functions at the end of this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# A long poll is held at most this long, whatever the client asks, so a test never waits on it.
MAX_LONG_POLL_S = 10.0
# Telegram's limit for the text of one message.
MAX_TEXT = 4096

# How Telegram reads form-encoded parameters: these are JSON, these are integers, these booleans.
_JSON_PARAMS = frozenset(
    {"reply_markup", "allowed_updates", "entities", "link_preview_options", "reply_parameters"}
)
_INT_PARAMS = frozenset({"chat_id", "offset", "limit", "timeout", "message_id", "max_connections"})
_BOOL_PARAMS = frozenset({"drop_pending_updates", "show_alert", "disable_notification", "protect_content"})


@dataclass(frozen=True)
class Call:
    """One request the fake received: the Bot API method, its decoded parameters, our HTTP status."""

    method: str
    params: dict[str, Any]
    status: int


@dataclass(frozen=True)
class _Failure:
    method: str
    chat_id: int | None
    status: int
    description: str
    retry_after: int | None


def _decode(params: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and key in _JSON_PARAMS:
            value = json.loads(value)
        elif isinstance(value, str) and key in _INT_PARAMS:
            with contextlib.suppress(ValueError):  # a chat id may be "@channelname"
                value = int(value)
        elif isinstance(value, str) and key in _BOOL_PARAMS:
            value = value.lower() == "true"
        decoded[key] = value
    return decoded


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


class FakeBotApi:
    """The fake server; `with FakeBotApi() as api:` starts it on a free port and stops it after."""

    def __init__(self, token: str | None = None, *, username: str = "carrier_care_test_bot") -> None:
        self.token = token or f"{random.randint(10**8, 10**9 - 1)}:{secrets.token_urlsafe(27)}"
        self.bot_id = int(self.token.split(":", 1)[0])
        self.username = username
        self.port = 0
        self.webhook: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._files: dict[str, tuple[str, bytes]] = {}
        self._failures: list[_Failure] = []
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    # -- running ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What TELEGRAM_API_BASE_URL is set to (python-telegram-bot appends the token)."""
        return f"{self.url}/bot"

    def start(self) -> FakeBotApi:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
            ]
        )
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fake-bot-api", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Bot API server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._stopping = True
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests arrange -------------------------------------------------------------------------

    def queue_updates(self, *updates: dict[str, Any]) -> None:
        """Updates the next getUpdates returns (polling mode), in the order given."""
        with self._lock:
            self._updates.extend(updates)

    def add_file(self, data: bytes, *, path: str | None = None) -> str:
        """Serve `data` as a file; returns its file_id (getFile gives its path, /file/... its bytes)."""
        number = next(self._file_ids)
        extension = "png" if data.startswith(b"\x89PNG") else "jpg"
        file_id = f"AgAC{number:04d}{secrets.token_hex(8)}"
        with self._lock:
            self._files[file_id] = (path or f"photos/file_{number}.{extension}", data)
        return file_id

    def fail_next(
        self,
        method: str = "sendMessage",
        *,
        retry_after: int | None = 1,
        status: int = 429,
        description: str = "",
        chat_id: int | None = None,
    ) -> None:
        """Answer the next call of `method` (to `chat_id`, when given) with an error: by default 429 Too
        Many Requests with this retry_after; or e.g. `status=403, description="Forbidden: bot was
        blocked by the user"`."""
        text = description or (
            f"Too Many Requests: retry after {retry_after}" if status == 429 else "Bad Request"
        )
        with self._lock:
            self._failures.append(_Failure(method, chat_id, status, text, retry_after))

    # -- what tests read ----------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """The parameters of every message delivered (HTTP 200) to this chat, in order."""
        return [
            c.params
            for c in self.calls("sendMessage")
            if c.status == 200 and c.params.get("chat_id") == chat_id
        ]

    def texts(self, chat_id: int) -> list[str]:
        return [str(p.get("text", "")) for p in self.sent(chat_id)]

    def wait_for_messages(
        self,
        chat_id: int,
        *,
        after: int = 0,
        expect: str | tuple[str, ...] | None = None,
        timeout: float = 60.0,
        quiet: float = 0.8,
    ) -> list[dict[str, Any]]:
        """Messages to the chat after the first `after`: once one has arrived (or, with `expect`, they
        contain it or one of several) and no other has followed for `quiet` seconds; what there is
        when `timeout` runs out."""
        deadline = time.monotonic() + timeout

        wanted = (expect,) if isinstance(expect, str) else expect

        def done(messages: list[dict[str, Any]]) -> bool:
            if wanted is None:
                return bool(messages)
            said = " ".join(str(m.get("text", "")) for m in messages).lower()
            return any(w.lower() in said for w in wanted)

        while time.monotonic() < deadline:
            messages = self.sent(chat_id)[after:]
            if done(messages):
                count = len(messages)
                settle = time.monotonic() + quiet
                while time.monotonic() < min(settle, deadline):
                    time.sleep(0.05)
                    if len(self.sent(chat_id)) - after != count:
                        count = len(self.sent(chat_id)) - after
                        settle = time.monotonic() + quiet
                return self.sent(chat_id)[after:]
            time.sleep(0.05)
        return self.sent(chat_id)[after:]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return condition()

    # -- the server ---------------------------------------------------------------------------------

    async def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query_params)
        if request.method == "POST":
            content_type = request.headers.get("content-type", "")
            if content_type.startswith("application/json"):
                body = await request.json()
                params.update(body if isinstance(body, dict) else {})
            elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                form = await request.form()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return _decode(params)

    def _record(self, method: str, params: dict[str, Any], response: Response) -> Response:
        with self._lock:
            self._calls.append(Call(method, params, response.status_code))
        return response

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        try:
            params = await self._params(request)
        except (ValueError, json.JSONDecodeError):
            return self._record(method, {}, _error(400, "Bad Request: can't parse parameters"))
        if request.path_params["token"] != self.token:
            return self._record(method, params, _error(401, "Unauthorized"))
        with self._lock:
            failure = next(
                (
                    f
                    for f in self._failures
                    if f.method == method and f.chat_id in (None, params.get("chat_id"))
                ),
                None,
            )
            if failure is not None:
                self._failures.remove(failure)
        if failure is not None:
            parameters = {"retry_after": failure.retry_after} if failure.status == 429 else None
            response: Response = _error(failure.status, failure.description, parameters)
            return self._record(method, params, response)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._record(method, params, _error(404, "Not Found"))
        if method == "getUpdates":
            response = await self._m_getUpdates(params)
        else:
            response = handler(params)
        return self._record(method, params, response)

    async def _download(self, request: Request) -> Response:
        path = request.path_params["path"]
        if request.path_params["token"] != self.token:
            return self._record("file", {"path": path}, _error(401, "Unauthorized"))
        with self._lock:
            found = next((data for p, data in self._files.values() if p == path), None)
        if found is None:
            return self._record("file", {"path": path}, _error(404, "Not Found"))
        return self._record("file", {"path": path}, Response(found, media_type="application/octet-stream"))

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Carrier Care",
            "username": self.username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _m_getMe(self, params: dict[str, Any]) -> Response:
        return _ok(self._bot_user())

    def _m_sendMessage(self, params: dict[str, Any]) -> Response:
        chat_id, text = params.get("chat_id"), params.get("text")
        if chat_id is None:
            return _error(400, "Bad Request: chat_id is empty")
        if not text or not str(text).strip():
            return _error(400, "Bad Request: message text is empty")
        if len(str(text)) > MAX_TEXT:
            return _error(400, "Bad Request: message is too long")
        chat_type = "private" if isinstance(chat_id, int) and chat_id > 0 else "group"
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": self._bot_user(),
            "text": text,
        }
        return _ok(message)

    def _m_sendChatAction(self, params: dict[str, Any]) -> Response:
        return _ok(True)

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Response:
        if not params.get("callback_query_id"):
            return _error(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        return _ok(True)

    def _m_getFile(self, params: dict[str, Any]) -> Response:
        file_id = str(params.get("file_id", ""))
        with self._lock:
            found = self._files.get(file_id)
        if found is None:
            return _error(400, "Bad Request: invalid file_id")
        path, data = found
        return _ok(
            {"file_id": file_id, "file_unique_id": file_id[-8:], "file_size": len(data), "file_path": path}
        )

    def _m_setWebhook(self, params: dict[str, Any]) -> Response:
        self.webhook = dict(params)
        return _ok(True)

    def _m_deleteWebhook(self, params: dict[str, Any]) -> Response:
        self.webhook = None
        if params.get("drop_pending_updates"):
            with self._lock:
                self._updates.clear()
        return _ok(True)

    def _m_getWebhookInfo(self, params: dict[str, Any]) -> Response:
        webhook = self.webhook or {}
        return _ok(
            {"url": webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}
        )

    async def _m_getUpdates(self, params: dict[str, Any]) -> Response:
        if self.webhook and self.webhook.get("url"):
            return _error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = params.get("offset")
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), MAX_LONG_POLL_S)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if isinstance(offset, int) and offset > 0:
                    # Asking from `offset` confirms every update before it: Telegram forgets them.
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                batch = self._updates[:limit]
            if batch or time.monotonic() >= deadline or self._stopping:
                return _ok(batch)
            await asyncio.sleep(0.05)


# -- realistic Update JSON ----------------------------------------------------------------------------

_update_ids = itertools.count(random.randint(10**8, 2 * 10**8))
_inbound_message_ids = itertools.count(1000)


def next_update_id() -> int:
    return next(_update_ids)


def user(user_id: int, *, first_name: str = "Lin", language_code: str | None = "en") -> dict[str, Any]:
    found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        found["language_code"] = language_code
    return found


def _message(chat_id: int, user_id: int | None, language_code: str | None, chat_type: str) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = "Lin"
    else:
        chat["title"] = "Some group"
    return {
        "message_id": next(_inbound_message_ids),
        "date": int(time.time()),
        "chat": chat,
        "from": user(user_id if user_id is not None else chat_id, language_code=language_code),
    }


def text_update(
    chat_id: int,
    text: str,
    *,
    user_id: int | None = None,
    language_code: str | None = "en",
    chat_type: str = "private",
    update_id: int | None = None,
    edited: bool = False,
) -> dict[str, Any]:
    """A text message; a leading /command carries the bot_command entity, as Telegram sends it."""
    message = _message(chat_id, user_id, language_code, chat_type)
    message["text"] = text
    if text.startswith("/"):
        command = text.split()[0] if text.split() else text
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if edited:
        message["edit_date"] = int(time.time())
    key = "edited_message" if edited else "message"
    return {"update_id": update_id or next_update_id(), key: message}


def photo_update(
    chat_id: int,
    sizes: Sequence[tuple[str, int, int, int]],
    *,
    caption: str | None = None,
    user_id: int | None = None,
) -> dict[str, Any]:
    """A photo: `sizes` are (file_id, width, height, file_size), smallest first, as Telegram lists them."""
    message = _message(chat_id, user_id, "en", "private")
    message["photo"] = [
        {"file_id": fid, "file_unique_id": fid[-8:], "width": w, "height": h, "file_size": size}
        for fid, w, h, size in sizes
    ]
    if caption:
        message["caption"] = caption
    return {"update_id": next_update_id(), "message": message}


def document_update(
    chat_id: int, file_id: str, *, mime_type: str, file_name: str, file_size: int, user_id: int | None = None
) -> dict[str, Any]:
    """A file sent as a document (e.g. an uncompressed image)."""
    message = _message(chat_id, user_id, "en", "private")
    message["document"] = {
        "file_id": file_id,
        "file_unique_id": file_id[-8:],
        "file_name": file_name,
        "mime_type": mime_type,
        "file_size": file_size,
    }
    return {"update_id": next_update_id(), "message": message}


def contact_update(
    chat_id: int, phone_number: str, *, contact_user_id: int | None, user_id: int | None = None
) -> dict[str, Any]:
    """A shared contact; it is the sender's own when `contact_user_id` is the sender's user id."""
    message = _message(chat_id, user_id, "en", "private")
    contact: dict[str, Any] = {"phone_number": phone_number, "first_name": "Lin"}
    if contact_user_id is not None:
        contact["user_id"] = contact_user_id
    message["contact"] = contact
    return {"update_id": next_update_id(), "message": message}


def sticker_update(chat_id: int, *, user_id: int | None = None) -> dict[str, Any]:
    """A message with no text at all."""
    message = _message(chat_id, user_id, "en", "private")
    message["sticker"] = {
        "file_id": "CAACAgIAAxkBAAEB",
        "file_unique_id": "AgADAQAD",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    return {"update_id": next_update_id(), "message": message}


def callback_update(
    chat_id: int, data: str, *, message_id: int = 1, user_id: int | None = None
) -> dict[str, Any]:
    """A press of an inline button of one of the bot's messages."""
    return {
        "update_id": next_update_id(),
        "callback_query": {
            "id": str(random.randint(10**17, 10**18)),
            "from": user(user_id if user_id is not None else chat_id),
            "chat_instance": str(random.randint(10**17, 10**18)),
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "Lin"},
                "text": "(the bot's message with the buttons)",
            },
        },
    }
