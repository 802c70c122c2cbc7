"""The customer loses nothing when a process dies: a restarted Rasa, a dead action server.

These tests stop and start processes, so they run on a stack of their own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import Talk, rest_talk, start_stack
from tests.e2e.test_shipment_inquiries import assert_clean, said
from tools.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("resilience"))
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
        # Answers that need no action server still work.
        greeting = said(talk("rest:dead-actions", "hi there"))
        assert "something went wrong" not in greeting
        assert "waybill" in greeting or "shipment" in greeting
    finally:
        own_stack.start_actions()
    wait_until_up(f"{own_stack.actions_url}/health")
    assert "changsha" in said(talk("rest:dead-actions", "where is EA100000025CN?"))
