"""The production profile end to end on PostgreSQL + Redis: two backends and two Rasa processes behind nginx.

One stack for the whole file (tools/prod.py's Production on free ports, databases of its own on
TEST_POSTGRES_URL's server, TEST_REDIS_URL's Redis, the demo carrier, Telegram by webhook to a fake Bot
API; skipped without them): health lists every process; an agent's live stream on backend A shows a
shipper message that arrived on backend B within a second; a widget conversation whose messages
alternate between nginx, backend A and backend B is answered every time; questions sent at once from
two tabs on two backends reach both tabs whole and in the stored order; a Telegram chat's updates are
answered in the order Telegram sent them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from backend.channels.telegram import SECRET_HEADER, WEBHOOK_PATH
from tests.backend.factories import DEMO_WAYBILLS
from tests.fakes.telegram_api import FakeBotApi, next_update_id, text_update
from tools.loadtest import answered_waybill, telegram_settings
from tools.prod import Production, throwaway_production
from tools.stack import APP_BIN, DEFAULT_MODEL, ROOT

pytestmark = pytest.mark.e2e
CSRF_INPUT = re.compile(r'<input type="hidden" name="(csrf[^"]*)" value="([^"]+)">')
AGENT = ("mp-agent", secrets.token_urlsafe(16))
# Demo shipments: each status answer opens with its waybill, so the answers name their questions.
WAYBILLS = list(DEMO_WAYBILLS[:6])


@pytest.fixture(scope="module")
def bot_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory, bot_api: FakeBotApi) -> Iterator[Production]:
    base, redis_url = production_services()
    workdir = tmp_path_factory.mktemp("prod")
    # Telegram by webhook through nginx, its Bot API the fake one in this process.
    telegram = {**telegram_settings(bot_api), "TELEGRAM_PROCESSES": "2"}  # in prod.settings too
    with throwaway_production(
        workdir,
        postgres_url=base,
        redis_url=redis_url,
        door_limits=False,
        seed_demo=True,
        extra_env=telegram,
    ) as running:
        create_agent(running)
        yield running


def production_services() -> tuple[str, str]:
    """TEST_POSTGRES_URL and TEST_REDIS_URL (the test is skipped without them); a trained model."""
    base, redis_url = os.environ.get("TEST_POSTGRES_URL"), os.environ.get("TEST_REDIS_URL")
    if not base or not redis_url:
        pytest.skip("TEST_POSTGRES_URL and TEST_REDIS_URL are needed (scripts/ensure-test-services.sh)")
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"no trained model at {DEFAULT_MODEL}: run `make train`")
    return base, redis_url


def create_agent(running: Production) -> None:
    """The console account AGENT on the stack's database."""
    subprocess.run(
        [str(APP_BIN / "python"), "-m", "backend", "create-agent", AGENT[0], "--role", "agent"],
        input=AGENT[1] + "\n",
        text=True,
        cwd=ROOT,
        env=running.stacks[0].env(),
        check=True,
        capture_output=True,
    )


def backend(prod: Production, number: int) -> str:
    return f"http://127.0.0.1:{prod.topology.backends[number]}"


