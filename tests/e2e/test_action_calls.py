"""A turn asks the action server only for the actions it needs (issue 17): counted on the action server."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import Talk
from tests.e2e.conversation import said
from tools.stack import Stack

pytestmark = pytest.mark.e2e


def action_calls(stack: Stack) -> dict[str, int]:
    """The calls per action the action server has answered since it started (bot/action_server.py)."""
    response = httpx.get(f"{stack.actions_url}/stats", timeout=10)
    response.raise_for_status()
    return {name: int(count) for name, count in response.json()["calls"].items()}


def calls_of_one_turn(
    stack: Stack, talk: Talk, sender: str, message: str
) -> tuple[list[str], dict[str, int]]:
    before = action_calls(stack)
    replies = talk(sender, message)
    after = action_calls(stack)
    return replies, {
        name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)
    }


def test_a_status_turn_makes_one_remote_call(stack: Stack, talk: Talk, sender: str) -> None:
    talk(sender, "hello")
    replies, calls = calls_of_one_turn(stack, talk, sender, "where is EA100000025CN?")
    assert "changsha" in said(replies)
    # The answer itself; the language slot is set inside Rasa (bot/rasa_tuning.py), not remotely.
    assert calls == {"action_answer_shipment": 1}


def test_a_chinese_status_turn_makes_one_remote_call_and_is_answered_in_chinese(
    stack: Stack, talk: Talk, sender: str
) -> None:
    replies, calls = calls_of_one_turn(stack, talk, sender, "我的快递EA100000025CN到哪了？")
    assert "长沙" in "".join(replies)
    assert calls == {"action_answer_shipment": 1}


def test_a_complaint_turn_asks_only_the_form(stack: Stack, talk: Talk, sender: str) -> None:
    replies, calls = calls_of_one_turn(stack, talk, sender, "I want to make a complaint")
    assert "what happened" in said(replies)
    assert "action_validate_slot_mappings" not in calls
    assert sum(calls.values()) <= 2, calls
