"""Kill tests on the production profile: kill -9 of a backend, a Rasa and an action server mid-complaint.

One production stack for the file (tools/prod.py on free ports, databases of its own on
TEST_POSTGRES_URL's server, TEST_REDIS_URL's Redis; skipped without them), kept up by tools/supervise.py's
Supervisor as `make run-prod` does. Each test walks a complaint over the widget's WebSocket through nginx
and kills, with `kill -9`, the very process that holds the complaint's message at that moment (the
processes of that kind are frozen with SIGSTOP for a moment so that the message is certainly in flight
there, and the one holding it is found), while other shippers keep writing. It asserts what a shipper
and an agent would notice: the killed process is started again (new pid, listed ok by /api/health), the
other shippers were answered during the outage, every message of the complaint is stored once and
answered once (or waits in the agents' queue as not answered), and the complaint ends with one ticket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy.orm import Session

from backend.db import make_engine
from backend.models import Conversation
from backend.services.conversations import NOT_ANSWERED_REASON, list_messages
from tests.e2e.conversation import COMPLAINT_STEPS, assert_clean
from tools.prod import PrivatePostgres, Production, open_connections, private_postgres, throwaway_production
from tools.stack import DEFAULT_MODEL
from tools.supervise import watching

pytestmark = pytest.mark.e2e
# A turn whose process died is taken up by another backend once its lease is over: short here (still
# more than two tries of RASA_TIMEOUT_S on this busy machine), swept every second.
TURN_ENV = {"TURN_LEASE_S": "25", "TURN_SWEEP_INTERVAL_S": "1"}
FROZEN_WAIT_S = 5.0  # well under RASA_TIMEOUT_S (10 s): the backend does not give up on a frozen Rasa
ANSWERED = {"answered", "failed"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivatePostgres]:
    """PostgreSQL of this file's own: the last test stops it, which the shared test server must never be."""
    try:
        with private_postgres() as running:
            yield running
    except RuntimeError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory, cluster: PrivatePostgres) -> Iterator[Production]:
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("TEST_REDIS_URL is needed (scripts/ensure-test-services.sh)")
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"no trained model at {DEFAULT_MODEL}: run `make train`")
    workdir = tmp_path_factory.mktemp("prod-faults")
    started = time.monotonic()
    env = {**TURN_ENV, "REDIS_KEY_PREFIX": f"faults-{uuid.uuid4().hex[:8]}:"}
    with (
        throwaway_production(
            workdir,
            postgres_url=cluster.url,
            redis_url=redis_url,
            door_limits=False,
            seed_demo=True,
            extra_env=env,
        ) as running,
        watching(running.supervisor()),
    ):
        print(f"\nproduction profile up in {time.monotonic() - started:.0f} s")
        yield running


# --- the shipper's side --------------------------------------------------------------------------


def ws_url(prod: Production) -> str:
    return prod.url.replace("http://", "ws://") + "/widget/ws"


def new_session(prod: Production) -> tuple[str, str]:
    response = httpx.post(f"{prod.url}/widget/session", json={}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["session"], response.json()["conversation_id"]


async def open_socket(prod: Production, token: str) -> Any:
    socket = await websockets.connect(ws_url(prod))
    await socket.send(json.dumps({"type": "hello", "session": token, "after": 0}))
    ready = json.loads(await asyncio.wait_for(socket.recv(), 10))
    assert ready["type"] == "ready", ready
    return socket


async def wait_ack(socket: Any, client_id: str, timeout: float = 60) -> list[dict[str, Any]]:
    """The frames up to the acknowledgement of `client_id`."""
    frames = []
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), max(0.1, deadline - time.monotonic())))
        frames.append(frame)
        if frame.get("type") in ("ack", "failed") and frame.get("client_id") == client_id:
            return frames


async def send_as_widget(prod: Production, token: str, text: str, client_id: str, socket: Any = None) -> None:
    """What the widget does: sends the message and, when the connection drops before the acknowledgement,
    connects again (nginx picks a live backend) and sends the same message again with the same id."""
    deadline = time.monotonic() + 90
    while True:
        try:
            if socket is None:
                socket = await open_socket(prod, token)
                await socket.send(json.dumps({"type": "text", "text": text, "client_id": client_id}))
            await wait_ack(socket, client_id)
            await socket.close()
            return
        except (websockets.ConnectionClosed, OSError, asyncio.TimeoutError):
            if time.monotonic() > deadline:
                raise
            socket = None
            await asyncio.sleep(0.5)