def test_health_through_nginx_lists_every_process_with_its_state(prod: Production) -> None:
    response = httpx.get(f"{prod.url}/api/health", timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    t = prod.topology
    assert [b["url"] for b in body["backends"]] == [f"http://127.0.0.1:{p}" for p in t.backends]
    assert [r["url"] for r in body["rasa"]] == [f"http://127.0.0.1:{p}" for p in t.rasa]
    assert [a["url"] for a in body["actions"]] == [f"http://127.0.0.1:{p}" for p in t.actions]
    assert {r["tracker_store"] for r in body["rasa"]} == {"ok"}
    listed = body["backends"] + body["rasa"] + body["actions"] + [body["postgresql"], body["redis"]]
    assert {entry["state"] for entry in listed} == {"ok"}


def cookie_header(*responses: httpx.Response) -> str:
    """The cookies the responses set, as a Cookie header (they are Secure in production: httpx would
    not send them back over plain http, a browser behind TLS would)."""
    jar: dict[str, str] = {}
    for response in responses:
        jar.update(response.cookies.items())
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def log_in(base_url: str) -> str:
    """Logs the agent in on one backend directly; returns the Cookie header of the session."""
    with httpx.Client(base_url=base_url, timeout=10, follow_redirects=False) as client:
        page = client.get("/console/login")
        found = CSRF_INPUT.search(page.text)
        assert found, page.text[:500]
        answer = client.post(
            "/console/login",
            data={"username": AGENT[0], "password": AGENT[1], found.group(1): found.group(2)},
            headers={"Cookie": cookie_header(page)},
        )
        assert answer.status_code == 303, answer.text[:500]
        return cookie_header(answer)


def new_session(base_url: str) -> tuple[str, str]:
    response = httpx.post(f"{base_url}/widget/session", json={}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["session"], response.json()["conversation_id"]


async def say(
    base_url: str, token: str, words: str, client_id: str, after: int = 0
) -> tuple[float, list[dict[str, Any]]]:
    """One widget message over the WebSocket of `base_url` (the transcript after message id `after`
    replayed first); (time sent, frames up to its ack)."""
    async with websockets.connect(base_url.replace("http://", "ws://") + "/widget/ws") as socket:
        await socket.send(json.dumps({"type": "hello", "session": token, "after": after}))
        ready = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert ready["type"] == "ready", ready
        sent = time.monotonic()
        await socket.send(json.dumps({"type": "text", "text": words, "client_id": client_id}))
        frames: list[dict[str, Any]] = []
        while True:
            frame = json.loads(await asyncio.wait_for(socket.recv(), 60))
            frames.append(frame)
            if frame.get("type") == "ack" and frame.get("client_id") == client_id:
                return sent, frames


def test_an_agent_on_backend_a_sees_a_message_that_arrived_on_backend_b_within_a_second(
    prod: Production,
) -> None:
    a, b = backend(prod, 0), backend(prod, 1)
    token, conversation_id = new_session(prod.url)
    cookie = log_in(a)
    marker = f"parcel {uuid.uuid4().hex[:6]} arrived wet"
    seen: dict[str, float] = {}
    opened = threading.Event()

    def watch() -> None:
        url = f"{a}/console/events/conversations/{conversation_id}"
        with httpx.stream("GET", url, headers={"Cookie": cookie}, timeout=30) as stream:
            assert stream.status_code == 200, stream.status_code
            opened.set()
            for line in stream.iter_lines():
                if marker in line:
                    seen["at"] = time.monotonic()
                    return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert opened.wait(15), "the console's live stream on backend A did not open"
    time.sleep(0.5)  # the stream subscribes once its response has started
    sent, frames = asyncio.run(say(b, token, marker, "mp-live-0001"))
    watcher.join(timeout=15)
    assert "at" in seen, f"backend A's agent never saw the message stored on backend B: {frames}"
    delay = seen["at"] - sent
    print(f"\nlive event from backend B to an agent on backend A: {delay * 1000:.0f} ms")
    assert delay < 1.0


def test_a_conversation_alternating_between_backends_is_answered_every_time(prod: Production) -> None:
    a, b = backend(prod, 0), backend(prod, 1)
    token, _conversation_id = new_session(prod.url)
    turns = [
        (prod.url, "hello"),  # through nginx: the WebSocket upgrade works there too
        (a, "where is my parcel"),
        (b, "EA100000025CN"),
        (a, "thank you"),
        (b, "I want to talk to a person"),
    ]
    last = 0
    for number, (where, words) in enumerate(turns):
        _sent, frames = asyncio.run(say(where, token, words, f"mp-turn-{number:04d}", after=last))
        mine = [f["message"] for f in frames if f.get("type") == "message"]
        last = max([last, *(m["id"] for m in mine)])
        assert [m["text"] for m in mine if m["role"] == "user"] == [words], frames
        assert any(m["role"] != "user" and m["text"] for m in mine), (where, words, frames)
    history = httpx.get(f"{prod.url}/widget/history", headers={"X-Widget-Session": token}, timeout=10)
    said = [m["text"] for m in history.json()["messages"] if m["role"] == "user"]
    assert said == [words for _, words in turns]  # each stored once, in the order sent


def test_two_tabs_on_two_backends_each_show_every_message_in_stored_order(prod: Production) -> None:
    """A shipper with the widget open twice, one tab on each backend, sends questions from both at once:
    every tab shows every message of the conversation once, in the order the hub stored them."""
    token, _conversation_id = new_session(prod.url)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        url_a = backend(prod, 0).replace("http://", "ws://") + "/widget/ws"
        url_b = backend(prod, 1).replace("http://", "ws://") + "/widget/ws"
        async with websockets.connect(url_a) as tab_a, websockets.connect(url_b) as tab_b:
            for tab in (tab_a, tab_b):
                await tab.send(json.dumps({"type": "hello", "session": token, "after": 0}))
                while json.loads(await asyncio.wait_for(tab.recv(), 10)).get("type") != "ready":
                    pass
            for index, waybill in enumerate(WAYBILLS):
                tab = tab_a if index % 2 == 0 else tab_b
                frame = {"type": "text", "text": f"where is {waybill}?", "client_id": uuid.uuid4().hex}
                await tab.send(json.dumps(frame))

            async def shown(tab: Any) -> list[dict[str, Any]]:
                messages: list[dict[str, Any]] = []
                answered: set[str] = set()
                deadline = time.monotonic() + 90
                while answered != set(WAYBILLS) and time.monotonic() < deadline:
                    try:
                        frame = json.loads(await asyncio.wait_for(tab.recv(), deadline - time.monotonic()))
                    except asyncio.TimeoutError:
                        break
                    if frame.get("type") == "message":
                        messages.append(frame["message"])
                        if frame["message"]["role"] != "user":
                            answered.add(answered_waybill(frame["message"]["text"]) or "")
                return messages

            return await asyncio.gather(shown(tab_a), shown(tab_b))

    on_a, on_b = asyncio.run(scenario())
    history = httpx.get(f"{prod.url}/widget/history", headers={"X-Widget-Session": token}, timeout=10)
    stored = [m["id"] for m in history.json()["messages"]]
    for name, shown in (("A", on_a), ("B", on_b)):
        assert [m["id"] for m in shown] == stored, (
            f"tab on backend {name} showed {[(m['id'], m['text'][:40]) for m in shown]}, "
            f"stored {[(m['id'], m['text'][:40]) for m in history.json()['messages']]}"
        )


def test_a_telegram_chats_updates_through_nginx_are_answered_in_the_order_telegram_sent_them(
    prod: Production, bot_api: FakeBotApi
) -> None:
    """Telegram sends a chat's updates one after another, each once it had its 200; the answers come
    back in that order, although either backend could take each update."""
    chat_id = 7_000_000_000 + secrets.randbelow(10**8)
    headers = {SECRET_HEADER: prod.settings["TELEGRAM_WEBHOOK_SECRET"]}
    for waybill in WAYBILLS:
        update = text_update(chat_id, f"where is {waybill}?", update_id=next_update_id())
        response = httpx.post(prod.url + WEBHOOK_PATH, json=update, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
    deadline = time.monotonic() + 90
    answers: list[str] = []
    while time.monotonic() < deadline and set(answers) != set(WAYBILLS):
        answers = [w for text in bot_api.texts(chat_id) if (w := answered_waybill(text)) is not None]
        time.sleep(0.2)
    assert answers == WAYBILLS, bot_api.texts(chat_id)


def turns_per_rasa(prod: Production) -> list[int]:
    """How many turns each Rasa process has run (its channel's own count, bot.rasa_tuning)."""
    counts = []
    for stack in prod.stacks:
        stats = httpx.get(f"{stack.rasa_url}/webhooks/rest/stats", headers=stack.rest_headers, timeout=10)
        counts.append(int(stats.json()["count"].get("turn", 0)))
    return counts


def test_every_turn_of_a_conversation_runs_on_the_same_rasa_process(prod: Production) -> None:
    """That process keeps the conversation's tracker; alternating, each would read it back every turn."""
    token, _conversation_id = new_session(prod.url)
    before = turns_per_rasa(prod)
    last = 0
    for number, waybill in enumerate(WAYBILLS):
        where = backend(prod, number % 2)  # from both backends: the hub names the conversation to nginx
        _sent, frames = asyncio.run(say(where, token, f"where is {waybill}?", f"mp-sticky-{number}", last))
        last = max([last, *(f["message"]["id"] for f in frames if f.get("type") == "message")])
    ran = [after - earlier for after, earlier in zip(turns_per_rasa(prod), before, strict=True)]
    assert sorted(ran) == [0, len(WAYBILLS)], ran
