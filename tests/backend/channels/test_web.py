"""The web widget's channel against the real hub and database: signed sessions, isolation, live messages,
buttons, photo uploads and the files it serves. Rasa is a fake over real HTTP (or a closed port)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from starlette.websockets import WebSocketDisconnect

from backend.channels.web import (
    CLOSE_UNAUTHORISED,
    DEEP_CHAT_BUNDLE,
    SESSION_HEADER,
    SESSION_SALT,
    live,
    widget_message,
)
from backend.config import Settings
from backend.main import create_app
from backend.security.limits import MemoryLimiter
from tests.fakes.images import png_bytes
from tests.fakes.rasa_server import FakeRasa
from tests.fakes.server import serving

SECRET = "widget-test-secret-0123456789abcdef"
CHANNEL_SECRET = "widget-test-channel-secret-0123"
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens there
PNG_1PX = png_bytes(1, 1)
WEB_ID = re.compile(r"^web:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def replies(text: str) -> list[dict[str, Any]]:
    if text == "a problem":
        return [
            {"text": "It is held at Wuhan hub."},
            {
                "text": "Shall I register a complaint?",
                "buttons": [
                    {"title": "Yes, please", "payload": "/affirm"},
                    {"title": "No, thanks", "payload": "/deny"},
                ],
            },
        ]
    return [{"text": f"bot heard: {text}"}]


@pytest.fixture(scope="module")
def fake_rasa() -> Iterator[tuple[FakeRasa, str]]:
    rasa = FakeRasa(secret=CHANNEL_SECRET, replies=replies)
    with serving(rasa.app()) as url:
        yield rasa, url


def make_app(db_url: str, upload_dir: Path, *, rasa_url: str = CLOSED, **overrides: Any) -> FastAPI:
    values: dict[str, Any] = {
        "database_url": db_url,
        "api_token": "test-token-0123456789abcdef",
        "rasa_url": rasa_url,
        "action_server_url": CLOSED,
        "rasa_channel_secret": CHANNEL_SECRET,
        "web_session_secret": SECRET,
        "upload_dir": upload_dir,
        "app_env": "development",
    }
    values.update(overrides)
    return create_app(Settings(_env_file=None, **values))  # type: ignore[call-arg]


@pytest.fixture
def client(db_url: str, seeded_today: date, tmp_path: Path) -> Iterator[TestClient]:
    """The app with Rasa unreachable: every message gets the hub's "try again" answer."""
    with TestClient(make_app(db_url, tmp_path / "uploads")) as test_client:
        yield test_client


@pytest.fixture
def bot_client(
    db_url: str, seeded_today: date, tmp_path: Path, fake_rasa: tuple[FakeRasa, str]
) -> Iterator[TestClient]:
    """The app talking to the fake Rasa."""
    with TestClient(make_app(db_url, tmp_path / "uploads", rasa_url=fake_rasa[1])) as test_client:
        yield test_client


def new_session(client: TestClient) -> tuple[str, str]:
    response = client.post("/widget/session", json={})
    assert response.status_code == 200
    body = response.json()
    return body["session"], body["conversation_id"]