# --- what is stored ------------------------------------------------------------------------------


def messages_of(prod: Production, cid: str) -> list[Any]:
    engine = make_engine(prod.settings["DATABASE_URL"])
    try:
        with Session(engine) as session:
            return list(list_messages(session, conversation_id=cid))
    finally:
        engine.dispose()


def turn_of(prod: Production, cid: str, text: str) -> tuple[str | None, list[str]]:
    """The turn state of the shipper's last `text` in `cid` (stored once), and the bot's lines after it
    up to the shipper's next message."""
    messages = messages_of(prod, cid)
    mine = [i for i, m in enumerate(messages) if m.direction == "in" and m.text == text]
    if not mine:
        return None, []
    lines = []
    for message in messages[mine[-1] + 1 :]:
        if message.direction == "in":
            break
        if message.sender == "bot":
            lines.append(message.text or "")
    return messages[mine[-1]].turn_state, lines


def wait_answered(prod: Production, cid: str, text: str, timeout: float = 90) -> tuple[str | None, list[str]]:
    deadline = time.monotonic() + timeout
    state: str | None = None
    lines: list[str] = []
    while time.monotonic() < deadline:
        state, lines = turn_of(prod, cid, text)
        if state in ANSWERED and (lines or state == "failed"):
            time.sleep(0.5)  # a second answer would come right after the first
            return turn_of(prod, cid, text)
        time.sleep(0.2)
    return state, lines


def queued_as_not_answered(prod: Production, cid: str) -> bool:
    engine = make_engine(prod.settings["DATABASE_URL"])
    try:
        with Session(engine) as session:
            conversation = session.get(Conversation, cid)
            return bool(
                conversation
                and conversation.state == "queued"
                and conversation.handoff_reason == NOT_ANSWERED_REASON
            )
    finally:
        engine.dispose()


