"""The production profile end to end on PostgreSQL + Redis: two backends and two Rasa processes behind nginx.

One stack for the whole file (tools/prod.py's Production on free ports, databases of its own on
TEST_POSTGRES_URL's server, TEST_REDIS_URL's Redis; skipped without them): health lists every process;
an agent's live stream on backend A shows a shipper message that arrived on backend B within a second;
a widget conversation whose messages alternate between nginx, backend A and backend B is answered every
time. The messages are sent one after the other (each waits for its acknowledgement), so their order
holds here by construction; the strict in-order guarantee for parallel messages across processes is the
hub's per-conversation Redis lock (branch i18d), not tested here.
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

from tools.prod import Production, throwaway_production
from tools.stack import APP_BIN, DEFAULT_MODEL, ROOT

pytestmark = pytest.mark.e2e
CSRF_INPUT = re.compile(r'<input type="hidden" name="(csrf[^"]*)" value="([^"]+)">')
AGENT = ("mp-agent", secrets.token_urlsafe(16))


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    base, redis_url = os.environ.get("TEST_POSTGRES_URL"), os.environ.get("TEST_REDIS_URL")
    if not base or not redis_url:
        pytest.skip("TEST_POSTGRES_URL and TEST_REDIS_URL are needed (scripts/ensure-test-services.sh)")
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"no trained model at {DEFAULT_MODEL}: run `make train`")
    workdir = tmp_path_factory.mktemp("prod")
    with throwaway_production(workdir, postgres_url=base, redis_url=redis_url, door_limits=False) as running:
        subprocess.run(
            [str(APP_BIN / "python"), "-m", "backend", "create-agent", AGENT[0], "--role", "agent"],
            input=AGENT[1] + "\n",
            text=True,
            cwd=ROOT,
            env=running.stacks[0].env(),
            check=True,
            capture_output=True,
        )
        yield running


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