def history(client: TestClient, token: str) -> list[dict[str, Any]]:
    response = client.get("/widget/history", headers={SESSION_HEADER: token})
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def frames_until(ws: Any, predicate: Any, limit: int = 30) -> list[dict[str, Any]]:
    """Frames from the socket up to and including the first that matches."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        frame = ws.receive_json()
        seen.append(frame)
        if predicate(frame):
            return seen
    raise AssertionError(f"no matching frame in {seen}")


def acked(client_id: str) -> Any:
    return lambda frame: frame.get("type") == "ack" and frame.get("client_id") == client_id


def messages_in(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f["message"] for f in frames if f["type"] == "message"]


def hello(ws: Any, token: str, after: int = 0) -> dict[str, Any]:
    ws.send_json({"type": "hello", "session": token, "after": after})
    ready = ws.receive_json()
    assert ready["type"] == "ready"
    return dict(ready)


def forge(token: str) -> str:
    """The same token with its signature altered.

    The signature's first character, not its last: the last base64 character carries padding bits, so
    some changes to it decode to the very same signature.
    """
    head, _, signature = token.rpartition(".")
    return f"{head}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


# -- sessions -----------------------------------------------------------------------------------------


def test_session_issues_a_signed_web_conversation_id(client: TestClient) -> None:
    token, conversation_id = new_session(client)
    assert WEB_ID.match(conversation_id)
    assert conversation_id not in token.split(".")  # the id is signed, not sent bare
    other_token, other_id = new_session(client)
    assert other_id != conversation_id


def test_a_valid_session_resumes_the_same_conversation(client: TestClient) -> None:
    token, conversation_id = new_session(client)
    response = client.post("/widget/session", json={"session": token})
    assert response.json()["conversation_id"] == conversation_id
    assert response.json()["resumed"] is True


def test_a_session_request_that_is_not_ours_gets_a_new_conversation(client: TestClient) -> None:
    for body in (b"not json", b'["a list"]', b'{"session": 42}', b"{" + b" " * 100_000 + b"}"):
        response = client.post("/widget/session", content=body)
        assert response.status_code == 200
        assert response.json()["resumed"] is False
        assert WEB_ID.match(response.json()["conversation_id"])


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(lambda token, cid: cid, id="bare-id"),
        pytest.param(lambda token, cid: forge(token), id="altered-signature"),
        pytest.param(
            lambda token, cid: URLSafeTimedSerializer("another-secret-0123456789", salt=SESSION_SALT).dumps(
                cid
            ),
            id="other-key",
        ),
        pytest.param(
            lambda token, cid: URLSafeTimedSerializer(SECRET, salt=SESSION_SALT).dumps("telegram:12345"),
            id="not-a-web-id",
        ),
        pytest.param(lambda token, cid: "", id="empty"),
    ],
)
def test_forged_or_altered_ids_are_refused(client: TestClient, forged: Any) -> None:
    token, conversation_id = new_session(client)
    bad = forged(token, conversation_id)
    response = client.get("/widget/history", headers={SESSION_HEADER: bad})
    assert response.status_code == 401
    assert "not valid" in response.json()["error"]
    assert response.headers["access-control-allow-origin"] == "*"
    # A refused token is never resumed: the widget gets a new conversation instead.
    renewed = client.post("/widget/session", json={"session": bad}).json()
    assert renewed["resumed"] is False
    assert renewed["conversation_id"] != conversation_id
    with client.websocket_connect("/widget/ws") as ws:
        ws.send_json({"type": "hello", "session": bad, "after": 0})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == CLOSE_UNAUTHORISED


def test_history_needs_a_session(client: TestClient) -> None:
    response = client.get("/widget/history")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "first",
    [
        "not json",
        '{"type": "hello", "session": 12345, "after": 0}',
        '{"type": "hello", "session": ["a", "list"], "after": 0}',
        '{"type": "hello", "session": {"an": "object"}}',
        "[" * 100_000 + "]" * 100_000,  # nested far deeper than the JSON parser's recursion allows
    ],
    ids=["not-json", "numeric-session", "list-session", "object-session", "deeply-nested"],
)
def test_a_socket_without_a_proper_hello_is_closed_politely(client: TestClient, first: str) -> None:
    with client.websocket_connect("/widget/ws") as ws:
        ws.send_text(first)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == CLOSE_UNAUTHORISED


# -- messages -------------------------------------------------------------------------------------------


def test_one_conversation_never_sees_another(client: TestClient) -> None:
    token_a, _ = new_session(client)
    token_b, _ = new_session(client)
    with client.websocket_connect("/widget/ws") as ws:
        hello(ws, token_a)
        ws.send_json({"type": "text", "text": "my secret address", "client_id": "client-a-0001"})
        frames = frames_until(ws, acked("client-a-0001"))
    texts = [m["text"] for m in messages_in(frames)]
    assert "my secret address" in texts
    assert history(client, token_a)[0]["text"] == "my secret address"
    assert history(client, token_b) == []
    with client.websocket_connect("/widget/ws") as ws:
        hello(ws, token_b)
        ws.send_json({"type": "text", "text": "hello", "client_id": "client-b-0001"})
        frames = frames_until(ws, acked("client-b-0001"))
    assert "my secret address" not in [m["text"] for m in messages_in(frames)]


def test_a_slow_answer_shows_typing_until_it_comes(
    bot_client: TestClient, fake_rasa: tuple[FakeRasa, str]
) -> None:
    token, _ = new_session(bot_client)
    fake_rasa[0].delay_s = 0.8
    try:
        with bot_client.websocket_connect("/widget/ws") as ws:
            hello(ws, token)
            ws.send_json({"type": "text", "text": "where is EA100000025CN", "client_id": "typing-0001"})
            frames = frames_until(ws, acked("typing-0001"))
    finally:
        fake_rasa[0].delay_s = 0.0
    kinds = [
        (f["type"], f["on"] if f["type"] == "typing" else f.get("message", {}).get("role")) for f in frames
    ]
    # The shipper's own message is stored at once; the dots come while the bot thinks, and go after it.
    assert kinds == [
        ("message", "user"),
        ("typing", True),
        ("message", "ai"),
        ("typing", False),
        ("ack", None),
    ]
    assert [(m["role"], m["text"]) for m in messages_in(frames)] == [
        ("user", "where is EA100000025CN"),
        ("ai", "bot heard: where is EA100000025CN"),
    ]


def test_a_quick_answer_comes_without_typing(bot_client: TestClient) -> None:
    token, _ = new_session(bot_client)
    with bot_client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        ws.send_json({"type": "text", "text": "where is EA100000025CN", "client_id": "typing-0002"})
        frames = frames_until(ws, acked("typing-0002"))
    assert [f["type"] for f in frames] == ["message", "message", "ack"]
    assert [(m["role"], m["text"]) for m in messages_in(frames)] == [
        ("user", "where is EA100000025CN"),
        ("ai", "bot heard: where is EA100000025CN"),
    ]


def test_a_resent_client_message_is_stored_once(
    bot_client: TestClient, fake_rasa: tuple[FakeRasa, str]
) -> None:
    token, conversation_id = new_session(bot_client)
    frame = {"type": "text", "text": "only once please", "client_id": "resend-0001"}
    with bot_client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        ws.send_json(frame)
        frames_until(ws, acked("resend-0001"))
    # The widget lost its connection before the ack and sends the frame again after reconnecting.
    with bot_client.websocket_connect("/widget/ws") as ws:
        hello(ws, token, after=10**9)
        ws.send_json(frame)
        again = frames_until(ws, acked("resend-0001"))
    assert again[-1]["duplicate"] is True
    assert [m["text"] for m in history(bot_client, token)].count("only once please") == 1
    assert fake_rasa[0].texts_for(conversation_id) == ["only once please"]


def test_reconnect_sends_what_was_missed(bot_client: TestClient) -> None:
    token, _ = new_session(bot_client)
    with bot_client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        ws.send_json({"type": "text", "text": "first", "client_id": "missed-0001"})
        frames_until(ws, acked("missed-0001"))
    first_id = history(bot_client, token)[0]["id"]
    with bot_client.websocket_connect("/widget/ws") as ws:
        hello(ws, token, after=first_id)
        backlog = [ws.receive_json() for _ in range(1)]
    assert [m["text"] for m in messages_in(backlog)] == ["bot heard: first"]


def test_a_message_pushed_by_an_agent_arrives_without_the_shipper_typing(client: TestClient) -> None:
    token, conversation_id = new_session(client)
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        client.portal.call(hub.push, conversation_id, "Hello, this is Li from customer service.")  # type: ignore[union-attr]
        frame = ws.receive_json()
    assert frame["type"] == "message"
    assert frame["message"]["role"] == "agent"
    assert frame["message"]["text"] == "Hello, this is Li from customer service."


def test_bot_buttons_are_offered_by_title_and_pressed_by_index(
    bot_client: TestClient, fake_rasa: tuple[FakeRasa, str]
) -> None:
    token, conversation_id = new_session(bot_client)
    with bot_client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        ws.send_json({"type": "text", "text": "a problem", "client_id": "buttons-0001"})
        offered = messages_in(frames_until(ws, acked("buttons-0001")))[-1]
        assert offered["buttons"] == ["Yes, please", "No, thanks"]  # titles only: payloads stay server-side
        ws.send_json({"type": "button", "message_id": offered["id"], "index": 1, "client_id": "buttons-0002"})
        pressed = messages_in(frames_until(ws, acked("buttons-0002")))
    assert [(m["role"], m["text"]) for m in pressed] == [("user", "No, thanks"), ("ai", "bot heard: /deny")]
    assert fake_rasa[0].texts_for(conversation_id)[-1] == "/deny"


def test_a_button_of_another_conversation_cannot_be_pressed(
    bot_client: TestClient, fake_rasa: tuple[FakeRasa, str]
) -> None:
    token_a, _ = new_session(bot_client)
    token_b, conversation_b = new_session(bot_client)
    with bot_client.websocket_connect("/widget/ws") as ws:
        hello(ws, token_a)
        ws.send_json({"type": "text", "text": "a problem", "client_id": "foreign-0001"})
        offered = messages_in(frames_until(ws, acked("foreign-0001")))[-1]
    with bot_client.websocket_connect("/widget/ws") as ws:
        hello(ws, token_b)
        ws.send_json({"type": "button", "message_id": offered["id"], "index": 0, "client_id": "foreign-0002"})
        frames_until(ws, acked("foreign-0002"))
    assert "/affirm" not in fake_rasa[0].texts_for(conversation_b)


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '["a list"]',
        '{"type": "button", "message_id": true, "index": 0}',
        '{"type": "text", "text": 42}',
        '{"type": "shout"}',
        '{"type": "text", "text": ' + "[" * 5000 + "]" * 5000 + "}",
    ],
)
def test_frames_we_do_not_understand_are_answered_and_ignored(client: TestClient, frame: str) -> None:
    token, _ = new_session(client)
    with client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        ws.send_text(frame)
        assert ws.receive_json()["type"] == "error"
        ws.send_json({"type": "text", "text": "still here", "client_id": "after-bad-01"})
        frames_until(ws, acked("after-bad-01"))
    assert history(client, token)[0]["text"] == "still here"


def test_half_an_emoji_is_stored_with_the_rest_of_the_message(client: TestClient) -> None:
    token, _ = new_session(client)
    with client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        # What a client that cut "thanks 😀" in the middle of the emoji sends: a lone high surrogate.
        ws.send_text('{"type": "text", "text": "thanks \\ud83d", "client_id": "half-emoji-01"}')
        frames = frames_until(ws, acked("half-emoji-01"))
    assert not [f for f in frames if f["type"] == "failed"]
    assert history(client, token)[0]["text"] == "thanks \ufffd"


def test_the_wire_format_maps_senders_to_roles() -> None:
    base = {"id": 1, "text": "t", "buttons": [], "attachments": [], "created_at": "2026-01-01T00:00:00"}
    assert widget_message({**base, "direction": "in", "sender": "shipper"})["role"] == "user"
    assert widget_message({**base, "direction": "out", "sender": "bot"})["role"] == "ai"
    assert widget_message({**base, "direction": "out", "sender": "agent"})["role"] == "agent"
    assert widget_message({**base, "direction": "out", "sender": "system"})["role"] == "system"


# -- photos ---------------------------------------------------------------------------------------------


def upload(client: TestClient, token: str | None, data: bytes, name: str = "photo.png", **fields: str) -> Any:
    headers = {SESSION_HEADER: token} if token else {}
    return client.post(
        "/widget/upload", headers=headers, files={"file": (name, data, "image/png")}, data=fields
    )


def test_a_photo_is_stored_and_shown_again_only_to_its_conversation(
    client: TestClient, tmp_path: Path
) -> None:
    token, conversation_id = new_session(client)
    response = upload(client, token, PNG_1PX, client_id="photo-0001")
    assert response.status_code == 200, response.text
    assert response.json()["duplicate"] is False
    [message, *_] = history(client, token)
    assert message["role"] == "user" and message["text"] == ""  # the photo speaks for itself
    [attachment] = message["attachments"]
    assert attachment["content_type"] == "image/png"
    shown = client.get(f"/widget/attachments/{attachment['id']}", headers={SESSION_HEADER: token})
    assert shown.status_code == 200 and shown.content == PNG_1PX
    assert shown.headers["content-type"] == "image/png"
    other_token, _ = new_session(client)
    assert (
        client.get(
            f"/widget/attachments/{attachment['id']}", headers={SESSION_HEADER: other_token}
        ).status_code
        == 404
    )
    assert client.get(f"/widget/attachments/{attachment['id']}").status_code == 401
    # The same upload again (a retry) is one message.
    assert upload(client, token, PNG_1PX, client_id="photo-0001").json()["duplicate"] is True


def test_a_photo_with_a_caption_keeps_the_caption(client: TestClient) -> None:
    token, _ = new_session(client)
    assert upload(client, token, PNG_1PX, text="the box is crushed").status_code == 200
    [message, *_] = history(client, token)
    assert message["text"] == "the box is crushed" and len(message["attachments"]) == 1


@pytest.mark.parametrize(
    ("data", "name", "status", "words"),
    [
        pytest.param(
            b"just some text, not a picture", "photo.jpg", 415, "only take photos", id="named-like-a-photo"
        ),
        pytest.param(b"%PDF-1.4 a document", "scan.png", 415, "only take photos", id="a-pdf"),
        pytest.param(b"", "empty.png", 415, "empty", id="empty"),
    ],
)
def test_uploads_are_checked_by_content(
    client: TestClient, data: bytes, name: str, status: int, words: str
) -> None:
    token, _ = new_session(client)
    response = upload(client, token, data, name)
    assert response.status_code == status
    assert words in response.json()["error"]
    assert history(client, token) == []  # refused before the hub: nothing stored, nothing told to the bot


def test_uploads_over_the_limit_are_refused(db_url: str, seeded_today: date, tmp_path: Path) -> None:
    app = make_app(db_url, tmp_path / "uploads", upload_max_bytes=1024)
    with TestClient(app) as small:
        token, _ = new_session(small)
        big_png = PNG_1PX + b"\0" * 2048
        response = upload(small, token, big_png)
        assert response.status_code == 413
        assert "larger than" in response.json()["error"]
        huge = upload(small, token, PNG_1PX + b"\0" * 200_000)
        assert huge.status_code == 413
        assert history(small, token) == []


def test_an_upload_needs_a_session_and_a_form(client: TestClient) -> None:
    assert upload(client, None, PNG_1PX).status_code == 401
    assert upload(client, "web:" + str(uuid.uuid4()), PNG_1PX).status_code == 401
    token, _ = new_session(client)
    not_a_form = client.post("/widget/upload", headers={SESSION_HEADER: token}, content=PNG_1PX)
    assert not_a_form.status_code == 415
    no_file = client.post("/widget/upload", headers={SESSION_HEADER: token}, files={"other": ("x", b"1")})
    assert no_file.status_code == 400


# -- pages and files -------------------------------------------------------------------------------------


def test_the_demo_page_embeds_the_widget_with_one_script_tag(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Nanning Express" in page.text
    assert '<script src="/widget.js" defer></script>' in page.text
    assert "EA100000025CN" in page.text  # the tracking hint
    # Nothing from a CDN: every script and stylesheet comes from this backend.
    assert not re.search(r"""(src|href)=["']https?://""", page.text)