def tickets_of(prod: Production, cid: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{prod.url}/api/tickets",
        params={"conversation_id": cid},
        headers={"Authorization": f"Bearer {prod.settings['API_TOKEN']}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["tickets"])


# --- the complaint -------------------------------------------------------------------------------


@dataclass
class Complaint:
    """One shipper's complaint over the widget: its steps (message, phrase the answer holds)."""

    prod: Production
    steps: list[tuple[str, str]]
    token: str = ""
    cid: str = ""
    sent: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.token, self.cid = new_session(self.prod)

    def check(self, text: str, expected: str, *, or_not_answered: bool = False) -> bool:
        """`text` was stored once and answered once with `expected`; with `or_not_answered`, a turn the
        bot could not answer, shown to agents as not answered (once), is accepted too: False then."""
        state, lines = wait_answered(self.prod, self.cid, text)
        stored = [m.text for m in messages_of(self.prod, self.cid) if m.direction == "in"]
        assert stored.count(text) == self.sent.count(
            text
        ), f"{text!r} stored {stored.count(text)} times: {stored}"
        if state == "failed":
            assert queued_as_not_answered(self.prod, self.cid), "a failed turn must wait in the agents' queue"
            assert len(lines) == 1 and "colleague" in lines[0].lower(), lines  # told once, politely
            if or_not_answered:
                return False
            pytest.fail(f"{text!r} was not answered by the bot (queued for an agent): {lines}")
        assert state == "answered", (text, state, lines)
        assert_clean(lines)
        said = " ".join(lines).lower()
        if expected == "<calmed>":
            assert any(word in said for word in ("sorry", "apolog")), lines
            assert any(step in said for step in COMPLAINT_STEPS), f"no complaint started: {lines}"
        else:
            answers = [line for line in lines if expected.lower() in line.lower()]
            assert len(answers) == 1, f"after {text!r}: {expected!r} not said exactly once: {lines}"
        return True

    def say(self, number: int) -> None:
        text, expected = self.steps[number]
        self.sent.append(text)
        asyncio.run(send_as_widget(self.prod, self.token, text, uuid.uuid4().hex))
        self.check(text, expected)

    def finish(self, after: int) -> None:
        for number in range(after, len(self.steps)):
            self.say(number)
        tickets = tickets_of(self.prod, self.cid)
        assert len(tickets) == 1, tickets
        assert tickets[0]["number"] in " ".join(turn_of(self.prod, self.cid, self.steps[-1][0])[1])


# --- other shippers during the outage ------------------------------------------------------------


class Bystanders:
    """Other shippers, one new conversation a second through nginx, each asking where a parcel is."""

    def __init__(self, prod: Production) -> None:
        self.prod = prod
        self.results: list[tuple[bool, float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Bystanders:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=90)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                answered, note = asyncio.run(self._one())
            except Exception as error:  # recorded: a bystander that got no answer fails the test
                answered, note = False, repr(error)
            self.results.append((answered, time.monotonic() - started, note))
            self._stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))

    async def _one(self) -> tuple[bool, str]:
        token, _cid = new_session(self.prod)
        socket = await open_socket(self.prod, token)
        client_id = uuid.uuid4().hex
        await socket.send(
            json.dumps({"type": "text", "text": "where is EA100000025CN", "client_id": client_id})
        )
        frames = await wait_ack(socket, client_id, timeout=30)
        await socket.close()
        lines = [f["message"]["text"] or "" for f in frames if f.get("type") == "message"]
        return any("changsha" in line.lower() for line in lines), " | ".join(lines)

    def assert_all_answered(self) -> None:
        assert self.results, "no other shipper wrote during the outage"
        missed = [note for answered, _, note in self.results if not answered]
        slowest = max(seconds for _, seconds, _ in self.results)
        print(f"other shippers during the outage: {len(self.results)} answered, slowest {slowest:.1f} s")
        assert not missed, missed


# --- freezing, finding and killing the process that holds the message ----------------------------


def freeze(prod: Production, names: list[str]) -> None:
    for name in names:
        prod.kill(name, signal.SIGSTOP)


def thaw(prod: Production, names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(KeyError, ProcessLookupError):  # killed meanwhile
            prod.kill(name, signal.SIGCONT)


def connections(prod: Production, kind: str) -> dict[str, set[str]]:
    ports = {"rasa": prod.topology.rasa, "actions": prod.topology.actions}[kind]
    return {f"{kind}-{n}": open_connections(port) for n, port in enumerate(ports, 1)}


def holding(prod: Production, kind: str, before: dict[str, set[str]], timeout: float = FROZEN_WAIT_S) -> str:
    """With every `kind` process frozen: the one that has accepted a connection since `before` (the
    request it has not answered; the backends' kept-alive health checks were there before)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = connections(prod, kind)
        busy = [name for name, peers in now.items() if peers - before[name]]
        if len(busy) == 1:
            return busy[0]
        time.sleep(0.05)
    raise AssertionError(f"no single {kind} process holds the message (frozen {timeout:.0f} s): {now}")


def kill_and_watch(
    prod: Production, victim: str, after_kill: Callable[[], None], during: Callable[[], None]
) -> None:
    """kill -9 `victim`, then `after_kill` (thaws the frozen); other shippers write until the victim is
    back, `during` runs meanwhile. Asserts the supervisor started it again (new pid, listed ok by
    /api/health) and that the other shippers were answered all along."""
    killed_at = time.monotonic()
    old_pid = prod.kill(victim)
    print(f"\nkilled {victim} (pid {old_pid})")
    after_kill()
    with Bystanders(prod) as others:
        during()
        prod.wait_back(victim, old_pid)
        back_in = time.monotonic() - killed_at
        print(f"{victim} back as pid {prod.process(victim).pid}, listed ok {back_in:.1f} s after the kill")
        time.sleep(1)
    assert prod.process(victim).pid != old_pid
    others.assert_all_answered()


async def send_frozen(complaint: Complaint, number: int) -> tuple[Any, str]:
    """Sends step `number` over a new socket (kept open) and waits until its turn is with the bot."""
    text = complaint.steps[number][0]
    socket = await open_socket(complaint.prod, complaint.token)
    client_id = uuid.uuid4().hex
    complaint.sent.append(text)
    await socket.send(json.dumps({"type": "text", "text": text, "client_id": client_id}))
    deadline = time.monotonic() + FROZEN_WAIT_S
    while turn_of(complaint.prod, complaint.cid, text)[0] != "with_bot":
        assert time.monotonic() < deadline, "the message never reached the bot"
        await asyncio.sleep(0.05)
    return socket, client_id


async def socket_on_backend_1(prod: Production, socket: Any) -> bool:
    """Whether backend-1 holds the socket: frozen, it no longer answers the socket's ping."""
    prod.kill("backend-1", signal.SIGSTOP)
    try:
        await asyncio.wait_for(await socket.ping(), 1.5)
        return False
    except asyncio.TimeoutError:
        return True
    finally:
        prod.kill("backend-1", signal.SIGCONT)


def close(loop: asyncio.AbstractEventLoop, socket: Any) -> None:
    with contextlib.suppress(Exception):
        loop.run_until_complete(asyncio.wait_for(socket.close(), 2))
    loop.close()


# --- the tests -----------------------------------------------------------------------------------

RASAS, ACTIONS = ["rasa-1", "rasa-2"], ["actions-1", "actions-2"]


def kill_the_holder(complaint: Complaint, number: int, frozen: list[str], find: str) -> None:
    """Step `number` of the complaint is sent while every `frozen` process is stopped (SIGSTOP), so it is
    certainly in flight; the process holding it (`find`: "backend", "rasa" or "actions") is killed with
    kill -9 while other shippers write, and the frozen go on. The widget then does what it does after a
    drop: connects again (to a live backend) and sends the same message with the same id."""
    prod = complaint.prod
    loop = asyncio.new_event_loop()
    socket = None
    try:
        freeze(prod, frozen)
        before = {} if find == "backend" else connections(prod, find)
        try:
            socket, client_id = loop.run_until_complete(send_frozen(complaint, number))
            if find == "backend":
                on_1 = loop.run_until_complete(socket_on_backend_1(prod, socket))
                victim = "backend-1" if on_1 else "backend-2"
            else:
                victim = holding(prod, find, before)
            kill_and_watch(
                prod,
                victim,
                after_kill=lambda: thaw(prod, frozen),
                during=lambda: loop.run_until_complete(
                    send_as_widget(prod, complaint.token, complaint.steps[number][0], client_id, socket)
                ),
            )
        finally:
            thaw(prod, frozen)
    finally:
        close(loop, socket)


def test_a_backend_killed_holding_a_complaint_message_is_restarted_and_the_message_answered_once(
    prod: Production,
) -> None:
    complaint = Complaint(
        prod,
        [
            ("EA100000048CN from Haikou is late, I needed it yesterday. really disappointed", "<calmed>"),
            ("just want it delivered", "is that right"),
            ("yes", "typhoon"),
            ("ok I understand", "T-"),
        ],
    )
    complaint.say(0)
    # Both Rasas frozen: the message is stored and waits for the bot in the backend holding the socket.
    # Once it is killed, a live backend refuses the resend as a duplicate while the dead process's lease
    # runs, then its sweeper takes the turn up and answers it once.
    kill_the_holder(complaint, 1, RASAS, "backend")
    complaint.check(*complaint.steps[1])
    complaint.finish(2)


def test_a_rasa_killed_holding_a_complaint_message_is_restarted_and_the_message_answered_once(
    prod: Production,
) -> None:
    complaint = Complaint(
        prod,
        [
            ("nobody came to collect EA100000082CN today, we waited the whole afternoon", "<calmed>"),
            ("come and get it tomorrow morning", "is that right"),
            ("yes", "pickup"),
            ("sounds good", "T-"),
        ],
    )
    complaint.say(0)
    # The backend's request died with that Rasa: its retry goes through nginx to the other.
    kill_the_holder(complaint, 1, RASAS, "rasa")
    complaint.check(*complaint.steps[1])
    complaint.finish(2)


def test_an_action_server_killed_holding_a_complaint_action_is_restarted_and_the_message_answered_once(
    prod: Production,
) -> None:
    complaint = Complaint(
        prod,
        [
            ("EA100000105CN was dropped at the wrong building, my neighbour found it", "<calmed>"),
            ("bring it to my address", "is that right"),
            ("yes", "24 hours"),
            ("ok", "T-"),
        ],
    )
    complaint.say(0)
    complaint.say(1)
    kill_the_holder(complaint, 2, ACTIONS, "actions")
    # Rasa called the action once, through nginx, which does not send a POST again to the other action
    # server: the turn produced nothing, Rasa's hub channel says it failed, and the hub tries it once
    # more (nginx then reaches the other action server). Only when that fails too is the conversation
    # queued for an agent as not answered; never an apology that leaves the shipper to repeat it.
    if complaint.check(*complaint.steps[2], or_not_answered=True):
        complaint.finish(3)
    else:
        print("the killed action's turn was shown to agents as not answered")
        assert len(tickets_of(prod, complaint.cid)) <= 1  # never two; one only if it was written whole


# --- PostgreSQL stopped -----------------------------------------------------------------------------

OUTAGE_S = 10.0


async def resend_until_acked(prod: Production, token: str, text: str, frames: list[dict[str, Any]]) -> None:
    """The widget while the database is away: it sends, hears "not delivered" (a `failed` frame) or
    loses the connection, and sends the same message (same id) again every second until it is acked."""
    client_id = uuid.uuid4().hex
    deadline = time.monotonic() + 120
    socket = None
    while time.monotonic() < deadline:
        try:
            if socket is None:
                socket = await open_socket(prod, token)
            await socket.send(json.dumps({"type": "text", "text": text, "client_id": client_id}))
            got = await wait_ack(socket, client_id, timeout=30)
            frames.extend(got)
            if got[-1]["type"] == "ack":
                await socket.close()
                return
        except (
            websockets.ConnectionClosed,
            OSError,
            asyncio.TimeoutError,
            AssertionError,
            ValueError,
        ) as error:
            frames.append({"type": "dropped", "error": repr(error)})
            socket = None
        await asyncio.sleep(1)
    raise AssertionError(f"{text!r} was never acknowledged: {frames[-5:]}")


def test_postgresql_stopped_for_ten_seconds_fails_loudly_forgets_nothing_and_resumes(
    prod: Production, cluster: PrivatePostgres
) -> None:
    complaint = Complaint(
        prod,
        [
            (
                "you charged me 144 yuan for EA100000096CN but the quote was 60, it only weighs 5 kg",
                "<calmed>",
            ),
            ("refund the difference", "is that right"),
            ("yes", "84.00"),
            ("yes, thank you", "T-"),
        ],
    )
    complaint.say(0)
    asker_token, asker = new_session(prod)
    questions = [f"where is EA1000000{n}CN" for n in ("17", "25", "34")]
    frames: list[dict[str, Any]] = []
    health: list[tuple[int, dict[str, Any]]] = []

    async def during_outage() -> None:
        sends = [resend_until_acked(prod, complaint.token, complaint.steps[1][0], frames)]
        for question in questions:
            sends.append(resend_until_acked(prod, asker_token, question, frames))
            await asyncio.sleep(OUTAGE_S / len(questions) / 2)
        await asyncio.gather(*sends)

    def watch_health(stop: threading.Event) -> None:
        while not stop.wait(0.5):
            try:
                response = httpx.get(f"{prod.url}/api/health", timeout=10)
                health.append((response.status_code, response.json()))
            except (httpx.HTTPError, ValueError) as error:
                health.append((0, {"error": repr(error)}))

    cluster.stop("fast")
    stopped_at = time.monotonic()
    stop_watching = threading.Event()
    watcher = threading.Thread(target=watch_health, args=(stop_watching,), daemon=True)
    watcher.start()
    complaint.sent.append(complaint.steps[1][0])
    loop = asyncio.new_event_loop()
    try:
        sending = loop.create_task(during_outage())
        loop.run_until_complete(asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped_at))))
        down_health = list(health)
        cluster.start()
        print(f"\nPostgreSQL stopped for {time.monotonic() - stopped_at:.1f} s")
        loop.run_until_complete(sending)
    finally:
        stop_watching.set()
        watcher.join(timeout=15)
        loop.close()
    codes = sorted({(code, str(body.get("postgresql", {}).get("state"))) for code, body in down_health})
    print(f"health during the outage ({len(down_health)} asked): {codes}")
    # While it was away: health said degraded (503, PostgreSQL down), never ok.
    assert down_health, "health was never asked during the outage"
    assert all(code != 200 for code, _ in down_health), down_health
    assert any(
        body.get("status") == "degraded" and body.get("postgresql", {}).get("state") == "down"
        for _, body in down_health
    ), down_health
    # The shipper heard "not delivered" (the widget sends again) or nothing; never an internal error.
    text = json.dumps(frames)
    assert not re.search(r"Traceback|Exception|psycopg|sqlalchemy|OperationalError", text), text[:2000]
    print(f"frames while the database was away: {sorted({f['type'] for f in frames})}")
    # Everything sent during the outage is answered once after it (or waits for an agent).
    for question in questions:
        state, lines = wait_answered(prod, asker, question)
        stored = [m.text for m in messages_of(prod, asker) if m.direction == "in"]
        assert stored.count(question) == 1, stored
        assert state == "answered" or queued_as_not_answered(prod, asker), (question, state, lines)
        assert_clean(lines)
    # Nothing is forgotten: the complaint goes on from where it was, to one ticket.
    complaint.check(*complaint.steps[1])
    complaint.finish(2)
    # Everything resumes: health ok again, and a new shipper is answered normally.
    assert httpx.get(f"{prod.url}/api/health", timeout=10).status_code == 200
    fresh = Complaint(prod, [("where is EA100000025CN", "Changsha")])
    fresh.say(0)
