"""The customer loses nothing when a process dies: a restarted Rasa, a dead action server.

These tests stop and start processes, so they run on a stack of their own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session

from backend.channels.telegram import SECRET_HEADER, WEBHOOK_PATH
from backend.db import make_engine
from backend.services.conversations import list_messages
from tests.e2e.conftest import Talk, rest_talk, telegram_stack
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
    with telegram_stack(tmp_path_factory.mktemp("resilience"), own_api) as running:
        yield running


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
        replies = send("and EA100000017CN?", "try again in a moment")
        assert any("try again in a moment" in t and "saved" in t for t in replies), replies
    finally:
        own_stack.start_rasa()
    wait_until_up(f"{own_stack.rasa_url}/status?token={own_stack.rasa_token}")
    assert any("Li Wei" in t for t in send("who signed for EA100000017CN?", "Li Wei"))
    # The message sent while Rasa was down is in the transcript, stored once.
    engine = make_engine(own_stack.database_url)
    try:
        with Session(engine) as session:
            texts = [m.text for m in list_messages(session, conversation_id=f"telegram:{chat}")]
    finally:
        engine.dispose()
    assert texts.count("and EA100000017CN?") == 1
