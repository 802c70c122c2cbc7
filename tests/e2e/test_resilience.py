"""The customer loses nothing when a process dies: a restarted Rasa, a dead action server, a killed backend.

These tests stop and start processes, so they run on a stack of their own.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session

from backend.channels.telegram import SECRET_HEADER, WEBHOOK_PATH
from backend.db import make_engine
from backend.models import Conversation
from backend.services.conversations import NOT_ANSWERED_REASON, hand_back_to_bot, list_messages
from tests.e2e.conftest import Talk, rest_talk, start_stack, telegram_env
from tests.e2e.conversation import assert_clean, said
from tests.fakes.telegram_api import FakeBotApi, text_update
from tools.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def own_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory, own_api: FakeBotApi) -> Iterator[Stack]:
    # The sweeper looks every second, so a turn a killed backend left is answered soon after its lease.
    env = {**telegram_env(own_api, "webhook", secret=secrets.token_urlsafe(24)), "TURN_SWEEP_INTERVAL_S": "1"}
    running = start_stack(tmp_path_factory.mktemp("resilience"), env)
    try:
        yield running
    finally:
        running.stop()


def wait_until_up(url: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(url)


def test_a_restarted_rasa_continues_the_complaint_where_it_was(own_stack: Stack) -> None:
    talk: Talk = rest_talk(own_stack)
    sender = "rest:restart"
    assert "what happened" in said(talk(sender, "I want to make a complaint"))
    assert "waybill" in said(talk(sender, "my parcel is really late"))
    own_stack.stop(("rasa",))
    own_stack.start_rasa()
    wait_until_up(f"{own_stack.rasa_url}/status?token={own_stack.rasa_token}")
    # The form's state came back from the SQL tracker store: it goes on to the next question.
    replies = talk(sender, "EA100000034CN")
    assert_clean(replies)
    assert "what would you like" in said(replies)


def test_a_dead_action_server_gets_a_polite_answer_and_recovers(own_stack: Stack) -> None:
    talk: Talk = rest_talk(own_stack)
    own_stack.stop(("actions",))
    try:
        replies = talk("rest:dead-actions", "where is EA100000025CN?")
        assert_clean(replies)
        assert "something went wrong on our side" in said(replies)
        # Answers that need no action server (Rasa's own responses) still work.
        goodbye = said(talk("rest:dead-actions", "ok bye"))
        assert "something went wrong" not in goodbye
        assert "goodbye" in goodbye or "thanks" in goodbye
    finally:
        own_stack.start_actions()
    wait_until_up(f"{own_stack.actions_url}/health")
    assert "changsha" in said(talk("rest:dead-actions", "where is EA100000025CN?"))


def test_rasa_stopped_mid_conversation_gets_the_polite_line_and_loses_nothing(
    own_stack: Stack, own_api: FakeBotApi
) -> None:
    chat = 4_200_000_001
    headers = {SECRET_HEADER: own_stack.extra_env["TELEGRAM_WEBHOOK_SECRET"]}

    def send(text: str, expect: str) -> list[str]:
        mark = len(own_api.sent(chat))
        update = text_update(chat, text)
        response = httpx.post(own_stack.backend_url + WEBHOOK_PATH, json=update, headers=headers, timeout=10)
        assert response.status_code == 200
        return [str(m.get("text", "")) for m in own_api.wait_for_messages(chat, after=mark, expect=expect)]

    assert any("Changsha" in t for t in send("where is EA100000025CN", "Changsha"))
    own_stack.stop(("rasa",))
    try:
        # Tried twice, then the shipper hears once that a colleague will answer.
        replies = send("and EA100000017CN?", "couldn't answer")
        assert any("couldn't answer" in t and "colleague" in t for t in replies), replies
    finally:
        own_stack.start_rasa()
    wait_until_up(f"{own_stack.rasa_url}/status?token={own_stack.rasa_token}")
    cid = f"telegram:{chat}"
    engine = make_engine(own_stack.database_url)
    try:
        with Session(engine) as session:
            # The message sent while Rasa was down is stored once, and waits in the queue as not answered.
            failed = [(m.text, m.turn_state) for m in list_messages(session, conversation_id=cid)]
            assert failed.count(("and EA100000017CN?", "failed")) == 1
            conversation = session.get(Conversation, cid)
            assert conversation is not None and conversation.state == "queued"
            assert conversation.handoff_reason == NOT_ANSWERED_REASON
            # A colleague gives it back to the bot, which answers again.
            hand_back_to_bot(session, conversation_id=cid)
            session.commit()
    finally:
        engine.dispose()
    assert any("Li Wei" in t for t in send("who signed for EA100000017CN?", "Li Wei"))


def turn_of(database_url: str, cid: str, text: str) -> tuple[str | None, list[str]]:
    """The turn state of the shipper's `text` in conversation `cid`, and every bot line after it."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            messages = list_messages(session, conversation_id=cid)
    finally:
        engine.dispose()
    mine = [i for i, m in enumerate(messages) if m.direction == "in" and m.text == text]
    assert len(mine) <= 1, "the message was stored twice"
    if not mine:
        return None, []
    return messages[mine[0]].turn_state, [m.text for m in messages[mine[0] + 1 :] if m.sender == "bot"]


def wait_for_turn(database_url: str, cid: str, text: str, states: set[str], timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state, _ = turn_of(database_url, cid, text)
        if state in states:
            return state
        time.sleep(0.05)
    return state


def test_a_backend_killed_between_storing_and_answering_a_message_answers_it_once_after_restart(
    own_stack: Stack,
) -> None:
    import websockets

    session = httpx.post(f"{own_stack.backend_url}/widget/session", json={}, timeout=10).json()
    cid, text = session["conversation_id"], "where is EA100000025CN"

    async def send_over_the_widget() -> None:
        async with websockets.connect(own_stack.backend_url.replace("http", "ws") + "/widget/ws") as socket:
            await socket.send(json.dumps({"type": "hello", "session": session["session"], "after": 0}))
            await socket.recv()
            frame = {"type": "text", "text": text, "client_id": uuid.uuid4().hex}
            await socket.send(json.dumps(frame))
            await asyncio.sleep(0.5)

    rasa = own_stack.processes["rasa"]
    # Rasa is frozen, so the backend stores the message and then waits for the bot: then it dies.
    os.killpg(rasa.pid, signal.SIGSTOP)
    try:
        asyncio.run(send_over_the_widget())
        assert wait_for_turn(own_stack.database_url, cid, text, {"with_bot"}, timeout=10) == "with_bot"
        backend = own_stack.processes.pop("backend")
        os.killpg(backend.pid, signal.SIGKILL)
        backend.wait(timeout=10)
    finally:
        os.killpg(rasa.pid, signal.SIGCONT)
    assert turn_of(own_stack.database_url, cid, text)[0] == "with_bot"  # stored, never answered
    own_stack.start_backend()
    own_stack.wait_healthy(timeout=180)
    # Past the dead process's lease, the restarted backend's sweeper takes the turn up.
    assert wait_for_turn(own_stack.database_url, cid, text, {"answered", "failed"}, timeout=120) == "answered"
    state, replies = turn_of(own_stack.database_url, cid, text)
    assert sum("Changsha" in line for line in replies) == 1, replies
    # Rasa ran the message once: the retry after its late run was answered from the tracker.
    tracker = httpx.get(
        f"{own_stack.rasa_url}/conversations/{cid}/tracker",
        params={"token": own_stack.rasa_token},
        timeout=10,
    ).json()
    users = [e for e in tracker["events"] if e.get("event") == "user" and e.get("text") == text]
    assert len(users) == 1, users