def test_the_widget_script_and_styles_are_served(client: TestClient) -> None:
    script = client.get("/widget.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "Type a message…" in script.text
    # No host but the SVG namespace: deep-chat and the styles come from the backend the tag points at.
    assert set(re.findall(r"https?://[\w.-]+", script.text)) == {"http://www.w3.org"}
    css = client.get("/widget/static/widget.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


@pytest.mark.skipif(not DEEP_CHAT_BUNDLE.is_file(), reason="deep-chat is not installed (npm ci)")
def test_deep_chat_is_served_from_node_modules_for_any_origin(client: TestClient) -> None:
    bundle = client.get("/widget/static/deep-chat.js")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    # The widget imports it as a module from other sites' pages, which needs CORS.
    assert bundle.headers["access-control-allow-origin"] == "*"
    assert 'customElements.define("deep-chat"' in bundle.text


@pytest.mark.parametrize(
    "path", ["../../channels/web/demo.py", "..%2F..%2Fconfig.py", "nothing.js", "../templates/demo.html"]
)
def test_static_files_stay_in_their_folder(client: TestClient, path: str) -> None:
    # 405: the client resolved the dots and asked for /widget/templates/..., which only answers preflights.
    assert client.get(f"/widget/static/{path}").status_code in {404, 405}


def test_the_widget_api_answers_cross_origin_preflights(client: TestClient) -> None:
    response = client.options(
        "/widget/session",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert SESSION_HEADER in response.headers["access-control-allow-headers"]


def test_the_widget_passes_the_browsers_language_as_a_hint() -> None:
    from backend.channels.web.live import _inbound

    text = _inbound("web:abc", {"type": "text", "text": "EA100000034CN", "language": "zh-CN"})
    button = _inbound("web:abc", {"type": "button", "message_id": 1, "index": 0, "language": "en-GB"})
    assert text is not None and text.language_hint == "zh-CN"
    assert button is not None and button.language_hint == "en-GB"
    bare = _inbound("web:abc", {"type": "text", "text": "hi", "language": 42})
    assert bare is not None and bare.language_hint is None


# -- budgets on the widget's doors --------------------------------------------------------------------


# 12:00:30 UTC of a day: 30 s into its minute, its hour and its day.
MIDDLE_OF_EVERY_WINDOW = 20_000 * 86400 + 12 * 3600 + 30


@pytest.fixture
def tight_client(db_url: str, seeded_today: date, tmp_path: Path) -> Iterator[TestClient]:
    app = make_app(
        db_url,
        tmp_path / "uploads",
        limit_sessions_per_address_hour=3,
        limit_messages_per_conversation_minute=4,
        limit_uploads_per_conversation_day=1,
    )
    with TestClient(app) as test_client:
        # Budgets count in fixed windows of the wall clock (a minute, an hour, a day): a test that
        # straddled a window's end would see its budget refilled halfway. The clock stands still in
        # the middle of every window instead.
        test_client.app.state.limiter = MemoryLimiter(clock=lambda: MIDDLE_OF_EVERY_WINDOW)
        yield test_client


def test_new_sessions_from_one_address_are_budgeted_and_resuming_is_free(tight_client: TestClient) -> None:
    tokens = [new_session(tight_client)[0] for _ in range(3)]
    refused = tight_client.post("/widget/session", json={}, headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 429 and refused.headers["retry-after"]
    assert refused.json()["error"] == "您所在的网络刚刚发起了太多新对话，请稍后再试。"
    resumed = tight_client.post("/widget/session", json={"session": tokens[0]})
    assert resumed.status_code == 200 and resumed.json()["resumed"] is True


def test_a_flood_of_messages_is_told_to_slow_down_then_cut_off(tight_client: TestClient) -> None:
    token, _ = new_session(tight_client)
    other, _ = new_session(tight_client)
    with tight_client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        for n in range(4):
            ws.send_json({"type": "text", "text": f"message {n}", "client_id": f"flood-{n:06d}"})
            frames_until(ws, acked(f"flood-{n:06d}"))
        ws.send_json({"type": "text", "text": "one too many", "client_id": "flood-000099"})
        limited = frames_until(ws, lambda f: f["type"] == "limited")
        assert limited[-1]["client_id"] == "flood-000099"
        for n in range(100, 140):
            ws.send_json({"type": "text", "text": "spam", "client_id": f"flood-{n:06d}"})
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(200):
                ws.receive_json()
    assert closed.value.code == 1008
    # The four within budget are stored (each with the bot's apology: no Rasa here); nothing after them.
    shipper = [m["text"] for m in history(tight_client, token) if m["role"] == "user"]
    assert shipper == [f"message {n}" for n in range(4)]
    # Another conversation has its own budget.
    with tight_client.websocket_connect("/widget/ws") as ws:
        hello(ws, other)
        ws.send_json({"type": "text", "text": "hello", "client_id": "other-000001"})
        assert acked("other-000001")(frames_until(ws, acked("other-000001"))[-1])


def test_photos_per_conversation_are_budgeted(tight_client: TestClient) -> None:
    token, _ = new_session(tight_client)
    assert upload(tight_client, token, PNG_1PX).status_code == 200
    refused = upload(tight_client, token, PNG_1PX)
    assert refused.status_code == 429 and "photos" in refused.json()["error"]


def test_messages_sent_before_their_answers_wait_their_turn_and_a_waiting_shipper_never_does(
    bot_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A burst (or a script) keeps Rasa busy back to back unless paced; one who waits is answered at once.
    monkeypatch.setattr(live, "PACE_S", 1.0)
    token, _ = new_session(bot_client)
    with bot_client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        started = time.monotonic()
        for index in range(3):
            ws.send_json({"type": "text", "text": f"burst {index}", "client_id": f"burst-{index:04d}"})
        frames = frames_until(ws, acked("burst-0002"), limit=60)
        burst_s = time.monotonic() - started
        answers = [m["text"] for m in messages_in(frames) if m["role"] == "ai"]
        assert answers == ["bot heard: burst 0", "bot heard: burst 1", "bot heard: burst 2"]
        assert burst_s >= 2 * live.PACE_S
        for index in range(3):
            started = time.monotonic()
            client_id = f"waits-{index:04d}"
            ws.send_json({"type": "text", "text": f"one at a time {index}", "client_id": client_id})
            frames_until(ws, acked(client_id))
            assert time.monotonic() - started < live.PACE_S


def test_the_hub_says_where_a_widget_turn_spent_its_time(bot_client: TestClient) -> None:
    """/api/hub/stats (for `make bench`'s hub breakdown): behind the API token, one more turn per
    message, and the parts of the turn no larger than the turn itself."""
    assert bot_client.get("/api/hub/stats").status_code == 401
    auth = {"Authorization": "Bearer test-token-0123456789abcdef"}
    before = bot_client.get("/api/hub/stats", headers=auth).json()
    token, _ = new_session(bot_client)
    with bot_client.websocket_connect("/widget/ws") as ws:
        hello(ws, token)
        ws.send_json({"type": "text", "text": "where is EA100000025CN", "client_id": "stats-0001"})
        frames_until(ws, acked("stats-0001"))
    after = bot_client.get("/api/hub/stats", headers=auth).json()

    def spent(part: str) -> float:
        return float(after["ms"].get(part, 0.0) - before["ms"].get(part, 0.0))

    assert after["count"]["turn"] - before["count"].get("turn", 0) == 1
    assert after["count"]["rasa_call"] - before["count"].get("rasa_call", 0) == 1
    # Two trips to the database: the message with its lease, then the answer with the turn closed.
    assert after["count"]["db_total"] - before["count"].get("db_total", 0) >= 2
    assert 0 < spent("rasa_call") + spent("db_total") <= spent("turn") * 1.05
